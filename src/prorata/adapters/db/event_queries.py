"""Reading events and webhook deliveries for the API and the CLI: pages by cursor, newest state of each delivery
with its attempts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from prorata.adapters.db.schema import events, webhook_attempts, webhook_deliveries
from prorata.adapters.db.webhook_store import event_json
from prorata.services.webhook_ports import AttemptRecord


@dataclass(frozen=True, slots=True)
class EventPage:
    data: list[dict[str, Any]]
    has_more: bool


def event_page(
    conn: Connection, *, account_id: int | None = None, types: Sequence[str] = (), after: str | None = None,
    created_from: datetime | None = None, created_before: datetime | None = None, limit: int = 50,
) -> EventPage | None:  # fmt: skip
    """Events oldest first, after the event ``after`` (None when there is no such event)."""
    query = select(events).order_by(events.c.id).limit(limit + 1)
    if after is not None:
        cursor = conn.execute(select(events.c.id).where(events.c.public_id == after)).scalar_one_or_none()
        if cursor is None:
            return None
        query = query.where(events.c.id > cursor)
    if account_id is not None:
        query = query.where(events.c.account_id == account_id)
    if types:
        query = query.where(events.c.type.in_(list(types)))
    if created_from is not None:
        query = query.where(events.c.created_at >= created_from)
    if created_before is not None:
        query = query.where(events.c.created_at < created_before)
    rows = conn.execute(query).all()
    return EventPage([event_json(r) for r in rows[:limit]], len(rows) > limit)


def event_by_id(conn: Connection, public_id: str, account_id: int | None = None) -> dict[str, Any] | None:
    query = select(events).where(events.c.public_id == public_id)
    if account_id is not None:
        query = query.where(events.c.account_id == account_id)
    row = conn.execute(query).one_or_none()
    return None if row is None else event_json(row)


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    event_id: str
    event_type: str
    account_id: int | None
    status: str
    attempts: tuple[AttemptRecord, ...]
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None


def delivery_views(
    conn: Connection, endpoint_id: int, *, status: str | None = None, event_id: str | None = None,
    before: int | None = None, limit: int = 50,
) -> list[DeliveryView]:  # fmt: skip
    """An endpoint's deliveries, newest first, each with every attempt (the attempt log)."""
    d = webhook_deliveries
    query = (
        select(d, events.c.public_id, events.c.type, events.c.account_id)
        .join(events, events.c.id == d.c.event_id)
        .where(d.c.endpoint_id == endpoint_id)
        .order_by(d.c.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(d.c.status == status)
    if event_id is not None:
        query = query.where(events.c.public_id == event_id)
    if before is not None:
        query = query.where(d.c.id < before)
    rows = conn.execute(query).all()
    attempts: dict[int, list[AttemptRecord]] = {int(r.id): [] for r in rows}
    if attempts:
        for a in conn.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id.in_(list(attempts)))
            .order_by(webhook_attempts.c.id)
        ):
            attempts[int(a.delivery_id)].append(
                AttemptRecord(int(a.delivery_id), int(a.attempt), a.at, a.status_code, a.error, a.excerpt,
                              int(a.duration_ms))
            )  # fmt: skip
    return [
        DeliveryView(int(r.id), r.public_id, r.type, r.account_id, r.status, tuple(attempts[int(r.id)]),
                     r.next_attempt_at if r.status == "pending" else None, r.created_at, r.finished_at)
        for r in rows
    ]  # fmt: skip
