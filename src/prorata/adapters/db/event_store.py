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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from prorata.adapters.db.bulk import insert_rows, insert_rows_returning_ids
from prorata.adapters.db.event_objects import dumps, render_many
from prorata.adapters.db.schema import entitlement_states, events, webhook_deliveries, webhook_endpoints

# The event types after which an account's entitlements are read again (the others cannot change them)
ENTITLING = ("subscription.", "license.", "account.", "order.placed")

# the entitlements of accounts (those that exist) as the API returns them, read in the transaction
EntitlementsReader = Callable[[Connection, Sequence[int]], Mapping[int, Mapping[str, Any]]]


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
        given = {(e.object, str(e.object_id)): dict(e.data) for e in recorded if e.data is not None}
        wanted = list({(e.object, str(e.object_id)): (e.object, e.account_id, e.object_id)
                       for e in recorded if (e.object, str(e.object_id)) not in given}.values())  # fmt: skip
        objects = {**render_many(conn, wanted), **given}
        rows: list[dict[str, Any]] = []
        for event in recorded:
            data = objects[(event.object, str(event.object_id))]
            # the stored id, also for an object the change named by number
            rows.append(_row(event.type, event.account_id, event.object, data.get("id", event.object_id), event.at,
                             dumps(data)))  # fmt: skip
        if self.entitlements is not None:
            last = {e.account_id: e.at for e in recorded if e.account_id is not None and e.type.startswith(ENTITLING)}
            rows.extend(self._entitlements_changed(last))
        self._write(rows)
        return len(rows)

    def _entitlements_changed(self, touched: Mapping[int, datetime]) -> list[dict[str, Any]]:
        """``entitlements.updated`` for each touched account whose entitlements differ from the ones last told."""
        if not touched:
            return []
        assert self.entitlements is not None
        states = self.entitlements(self.conn, list(touched))
        if not states:
            return []
        bodies = {account_id: dumps(state) for account_id, state in states.items()}
        told = [
            {"account_id": account_id, "digest": hashlib.sha256(body.encode()).hexdigest(),
             "updated_at": touched[account_id]}
            for account_id, body in bodies.items()
        ]  # fmt: skip
        # one statement: the new digest is written where it differs from the one last told (or none was), and the
        # accounts written are the ones whose entitlements changed
        upsert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        written = upsert(entitlement_states)
        statement = written.on_conflict_do_update(
            index_elements=[entitlement_states.c.account_id],
            set_={"digest": written.excluded.digest, "updated_at": written.excluded.updated_at},
            where=entitlement_states.c.digest != written.excluded.digest,
        ).returning(entitlement_states.c.account_id)
        changed = {int(account_id) for account_id in self.conn.execute(statement, told).scalars()}
        return [
            _row("entitlements.updated", account_id, "entitlements", account_id, touched[account_id], body)
            for account_id, body in bodies.items()
            if account_id in changed
        ]

    def _write(self, rows: list[dict[str, Any]]) -> None:
        """The events, and a delivery of each to every enabled endpoint that wants its type."""
        wanted = [
            (int(endpoint_id), frozenset(json.loads(types)))
            for endpoint_id, types in self.conn.execute(
                select(webhook_endpoints.c.id, webhook_endpoints.c.event_types).where(webhook_endpoints.c.enabled)
            )
        ]
        if not wanted:  # nowhere to deliver: the events alone, without reading their ids back
            insert_rows(self.conn, events, rows)
            return
        ids = insert_rows_returning_ids(self.conn, events, rows)
        deliveries = [
            {"endpoint_id": endpoint_id, "event_id": int(event_id), "lane": row["account_id"] or 0,
             "status": "pending", "next_attempt_at": row["created_at"], "created_at": row["created_at"]}
            for event_id, row in zip(ids, rows, strict=True)
            for endpoint_id, types in wanted
            if not types or row["type"] in types
        ]  # fmt: skip
        insert_rows(self.conn, webhook_deliveries, deliveries)


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
