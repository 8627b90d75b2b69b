"""The books as ``prorata verify`` reads them: one set-based check per invariant of ``domain/invariants.py``, run in
one read-only snapshot (``common.read_only_snapshot``), and the log of verifications.

One module per family of invariants: ``documents``, ``numbering``, ``payments``, ``ledger``, ``conservation``,
``licenses``, ``mail``. Each check is one function of a ``Context`` that returns the violations it finds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

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


class SqlBooks:
    """``ports.BooksSnapshot`` on the database: entered, it holds one read-only snapshot until it is left."""

    def __init__(self, engine: Engine, catalog: Catalog, checks: Mapping[str, Check] = CHECKS) -> None:
        self.engine = engine
        self.checks = checks
        self.plans = frozenset(code for code, product in catalog.products.items() if product.is_plan)
        self.per_user_addons = frozenset(
            code for code, product in catalog.products.items() if product.is_addon and product.unit is Unit.PER_USER
        )
        self._snapshot: AbstractContextManager[Connection] | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> SqlBooks:
        self._snapshot = read_only_snapshot(self.engine)
        self._conn = self._snapshot.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        snapshot, self._snapshot, self._conn = self._snapshot, None, None
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

    def violations(self, code: str, scope: VerificationScope, now: datetime) -> list[Violation]:
        return self.checks[code](Context(self.conn, scope, now, self.plans, self.per_user_addons))


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
    )


__all__ = ["CHECKS", "SqlBooks", "SqlVerificationLog"]
