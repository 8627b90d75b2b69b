"""Free trials (``trials``, rule TR1): the unit of work's part for ``services/trials.py``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from prorata.adapters.db.schema import accounts, trials
from prorata.services.ports import TrialRecord


def _record(row: object) -> TrialRecord:
    r = row._mapping  # type: ignore[attr-defined]
    return TrialRecord(int(r["account_id"]), r["product"], r["started_at"], r["ends_at"], r["reminded_at"])


def trial_row(conn: Connection, account_id: int) -> TrialRecord | None:
    """The account's trial, for the pages and the API that read it outside a unit of work."""
    row = conn.execute(select(trials).where(trials.c.account_id == account_id)).first()
    return None if row is None else _record(row)


def trial_rows(conn: Connection, active_at: datetime | None = None) -> list[dict[str, object]]:
    """The trials with their account's code, ending soonest first; with ``active_at``, only those not ended then."""
    query = (
        select(accounts.c.code.label("account"), trials.c.account_id, trials.c.product, trials.c.started_at,
               trials.c.ends_at, trials.c.reminded_at)
        .join(accounts, accounts.c.id == trials.c.account_id)
        .order_by(trials.c.ends_at, trials.c.account_id)
    )  # fmt: skip
    if active_at is not None:
        query = query.where(trials.c.ends_at > active_at)
    return [dict(row._mapping) for row in conn.execute(query.limit(1000))]


class TrialStore:
    """The free trials' part of ``SqlUnitOfWork``."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def trial(self, account_id: int) -> TrialRecord | None:
        return trial_row(self.conn, account_id)

    def start_trial(
        self, account_id: int, product: str, order_id: int | None, started_at: datetime, ends_at: datetime
    ) -> None:
        # the account is the key: a second trial is refused by the database too, whatever the caller checked
        self.conn.execute(
            insert(trials).values(account_id=account_id, product=product, order_id=order_id, started_at=started_at,
                                  ends_at=ends_at)
        )  # fmt: skip

    def trials_ending(self, by: datetime, now: datetime, limit: int) -> list[TrialRecord]:
        """Trials not yet reminded of that end after ``now`` and by ``by``, soonest first."""
        rows = self.conn.execute(
            select(trials)
            .where(trials.c.reminded_at.is_(None), trials.c.ends_at > now, trials.c.ends_at <= by)
            .order_by(trials.c.ends_at, trials.c.account_id)
            .limit(limit)
        )
        return [_record(row) for row in rows]

    def claim_trial_reminder(self, account_id: int, now: datetime) -> bool:
        """Mark the trial reminded; False when another transaction did first (on PostgreSQL the second waits for the
        first's row lock, then finds ``reminded_at`` set and changes nothing): the reminder is written once."""
        done = self.conn.execute(
            update(trials)
            .where(trials.c.account_id == account_id, trials.c.reminded_at.is_(None))
            .values(reminded_at=now)
        )
        return done.rowcount == 1
