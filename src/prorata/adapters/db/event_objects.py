"""The object an event carries, as the REST API returns it: read with the API's own views, in the event's
transaction, and written as JSON the way the API writes it (instants in ISO 8601 UTC with ``Z``, money in minor
units).

Objects: ``account``, ``invoice`` (an invoice or a credit note, with its lines and payments), ``subscription``
(with its pending changes; one that ended is told with its last state and ``status``), ``user`` (with the
subscriptions whose licenses or seats it holds), ``payment_method``, ``order`` and ``refund``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, select

from prorata.adapters.db.bulk import among
from prorata.adapters.db.documents import parse_number
from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.queries import (
    InvoiceView,
    account_view,
    invoice_view,
    invoice_views_by_id,
    payment_method_views,
    subscription_views,
    subscription_views_in,
    subscription_views_of,
    user_views,
    user_views_of,
)
from prorata.adapters.db.refund_store import refund_views
from prorata.adapters.db.schema import invoices, orders, subscriptions
from prorata.domain.account import Account

_REFUND_PRIVATE = ("charge_reference", "idempotency_key")  # the API does not show these


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields, one level deep: ``json.dumps`` asks ``_json`` for what lies below (never
    ``dataclasses.asdict``, which deep-copies every value: a billing run's batch tells thousands of objects)."""
    names = _FIELDS.get(type(value))
    if names is None:
        names = _FIELDS[type(value)] = tuple(f.name for f in fields(value))
    return {name: getattr(value, name) for name in names}


_FIELDS: dict[type, tuple[str, ...]] = {}


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is UTC:  # as every instant is read and stored (types.py)
            return _instant_text(value)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


@lru_cache(maxsize=4096)
def _instant_text(at: datetime) -> str:
    """An instant as the API writes it (ISO 8601 UTC with ``Z``). A billing run's batch tells the same few instants
    (the billing date, the periods' starts and ends) in every subscription and invoice object: written once each."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def dumps(data: Any) -> str:
    """JSON as the API writes it: instants in UTC with ``Z``, keys sorted, compact."""
    return _ENCODER.encode(data)


# made once: ``json.dumps`` with these options builds an encoder for every body (a billing run's batch writes
# thousands); an encoder keeps no state between two calls
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json)


Wanted = tuple[str, int | None, int | str | None]  # (kind, account, object id)


def render_many(conn: Connection, wanted: Sequence[Wanted]) -> dict[tuple[str, str], dict[str, Any]]:
    """Several objects, keyed by (kind, str(object id) as asked): invoices, subscriptions and users in a few
    queries whatever their number (a billing run's batch tells thousands), the rest one at a time."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    invoice_keys = [(k, i) for k, _, i in wanted if k in ("invoice", "credit_note") and i is not None]
    if invoice_keys:
        ids = _invoice_ids(conn, [i for _, i in invoice_keys])
        views = invoice_views_by_id(conn, [v for v in ids.values() if v is not None])
        for kind, number in invoice_keys:
            invoice = views.get(ids.get(str(number)) or -1)
            found[(kind, str(number))] = _deleted(number) if invoice is None else _invoice_out(invoice)
    accounts = sorted({a for k, a, _ in wanted if k in ("subscription", "user") and a is not None})
    if any(k == "subscription" for k, _, _ in wanted):
        subs = {v.id: v for views in subscription_views_of(conn, accounts).values() for v in views}
        for kind, account_id, sub in wanted:
            if kind == "subscription" and sub is not None:
                active = subs.get(int(sub))
                found[(kind, str(sub))] = (
                    {**_fields(active), "status": "active"} if active is not None
                    else _subscription(conn, account_id or 0, int(sub)) or _deleted(sub)
                )  # fmt: skip
    if any(k == "user" for k, _, _ in wanted):
        people = {v.id: v for views in user_views_of(conn, accounts).values() for v in views}
        for kind, _, user in wanted:
            if kind == "user" and user is not None:
                person = people.get(int(user))
                found[(kind, str(user))] = _deleted(user) if person is None else _fields(person)
    for kind, account_id, other in wanted:
        if (kind, str(other)) not in found:
            found[(kind, str(other))] = render(conn, account_id, kind, other)
    return found


def held_subscriptions(account: Account) -> dict[tuple[str, str], dict[str, Any]]:
    """The objects of an account's active subscriptions, made from the account as the transaction leaves it (its
    stored ids): what ``render_many`` would read."""
    return {("subscription", str(v.id)): {**_fields(v), "status": "active"} for v in subscription_views_in(account)}


def invoice_object(view: InvoiceView) -> dict[str, Any]:
    """An invoice or credit note as the API returns it."""
    return _invoice_out(view)


def order_object(
    order_id: int, status: str, created_at: datetime, failure_code: str | None,
    invoice: tuple[int, str | None, int, str] | None,
) -> dict[str, Any]:  # fmt: skip
    """An order as the API returns it; ``invoice``: its invoice's id, number, total and currency, if it has one."""
    invoice_id, number, total, currency = invoice if invoice is not None else (None, None, None, None)
    return {
        "id": order_id, "status": status, "created_at": created_at, "failure_code": failure_code,
        "invoice_id": invoice_id, "invoice_number": number, "total": total, "currency": currency,
    }  # fmt: skip


def _deleted(object_id: int | str | None) -> dict[str, Any]:
    return {"id": object_id, "deleted": True} if object_id is not None else {}


def _invoice_ids(conn: Connection, asked: Sequence[int | str]) -> dict[str, int | None]:
    """Invoice ids for ids or numbers (a renewal knows its invoices by number)."""
    out: dict[str, int | None] = {str(a): int(a) for a in asked if isinstance(a, int) or str(a).isdigit()}
    by_series: dict[tuple[str, int], dict[int, str]] = {}
    for a in asked:
        parsed = None if str(a) in out else parse_number(str(a))
        if parsed is None:
            out.setdefault(str(a), None)
            continue
        series, year, serial = parsed
        by_series.setdefault((series, year), {})[serial] = str(a)
    for (series, year), serials in by_series.items():
        for invoice_id, serial in conn.execute(
            select(invoices.c.id, invoices.c.number).where(
                invoices.c.series == series,
                invoices.c.year == year,
                # the range lets the index find the rows whatever the planner believes of the table's size (a
                # billing run's numbers are consecutive); the array alone would be a filter over the whole year
                invoices.c.number.between(min(serials), max(serials)),
                among(conn, invoices.c.number, serials),
            )
        ):
            out[serials[int(serial)]] = int(invoice_id)
    for text in (t for serials in by_series.values() for t in serials.values()):
        out.setdefault(text, None)
    return out


def render(conn: Connection, account_id: int | None, kind: str, object_id: int | str | None) -> dict[str, Any]:
    """The object ``kind`` with id ``object_id`` of the account, as the API returns it now."""
    found: Any = None
    if kind in ("invoice", "credit_note") and isinstance(object_id, str) and not object_id.isdigit():
        object_id = _invoice_id(conn, object_id)  # a renewal knows its invoices by number
    if account_id is not None and object_id is not None and kind in _READERS:
        found = _READERS[kind](conn, account_id, int(object_id))
    if found is None:
        return {"id": object_id, "deleted": True} if object_id is not None else {}
    return found if isinstance(found, dict) else _fields(found)


def _invoice_id(conn: Connection, number: str) -> int | None:
    parsed = parse_number(number)
    if parsed is None:
        return None
    series, year, serial = parsed
    found = conn.execute(
        select(invoices.c.id).where(invoices.c.series == series, invoices.c.year == year, invoices.c.number == serial)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def _account(conn: Connection, account_id: int, object_id: int) -> Any:
    return account_view(conn, object_id)


def _invoice(conn: Connection, account_id: int, object_id: int) -> Any:
    view = invoice_view(conn, account_id, object_id)
    return None if view is None else _invoice_out(view)


def _invoice_out(view: InvoiceView) -> dict[str, Any]:
    out = _fields(view)
    if view.refund is not None:
        out["refund"] = {k: v for k, v in _fields(view.refund).items() if k not in _REFUND_PRIVATE}
    return out


def _subscription(conn: Connection, account_id: int, object_id: int) -> Any:
    for view in subscription_views(conn, account_id):
        if view.id == object_id:
            return {**_fields(view), "status": "active"}
    row = conn.execute(
        select(subscriptions).where(subscriptions.c.id == object_id, subscriptions.c.account_id == account_id)
    ).mappings().one_or_none()  # fmt: skip
    if row is None:
        return None
    return {
        "id": int(row["id"]), "product": row["product"], "interval": row["interval"], "quantity": int(row["quantity"]),
        "assigned": 0, "period_start": row["period_start"], "period_end": row["period_end"], "pending": [],
        "status": row["status"],
    }  # fmt: skip


def _user(conn: Connection, account_id: int, object_id: int) -> Any:
    return next((view for view in user_views(conn, account_id) if view.id == object_id), None)


def _payment_method(conn: Connection, account_id: int, object_id: int) -> Any:
    view = next((v for v in payment_method_views(conn, account_id) if v.id == object_id), None)
    return None if view is None else {**_fields(view), "label": view.label}


def _order(conn: Connection, account_id: int, object_id: int) -> Any:
    row = conn.execute(
        select(orders.c.id, orders.c.status, orders.c.created_at, orders.c.failure_code,
               invoices.c.id.label("invoice_id"), invoices.c.series, invoices.c.year, invoices.c.number,
               invoices.c.total, invoices.c.currency)
        .select_from(orders.outerjoin(invoices, invoices.c.order_id == orders.c.id))
        .where(orders.c.id == object_id, orders.c.account_id == account_id)
    ).mappings().one_or_none()  # fmt: skip
    if row is None:
        return None
    number = None if row["number"] is None else invoice_number_text(row["series"], row["year"], row["number"])
    invoice = None if row["invoice_id"] is None else (row["invoice_id"], number, row["total"], row["currency"])
    return order_object(int(row["id"]), row["status"], row["created_at"], row["failure_code"], invoice)


def _refund(conn: Connection, account_id: int, object_id: int) -> Any:
    found = next(iter(refund_views(conn, account_id=account_id, refund_id=object_id)), None)
    if found is None:
        return None
    return {k: v for k, v in _fields(found).items() if k not in _REFUND_PRIVATE}


_READERS = {
    "account": _account,
    "invoice": _invoice,
    "credit_note": _invoice,
    "subscription": _subscription,
    "user": _user,
    "payment_method": _payment_method,
    "order": _order,
    "refund": _refund,
}
