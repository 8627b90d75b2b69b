"""Events: what changed, written in the transaction of the change, and handed to the webhook endpoints that want it.

A part of ``SqlUnitOfWork``. A use case records an event (``record_event``) as it makes its change; the unit of
work keeps it until the transaction ends and then, still inside that transaction, just before the commit:

1. renders each event's object as the API returns it (``event_objects``), as it stands once the whole change is
   made: no one can read the state between two statements of one transaction, so that is the state the event tells;
2. for every account it touched in a way that can change what its users may use, reads the entitlements again and,
   when they differ from the ones last told (a digest per account), adds ``entitlements.updated`` with the new state;
3. writes the events and one delivery per event and enabled endpoint that wants its type.

What the transaction already holds is not read again. The store that wrote an account's subscriptions hands over
the account as it left it (``hold_account``: stored ids, as a read would give it), and a store that wrote an
object whole hands over the object (``hold_object``): subscription objects and entitlements are made from the
account, the object is told as handed. A later write of the account's subscriptions or licenses that does not hand
it over again forgets it (``forget_held``). With ``PRORATA_CHECK_EVENTS=1`` (the test suite sets it) every object
and entitlement made from what was held is also read back, and any difference fails the transaction.

A rolled-back transaction writes none of it, and a committed one all of it: there is never a change without its
event, nor an event without its change. Writers of one account hold its row (account first), so an account's
events and deliveries are numbered in the order their changes were committed, the order webhooks follow.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from prorata.adapters.db.bulk import insert_rows, insert_rows_returning_ids
from prorata.adapters.db.event_objects import dumps, held_subscriptions, render_many
from prorata.adapters.db.queries import PaymentView
from prorata.adapters.db.schema import entitlement_states, events, webhook_deliveries, webhook_endpoints
from prorata.domain.account import Account

# The event types after which an account's entitlements are read again (the others cannot change them)
ENTITLING = ("subscription.", "license.", "account.", "order.placed")

# the entitlements of accounts (those that exist) as the API returns them, read in the transaction; the accounts
# given are taken as they are instead of being read
EntitlementsReader = Callable[[Connection, Sequence[int], Mapping[int, Account]], Mapping[int, Mapping[str, Any]]]

CHECK_VARIABLE = "PRORATA_CHECK_EVENTS"


class HeldStateDiffers(AssertionError):
    """An event's object made from what the transaction held differs from the one read back (a store handed over
    a state that is not the one it wrote)."""


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
    _held_accounts: dict[int, Account]
    _held_objects: dict[tuple[str, str], dict[str, Any]]
    _held_payments: dict[int, PaymentView]

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

    def hold_account(self, account_id: int, account: Account) -> None:
        """The account as this transaction leaves it, as a read would give it (its subscriptions by their stored
        ids, in id order), from the store that wrote its subscriptions."""
        self._held_accounts[account_id] = account

    def hold_object(self, object: str, object_id: int | str, data: Mapping[str, Any]) -> None:
        """An object as this transaction leaves it and as the API returns it (``event_objects``), from the store
        that wrote it whole; ``object_id`` as the events name it."""
        self._held_objects[(object, str(object_id))] = dict(data)

    def forget_held(self, account_id: int | None) -> None:
        """The account's subscriptions or licenses (without an account: some account's) were written after it was
        handed over: read it again."""
        if account_id is None:
            self._held_accounts.clear()
        else:
            self._held_accounts.pop(account_id, None)

    def hold_payment(self, invoice_id: int, payment: PaymentView) -> None:
        """A payment of the invoice as this transaction settled it: a store that then writes the invoice whole
        tells it with its payment."""
        self._held_payments[invoice_id] = payment

    def held_payment(self, invoice_id: int) -> PaymentView | None:
        return self._held_payments.get(invoice_id)

    def reset_events(self) -> None:
        self._recorded, self._held_accounts, self._held_objects, self._held_payments = [], {}, {}, {}

    def flush_events(self) -> int:
        """Write what was recorded, with entitlements and deliveries; the caller commits. Returns the events written."""
        recorded, held_accounts, held_objects = self._recorded, self._held_accounts, self._held_objects
        self.reset_events()
        if not recorded:
            return 0
        conn = self.conn
        given = {(e.object, str(e.object_id)): dict(e.data) for e in recorded if e.data is not None}
        wanted = list({(e.object, str(e.object_id)): (e.object, e.account_id, e.object_id)
                       for e in recorded if (e.object, str(e.object_id)) not in given}.values())  # fmt: skip
        held = {key: data for key, data in held_objects.items() if key not in given}
        for account_id in {a for kind, a, _ in wanted if kind == "subscription" and a in held_accounts}:
            held.update(held_subscriptions(held_accounts[account_id]))
        checking = os.environ.get(CHECK_VARIABLE) == "1"
        to_read = wanted if checking else [w for w in wanted if (w[0], str(w[2])) not in held]
        read = render_many(conn, to_read)
        if checking:
            _same(held, read, "object")
        objects = {**read, **held, **given}
        rows: list[dict[str, Any]] = []
        for event in recorded:
            data = objects[(event.object, str(event.object_id))]
            # the stored id, also for an object the change named by number
            rows.append(_row(event.type, event.account_id, event.object, data.get("id", event.object_id), event.at,
                             dumps(data)))  # fmt: skip
        if self.entitlements is not None:
            last = {e.account_id: e.at for e in recorded if e.account_id is not None and e.type.startswith(ENTITLING)}
            rows.extend(self._entitlements_changed(last, held_accounts, checking))
        self._write(rows)
        return len(rows)

    def _entitlements_changed(
        self, touched: Mapping[int, datetime], held: Mapping[int, Account], checking: bool
    ) -> list[dict[str, Any]]:
        """``entitlements.updated`` for each touched account whose entitlements differ from the ones last told."""
        if not touched:
            return []
        assert self.entitlements is not None
        given = {account_id: account for account_id, account in held.items() if account_id in touched}
        states = self.entitlements(self.conn, list(touched), given)
        if checking and given:
            _same({("entitlements", str(a)): s for a, s in states.items() if a in given},
                  {("entitlements", str(a)): s for a, s in self.entitlements(self.conn, list(given), {}).items()},
                  "entitlements")  # fmt: skip
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


def _same(held: Mapping[tuple[str, str], Any], read: Mapping[tuple[str, str], Any], what: str) -> None:
    """``PRORATA_CHECK_EVENTS``: each held object (or entitlements) as the JSON a read of it gives."""
    for key, data in held.items():
        if key in read and dumps(data) != dumps(read[key]):
            raise HeldStateDiffers(f"{what} {key}: held {dumps(data)} but read {dumps(read[key])}")


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
