"""``prorata outbox send``: deliver the billing e-mails waiting in the outbox (also run at the end of ``bill`` and
``clock advance``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from prorata.adapters.documents.pdf import render_pdf
from prorata.bootstrap import App
from prorata.entrypoints.cli import status
from prorata.services.outbox import LEASE_SECONDS, SendReport, send_outbox


def add_commands(
    actions: argparse._SubParsersAction[Any],
    database: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    send_cmd = database(actions.add_parser("send", help="send the e-mails waiting in the outbox"))
    send_cmd.add_argument("--lease", type=float, default=LEASE_SECONDS,
                          help="seconds after which a message claimed by a sender that died is sent again")  # fmt: skip


def deliver(app: App, lease: float = LEASE_SECONDS) -> SendReport:
    """The installation's outbox, sent once through its mailer (``prorata outbox send``, ``bill``, ``serve``)."""
    return send_outbox(uow=app.uow, clock=app.clock, mailer=app.mailer, render=render_pdf, catalog=app.catalog,
                       sender=app.mail_from, tax=app.tax, lease_seconds=lease,
                       portal_url=app.portal_url)  # fmt: skip


def exit_status(report: SendReport) -> int:
    """Messages that failed wait for the next run: the command is done in part."""
    return status.DONE_IN_PART if report.failed else status.DONE


def print_report(report: SendReport) -> None:
    print(f"e-mails sent: {len(report.sent)}, sent again after an unfinished attempt: {len(report.resent)}, "
          f"failed: {len(report.failed)}")  # fmt: skip
    for message_id, why in report.failed:
        print(f"  {message_id}: {why}")


def as_json(report: SendReport) -> dict[str, Any]:
    return {
        "sent": len(report.sent),
        "resent": len(report.resent),
        "failed": [{"message_id": message_id, "reason": why} for message_id, why in report.failed],
    }


def send(app: App, lease: float = LEASE_SECONDS) -> int:
    report = deliver(app, lease)
    print_report(report)
    return exit_status(report)


def run(app: App, args: argparse.Namespace) -> int:
    return send(app, args.lease)
