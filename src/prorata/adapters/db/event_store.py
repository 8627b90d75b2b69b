"""Events: what changed, written in the transaction of the change, and handed to the webhook endpoints that want it.

A part of ``SqlUnitOfWork``. A use case records an event (``record_event``) as it makes its change; the unit of
work keeps it until the transaction ends and then, still inside that transaction, just before the commit:

1. renders each event's object as the API returns it (``event_objects``), as it stands once the whole change is
   made: no one can read the state between two statements of one transaction, so that is the state the event tells;
2. for every account it touched in a way that can change what its users may use, reads the entitlements again and,
   when they differ from the ones last told (a digest per account), adds ``entitlements.updated`` with the new state;
3. writes the events and one delivery per event and enabled endpoint that wants its type.

A rolled-back transaction writes none of it, and a committed one all of it: there is never a change without its
event, nor an event without its change. Writers of one account hold its row (account first), so an account's
events and deliveries are numbered in the order their changes were committed, the order webhooks follow.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from prorata.adapters.db.event_objects import dumps, render
from prorata.adapters.db.schema import entitlement_states, events, webhook_deliveries, webhook_endpoints

# The event types after which an account's entitlements are read again (the others cannot change them)
ENTITLING = ("subscription.", "license.", "account.", "order.placed")

EntitlementsReader = Callable[[Connection, int], Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class _Recorded:
    type: str
    account_id: int | None
    object: str
    object_id: int | str | None
    at: datetime
    data: Mapping[str, Any] | None


class EventStore:
    """The events part of the unit of work; ``SqlUnitOfWork`` provides the connection and calls ``flush_events``."""

    entitlements: EntitlementsReader | None
    _recorded: list[_Recorded]

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def record_event(
        self,
        type: str,
        account_id: int | None,
        object: str,
        object_id: int | str | None,
        at: datetime,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``object`` changed (``type``, e.g. ``invoice.paid``); its state is read when the transaction
        ends. ``data`` stands for the object when it no longer exists to be read (a removed payment method)."""
        self._recorded.append(_Recorded(type, account_id, object, object_id, at, data))

    def flush_events(self) -> int:
        """Write what was recorded, with entitlements and deliveries; the caller commits. Returns the events written."""
        recorded, self._recorded = self._recorded, []
        if not recorded:
            return 0
        conn = self.conn
        rows: list[dict[str, Any]] = []
        rendered: dict[tuple[str, str], tuple[str, object]] = {}
        for event in recorded:
            key = (event.object, str(event.object_id))
            if key not in rendered:
                data = event.data if event.data is not None else render(conn, event.account_id, event.object,
                                                                        event.object_id)  # fmt: skip
                rendered[key] = (dumps(data), data.get("id", event.object_id))  # the stored id, not a number
            body, object_id = rendered[key]
            rows.append(_row(event.type, event.account_id, event.object, object_id, event.at, body))
        if self.entitlements is not None:
            last = {e.account_id: e.at for e in recorded if e.account_id is not None and e.type.startswith(ENTITLING)}
            for account_id, at in last.items():
                row = self._entitlements_changed(account_id, at)
                if row is not None:
                    rows.append(row)
        ids = conn.execute(insert(events).returning(events.c.id, sort_by_parameter_order=True), rows).scalars().all()
        self._fan_out(
            [(int(i), row["type"], row["account_id"], row["created_at"]) for i, row in zip(ids, rows, strict=True)]
        )
        return len(rows)

    def _entitlements_changed(self, account_id: int, at: datetime) -> dict[str, Any] | None:
        assert self.entitlements is not None
        state = self.entitlements(self.conn, account_id)
        if state is None:
            return None
        body = dumps(state)
        digest = hashlib.sha256(body.encode()).hexdigest()
        last = self.conn.execute(
            select(entitlement_states.c.digest).where(entitlement_states.c.account_id == account_id)
        ).scalar_one_or_none()
        if last == digest:
            return None
        if last is None:
            self.conn.execute(insert(entitlement_states).values(account_id=account_id, digest=digest, updated_at=at))
        else:
            self.conn.execute(
                update(entitlement_states)
                .where(entitlement_states.c.account_id == account_id)
                .values(digest=digest, updated_at=at)
            )
        return _row("entitlements.updated", account_id, "entitlements", account_id, at, body)

    def _fan_out(self, written: list[tuple[int, str, int | None, datetime]]) -> None:
        wanted = [
            (int(endpoint_id), frozenset(json.loads(types)))
            for endpoint_id, types in self.conn.execute(
                select(webhook_endpoints.c.id, webhook_endpoints.c.event_types).where(webhook_endpoints.c.enabled)
            )
        ]
        deliveries = [
            {"endpoint_id": endpoint_id, "event_id": event_id, "lane": account_id or 0, "status": "pending",
             "next_attempt_at": at, "created_at": at}
            for event_id, kind, account_id, at in written
            for endpoint_id, types in wanted
            if not types or kind in types
        ]  # fmt: skip
        if deliveries:
            self.conn.execute(insert(webhook_deliveries), deliveries)


def _row(type: str, account_id: int | None, object: str, object_id: object, at: datetime, body: str) -> dict[str, Any]:
    return {
        "public_id": f"evt_{uuid.uuid4().hex}",
        "type": type,
        "account_id": account_id,
        "object": object,
        "object_id": None if object_id is None else str(object_id),
        "created_at": at,
        "data": body,
    }
