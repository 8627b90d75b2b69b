"""Billing runs as they go (``services/billing_runs.py``), each call its own short transaction, and as the operator
console reads them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from prorata.adapters.db.schema import billing_runs


class SqlBillingRunLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, until: datetime, actor: str, now: datetime) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(
                insert(billing_runs).values(actor=actor[:320], until=until, status="running", started_at=now)
                .returning(billing_runs.c.id)
            ).scalar_one())  # fmt: skip

    def progress(self, run_id: int, done: int, due: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(billing_runs).where(billing_runs.c.id == run_id)
                         .values(accounts_done=done, accounts_due=due))  # fmt: skip

    def finish(self, run_id: int, summary: Mapping[str, Any], problems: Mapping[str, Any], now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(billing_runs).where(billing_runs.c.id == run_id).values(
                status="finished", finished_at=now, summary=json.dumps(summary, sort_keys=True),
                problems=json.dumps(problems, sort_keys=True)))  # fmt: skip

    def fail(self, run_id: int, error: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(billing_runs).where(billing_runs.c.id == run_id)
                         .values(status="failed", finished_at=now, error=error[:2000]))  # fmt: skip


@dataclass(frozen=True, slots=True)
class BillingRunView:
    id: int
    actor: str
    until: datetime
    status: str
    started_at: datetime
    finished_at: datetime | None
    accounts_due: int
    accounts_done: int
    summary: dict[str, Any]
    problems: dict[str, Any]
    error: str | None

    @property
    def seconds(self) -> float | None:
        return None if self.finished_at is None else (self.finished_at - self.started_at).total_seconds()

    @property
    def percent(self) -> int:
        return 100 if not self.accounts_due else min(100, self.accounts_done * 100 // self.accounts_due)


def _view(row: Any) -> BillingRunView:
    r = row._mapping
    return BillingRunView(int(r["id"]), r["actor"], r["until"], r["status"], r["started_at"], r["finished_at"],
                          int(r["accounts_due"]), int(r["accounts_done"]), json.loads(r["summary"] or "{}"),
                          json.loads(r["problems"] or "{}"), r["error"])  # fmt: skip


def billing_run_views(conn: Connection, *, before: int | None = None, limit: int = 50) -> list[BillingRunView]:
    """The runs, newest first, a keyset page at a time."""
    query = select(billing_runs).order_by(billing_runs.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(billing_runs.c.id < before)
    return [_view(row) for row in conn.execute(query)]


def billing_run_view(conn: Connection, run_id: int) -> BillingRunView | None:
    row = conn.execute(select(billing_runs).where(billing_runs.c.id == run_id)).first()
    return None if row is None else _view(row)
