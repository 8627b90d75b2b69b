"""``prorata outbox send``: deliver the billing e-mails waiting in the outbox (also run at the end of ``bill``)."""

from __future__ import annotations

import argparse

from prorata.adapters.documents.pdf import render_pdf
from prorata.bootstrap import App
from prorata.services.outbox import LEASE_SECONDS, SendReport, send_outbox


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["send"])
    parser.add_argument("--lease", type=float, default=LEASE_SECONDS,
                        help="seconds after which a message claimed by a sender that died is sent again")  # fmt: skip


def deliver(app: App, lease: float = LEASE_SECONDS) -> SendReport:
    """The installation's outbox, sent once through its mailer (``prorata outbox send``, ``bill``, ``serve``)."""
    return send_outbox(uow=app.uow, clock=app.clock, mailer=app.mailer, render=render_pdf, catalog=app.catalog,
                       sender=app.mail_from, tax=app.tax, lease_seconds=lease)  # fmt: skip


def send(app: App, lease: float = LEASE_SECONDS) -> int:
    report = deliver(app, lease)
    print(f"e-mails sent: {len(report.sent)}, sent again after an unfinished attempt: {len(report.resent)}, "
          f"failed: {len(report.failed)}")  # fmt: skip
    for message_id, why in report.failed:
        print(f"  {message_id}: {why}")
    return 1 if report.failed else 0


def run(app: App, args: argparse.Namespace) -> int:
    return send(app, args.lease)
