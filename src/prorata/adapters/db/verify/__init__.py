"""The books as ``prorata verify`` reads them: one set-based check per invariant of ``domain/invariants.py``, run in
one read-only snapshot (``common.read_only_snapshot``), and the log of verifications.

One module per family of invariants: ``documents``, ``numbering``, ``payments``, ``ledger``, ``conservation``,
``licenses``, ``mail``. Each check is one function of a ``Context`` that returns the violations it finds.

PostgreSQL runs each statement on one core. On it the checks are shared out between ``workers`` connections (one per
core of a small server, 2 by default), all in the same snapshot: the first transaction exports it
(``pg_export_snapshot``) and the others take it (``SET TRANSACTION SNAPSHOT``), so that they read exactly the same
moment of the books. The heaviest checks (those over every line or every document, ``SPLIT``) are run in one part
per worker, each reading its share of the rows by id. SQLite reads in one connection.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text

from prorata.adapters.db.schema import accounts, verification_runs
from prorata.adapters.db.verify import conservation, documents, ledger, licenses, mail, numbering, payments
from prorata.adapters.db.verify.common import Context, read_only_snapshot
from prorata.domain.catalog import Catalog, Unit
from prorata.domain.invariants import (
    CheckTiming,
    RowRef,
    Verification,
    VerificationScope,
    Violation,
)

Check = Callable[[Context], list[Violation]]

CHECKS: Mapping[str, Check] = {
    "inv.lines_sum": documents.lines_sum,
    "inv.line_tax": documents.line_tax,
    "inv.account": documents.account,
    "inv.unchanged": documents.unchanged,
    "inv.credit_note": documents.credit_note,
    "inv.discount_line": documents.discount_line,
    "inv.numbering": numbering.numbering,
    "inv.overpaid": payments.overpaid,
    "inv.payment_booking": payments.payment_booking,
    "inv.payment_without_invoice": payments.payment_without_invoice,
    "inv.settlement": payments.settlement,
    "inv.refund_exceeds_paid": payments.refund_exceeds_paid,
    "inv.ledger_negative": ledger.ledger_negative,
    "inv.ledger_without_document": ledger.ledger_without_document,
    "inv.ledger_document": ledger.ledger_document,
    "inv.proration": conservation.proration,
    "inv.charged_not_held": conservation.charged_not_held,
    "inv.credit_exceeds_charges": conservation.credit_exceeds_charges,
    "inv.assignments_over_quantity": licenses.assignments_over_quantity,
    "inv.seat_unlicensed": licenses.seat_unlicensed,
    "inv.addon_over_plan": licenses.addon_over_plan,
    "inv.invoice_email": mail.invoice_email,
}


# the checks that read every line or every document, run in parts on PostgreSQL (each query of them reads a share)
SPLIT = frozenset({"inv.unchanged", "inv.proration", "inv.lines_sum", "inv.line_tax", "inv.account",
                   "inv.charged_not_held", "inv.credit_exceeds_charges", "inv.invoice_email",
                   "inv.discount_line"})  # fmt: skip
Task = tuple[str, tuple[int, int]]


class SqlBooks:
    """``ports.BooksSnapshot`` on the database: entered, it holds one read-only snapshot until it is left."""

    def __init__(
        self, engine: Engine, catalog: Catalog, checks: Mapping[str, Check] = CHECKS, *, workers: int | None = None
    ) -> None:
        self.engine = engine
        self.checks = checks
        self.workers = max(1, workers if workers is not None else (2 if engine.dialect.name == "postgresql" else 1))
        self._exported: str | None = None
        self.plans = frozenset(code for code, product in catalog.products.items() if product.is_plan)
        self.per_user_addons = frozenset(
            code for code, product in catalog.products.items() if product.is_addon and product.unit is Unit.PER_USER
        )
        self._snapshot: AbstractContextManager[Connection] | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> SqlBooks:
        shared = self.engine.dialect.name == "postgresql" and self.workers > 1
        self._snapshot = read_only_snapshot(self.engine, shared=shared)
        self._conn = self._snapshot.__enter__()
        if self.engine.dialect.name == "postgresql" and self.workers > 1:
            self._exported = str(self._conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        snapshot, self._snapshot, self._conn, self._exported = self._snapshot, None, None, None
        if snapshot is not None:
            snapshot.__exit__(kind, error, trace)

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("read the books inside a with block")
        return self._conn

    def account_id(self, code: str) -> int | None:
        found = self.conn.execute(select(accounts.c.id).where(accounts.c.code == code)).scalar_one_or_none()
        return None if found is None else int(found)

    def run(
        self, codes: Sequence[str], scope: VerificationScope, now: datetime
    ) -> list[tuple[CheckTiming, list[Violation]]]:
        """Each check of ``codes``, in that order: its time (all its parts) and what it found."""
        parts = self.workers if self._exported is not None else 1
        tasks: list[Task] = [(code, (k, n)) for code in codes for n in [parts if code in SPLIT else 1]
                             for k in range(n)]  # fmt: skip
        tasks.sort(key=lambda task: task[1][1] == 1)  # the split ones first: the longest
        done: dict[Task, tuple[float, list[Violation]]] = {}
        if parts == 1:
            for task in tasks:
                done[task] = self._timed(self.conn, task, scope, now)
        else:
            self._share(tasks, done, scope, now)
        out = []
        for code in codes:
            mine = [result for task, result in done.items() if task[0] == code]
            found = [violation for _, violations in mine for violation in violations]
            out.append((CheckTiming(code, round(sum(seconds for seconds, _ in mine), 3), len(found)), found))
        return out

    def _timed(
        self, conn: Connection, task: Task, scope: VerificationScope, now: datetime
    ) -> tuple[float, list[Violation]]:
        code, part = task
        began = time.perf_counter()
        found = self.checks[code](Context(conn, scope, now, self.plans, self.per_user_addons, part))
        return time.perf_counter() - began, found

    def _share(
        self, tasks: list[Task], done: dict[Task, tuple[float, list[Violation]]], scope: VerificationScope,
        now: datetime,
    ) -> None:  # fmt: skip
        """The tasks between this connection and ``workers - 1`` more in the same snapshot, each taking the next."""
        waiting = deque(tasks)
        lock = threading.Lock()

        def work(conn: Connection) -> None:
            while True:
                with lock:
                    if not waiting:
                        return
                    task = waiting.popleft()
                done[task] = self._timed(conn, task, scope, now)

        with ExitStack() as stack:
            connections = [self.conn] + [
                stack.enter_context(read_only_snapshot(self.engine, snapshot=self._exported, shared=True))
                for _ in range(self.workers - 1)
            ]
            with ThreadPoolExecutor(max_workers=len(connections), thread_name_prefix="verify") as pool:
                for future in [pool.submit(work, conn) for conn in connections]:
                    future.result()  # a check that failed fails the verification


# ------------------------------------------------------------------------------------------------ the log

STORED_VIOLATIONS = 1000  # the first ones are kept with a run; the counts per code are kept whole


class SqlVerificationLog:
    """``ports.VerificationLog``: each run in ``verification_runs``; the operator console reads the last one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, verification: Verification, actor: str) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(verification_runs)
                    .values(
                        started_at=verification.started_at,
                        finished_at=verification.finished_at,
                        actor=actor,
                        milliseconds=round(verification.seconds * 1000),
                        scope=json.dumps(verification.scope.as_dict(), sort_keys=True),
                        checks=json.dumps([t.to_dict() for t in verification.checks]),
                        violation_count=verification.violation_count,
                        counts=json.dumps(dict(verification.counts), sort_keys=True),
                        violations=json.dumps([v.to_dict() for v in verification.violations[:STORED_VIOLATIONS]]),
                    )
                    .returning(verification_runs.c.id)
                ).scalar_one()
            )

    def latest(self) -> Verification | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(verification_runs).order_by(verification_runs.c.id.desc()).limit(1))
                .mappings()
                .first()
            )
        return None if row is None else _verification(dict(row))


def _verification(row: Mapping[str, Any]) -> Verification:
    scope = json.loads(row["scope"])
    since = scope.get("since")
    return Verification(
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        scope=VerificationScope(None, scope.get("account"), None if since is None else datetime.fromisoformat(since)),
        checks=tuple(CheckTiming(t["code"], t["seconds"], t["violations"]) for t in json.loads(row["checks"])),
        violations=tuple(
            Violation(
                v["code"],
                tuple(RowRef(r["table"], r["id"], r.get("label", "")) for r in v["rows"]),
                v["message"],
                v.get("account_id"),
            )
            for v in json.loads(row["violations"])
        ),
        violation_count=int(row["violation_count"]),
        id=int(row["id"]),
        counts=json.loads(row["counts"]),
        seconds=row["milliseconds"] / 1000,
    )


__all__ = ["CHECKS", "SqlBooks", "SqlVerificationLog"]
