"""Webhook endpoints, the delivery queue and its attempts: the storage half of outgoing webhooks. A part of
``SqlUnitOfWork``.

The queue is ordered by lanes: the deliveries of one endpoint and one account (``lane``) are sent in id order, one at
a time. A worker claims a lane by claiming its first open delivery: one that is pending and due, or one that another
worker claimed longer ago than the lease (that worker died). On PostgreSQL the claim takes the row ``FOR UPDATE SKIP
LOCKED``, so workers claiming at once pass each other by; on SQLite one writer at a time does the same. While a lane's
first delivery is pending or sending, no later one of the lane can be claimed by anyone, so a worker that holds the
first may take the next ones of the lane in the same claim and send them in order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, insert, or_, select, update

from prorata.adapters.db.schema import events, webhook_attempts, webhook_deliveries, webhook_endpoints
from prorata.services.webhook_ports import AttemptRecord, DeliveryJob, EndpointRecord

OPEN = ("pending", "sending")


def event_json(row: Any) -> dict[str, Any]:
    """An event as the API and every webhook show it."""
    return {
        "id": row.public_id,
        "type": row.type,
        "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
        "account_id": None if row.account_id is None else int(row.account_id),
        "object": row.object,
        "data": json.loads(row.data),
    }


def event_body(row: Any) -> bytes:
    return json.dumps(event_json(row), separators=(",", ":"), ensure_ascii=False).encode()


def _endpoint(row: Any) -> EndpointRecord:
    return EndpointRecord(
        int(row.id), row.url, row.description, tuple(json.loads(row.event_types)), bool(row.enabled),
        int(row.secret_generation), row.previous_valid_until, row.created_at, row.failing_since, row.disabled_at,
        row.disabled_reason,
    )  # fmt: skip


class WebhookStore:
    """The webhooks' part of the unit of work."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------- endpoints

    def insert_endpoint(
        self, url: str, description: str, event_types: Sequence[str], enabled: bool, now: datetime
    ) -> int:
        return int(
            self.conn.execute(
                insert(webhook_endpoints)
                .values(url=url, description=description, event_types=json.dumps(list(event_types)),
                        enabled=enabled, created_at=now, disabled_at=None if enabled else now,
                        disabled_reason=None if enabled else "operator")
                .returning(webhook_endpoints.c.id)
            ).scalar_one()
        )  # fmt: skip

    def endpoint(self, endpoint_id: int, *, lock: bool = False) -> EndpointRecord | None:
        query = select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).one_or_none()
        return None if row is None else _endpoint(row)

    def endpoints(self) -> list[EndpointRecord]:
        return [_endpoint(r) for r in self.conn.execute(select(webhook_endpoints).order_by(webhook_endpoints.c.id))]

    def update_endpoint(self, endpoint_id: int, **values: object) -> None:
        if "event_types" in values:
            values["event_types"] = json.dumps(list(values["event_types"]))  # type: ignore[call-overload]
        self.conn.execute(update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id).values(**values))

    def delete_endpoint(self, endpoint_id: int) -> None:
        mine = select(webhook_deliveries.c.id).where(webhook_deliveries.c.endpoint_id == endpoint_id)
        self.conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(mine)))
        self.conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.endpoint_id == endpoint_id))
        self.conn.execute(delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))

    # ------------------------------------------------------------------------------------------- the queue

    def claim_deliveries(self, now: datetime, lease_seconds: float, lanes: int, per_lane: int) -> list[DeliveryJob]:
        d = webhook_deliveries
        earlier = d.alias("earlier")
        stale = now - timedelta(seconds=lease_seconds)
        heads = (
            select(d.c.id, d.c.endpoint_id, d.c.lane)
            .join(webhook_endpoints, webhook_endpoints.c.id == d.c.endpoint_id)
            .where(
                or_(d.c.status == "pending", and_(d.c.status == "sending", d.c.claimed_at <= stale)),
                d.c.next_attempt_at <= now,
                webhook_endpoints.c.enabled,
                ~exists().where(
                    earlier.c.endpoint_id == d.c.endpoint_id,
                    earlier.c.lane == d.c.lane,
                    earlier.c.id < d.c.id,
                    earlier.c.status.in_(OPEN),
                ),
            )
            .order_by(d.c.id)
            .limit(lanes)
        )
        if self.conn.dialect.name == "postgresql":
            heads = heads.with_for_update(of=d, skip_locked=True)
        claimed = self.conn.execute(heads).all()
        if not claimed:
            return []
        ranked = (
            select(d.c.id, func.row_number().over(partition_by=(d.c.endpoint_id, d.c.lane), order_by=d.c.id).label("n"))
            .where(
                or_(*[and_(d.c.endpoint_id == endpoint, d.c.lane == lane, d.c.id > head)
                      for head, endpoint, lane in claimed]),
                # the lane is this worker's now: what a dead worker left claimed in it is taken again too
                or_(d.c.status == "pending", and_(d.c.status == "sending", d.c.claimed_at <= stale)),
            )
            .subquery()
        )  # fmt: skip
        following = [int(i) for i in self.conn.execute(select(ranked.c.id).where(ranked.c.n < per_lane)).scalars()]
        ids = [int(head) for head, _, _ in claimed] + following
        self.conn.execute(update(d).where(d.c.id.in_(ids)).values(status="sending", claimed_at=now))
        rows = self.conn.execute(
            select(d.c.id, d.c.endpoint_id, d.c.lane, d.c.attempts, webhook_endpoints.c.url,
                   webhook_endpoints.c.secret_generation, webhook_endpoints.c.previous_valid_until,
                   events.c.public_id, events.c.type, events.c.created_at, events.c.account_id, events.c.object,
                   events.c.data)
            .join(webhook_endpoints, webhook_endpoints.c.id == d.c.endpoint_id)
            .join(events, events.c.id == d.c.event_id)
            .where(d.c.id.in_(ids))
            .order_by(d.c.endpoint_id, d.c.lane, d.c.id)
        ).all()  # fmt: skip
        return [
            # the attempts counted are the ones recorded: a worker that died before recording one did not use it up
            DeliveryJob(int(r.id), int(r.endpoint_id), r.url, int(r.lane), r.public_id, event_body(r),
                        int(r.attempts) + 1,
                        r.created_at, int(r.secret_generation), r.previous_valid_until)
            for r in rows
        ]  # fmt: skip

    def record_attempts(self, attempts: Sequence[AttemptRecord]) -> None:
        if attempts:
            d = webhook_deliveries
            self.conn.execute(
                update(d).where(d.c.id.in_([a.delivery_id for a in attempts])).values(attempts=d.c.attempts + 1)
            )
            self.conn.execute(
                insert(webhook_attempts),
                [{"delivery_id": a.delivery_id, "attempt": a.attempt, "at": a.at, "status_code": a.status_code,
                  "error": a.error, "excerpt": a.excerpt, "duration_ms": a.duration_ms} for a in attempts],
            )  # fmt: skip

    def mark_delivered(self, delivery_ids: Sequence[int], now: datetime) -> None:
        if not delivery_ids:
            return
        d = webhook_deliveries
        self.conn.execute(update(d).where(d.c.id.in_(delivery_ids)).values(status="delivered", finished_at=now))
        self.conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id.in_(select(d.c.endpoint_id).where(d.c.id.in_(delivery_ids))))
            .where(webhook_endpoints.c.failing_since.is_not(None))
            .values(failing_since=None)
        )

    def retry_delivery(self, delivery_id: int, at: datetime) -> None:
        self.conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id)
            .values(status="pending", next_attempt_at=at, claimed_at=None)
        )

    def give_up_delivery(self, delivery_id: int, now: datetime) -> None:
        self.conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id)
            .values(status="failed", finished_at=now, claimed_at=None)
        )

    def release_deliveries(self, delivery_ids: Sequence[int]) -> None:
        if delivery_ids:
            d = webhook_deliveries
            self.conn.execute(
                update(d)
                .where(d.c.id.in_(delivery_ids), d.c.status == "sending")
                .values(status="pending", claimed_at=None)
            )

    def endpoint_failed(self, endpoint_id: int, now: datetime) -> datetime:
        """The endpoint failed now: when its failing began (kept from the first failure after a success)."""
        self.conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.failing_since.is_(None))
            .values(failing_since=now)
        )
        since = self.conn.execute(
            select(webhook_endpoints.c.failing_since).where(webhook_endpoints.c.id == endpoint_id)
        ).scalar_one()
        assert isinstance(since, datetime)
        return since

    def replay(self, endpoint_id: int, now: datetime, *, event_id: str | None, since: datetime | None) -> int:
        found = self.endpoint(endpoint_id)
        if found is None:
            return 0
        query = select(events.c.id, events.c.account_id).order_by(events.c.id)
        if event_id is not None:
            query = query.where(events.c.public_id == event_id)
        if since is not None:
            query = query.where(events.c.created_at >= since)
        if found.event_types:
            query = query.where(events.c.type.in_(found.event_types))
        rows = [
            {"endpoint_id": endpoint_id, "event_id": int(i), "lane": int(account or 0), "status": "pending",
             "next_attempt_at": now, "created_at": now}
            for i, account in self.conn.execute(query)
        ]  # fmt: skip
        if rows:
            self.conn.execute(insert(webhook_deliveries), rows)
        return len(rows)

    def purge_events(self, before: datetime) -> int:
        """Events older than ``before`` whose deliveries are all finished, with their deliveries and attempts."""
        d = webhook_deliveries
        old = select(events.c.id).where(
            events.c.created_at < before,
            ~exists().where(d.c.event_id == events.c.id, d.c.status.in_(OPEN)),
        )
        ids = [int(i) for i in self.conn.execute(old).scalars()]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            mine = select(d.c.id).where(d.c.event_id.in_(chunk))
            self.conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(mine)))
            self.conn.execute(delete(d).where(d.c.event_id.in_(chunk)))
            self.conn.execute(delete(events).where(events.c.id.in_(chunk)))
        return len(ids)
