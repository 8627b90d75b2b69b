"""``prorata verify [--account CODE] [--since DATE] [--json]``: prove that the stored books balance.

Every invariant of ``domain/invariants.py`` is checked on one read-only snapshot of the database, which no billing
run, payment or order waits for. Each violation is one line: its code, what is wrong with the figures, and the rows
involved. Exit status 0 when the books hold, 1 when something is broken (``status.BROKEN``), 3 when the database
cannot be used. The result is kept; ``POST /api/v1/operator/verifications`` runs the same checks.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError

from prorata.adapters.db.database import shown
from prorata.bootstrap import App
from prorata.domain.invariants import Verification
from prorata.entrypoints.cli import status
from prorata.services.billing_window import parse_until
from prorata.services.verify_books import VerifyBooks, verify_books


def add_command(
    commands: argparse._SubParsersAction[Any],
    database: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
    as_json: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    verify = as_json(database(commands.add_parser(
        "verify", help="prove that the books balance: exit 0 when they hold, 1 naming each violation")))  # fmt: skip
    verify.add_argument("--account", help="check only this account's rows (its code); numbering spans every account "
                        "and is then left out")  # fmt: skip
    verify.add_argument("--since", help="check only documents issued, payments made and credit booked from this date "
                        "(YYYY-MM-DD, midnight UTC) or instant with offset")  # fmt: skip


def run(app: App, args: argparse.Namespace) -> int:
    since = None if args.since is None else parse_until(args.since, field="since")
    command = VerifyBooks(account=args.account, since=since, actor="prorata verify")
    try:
        result = verify_books(command, books=app.books, log=app.verification_log(), clock=app.clock)
    except DBAPIError as error:
        reason = " ".join(str(error.orig).split())
        return status.database_not_ready(f"the database {shown(app.engine)} failed while the books were read: {reason}")
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_result(result)
    return status.DONE if result.ok else status.BROKEN


def print_result(result: Verification) -> None:
    for violation in result.violations:
        rows = ", ".join(f"{ref.table} {ref.id}" for ref in violation.rows)
        print(f"{violation.code}  {violation.message}" + (f"  [{rows}]" if rows else ""))
    over = f"account {result.scope.account_code}" if result.scope.account_code else "every account"
    if result.scope.since is not None:
        over += f" since {result.scope.since.isoformat()}"
    summary = f"verified {len(result.checks)} invariants over {over} in {result.seconds:.2f} s: "
    if result.ok:
        print(summary + "the books hold")
        return
    counts = ", ".join(f"{code} {count}" for code, count in sorted(result.counts.items()))
    print(summary + f"{result.violation_count} violation{'s' if result.violation_count != 1 else ''} ({counts})")
