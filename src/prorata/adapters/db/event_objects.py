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
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from prorata.adapters.db.documents import parse_number
from prorata.adapters.db.queries import (
    account_view,
    invoice_view,
    payment_method_views,
    subscription_views,
    user_views,
)
from prorata.adapters.db.refund_store import refund_views
from prorata.adapters.db.schema import invoices, orders, subscriptions

_REFUND_PRIVATE = ("charge_reference", "idempotency_key")  # the API does not show these


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def dumps(data: Any) -> str:
    return json.dumps(_jsonable(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def render(conn: Connection, account_id: int | None, kind: str, object_id: int | str | None) -> dict[str, Any]:
    """The object ``kind`` with id ``object_id`` of the account, as the API returns it now."""
    found: Any = None
    if kind in ("invoice", "credit_note") and isinstance(object_id, str) and not object_id.isdigit():
        object_id = _invoice_id(conn, object_id)  # a renewal knows its invoices by number
    if account_id is not None and object_id is not None and kind in _READERS:
        found = _READERS[kind](conn, account_id, int(object_id))
    if found is None:
        return {"id": object_id, "deleted": True} if object_id is not None else {}
    return dict(_jsonable(found))


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
    if view is None:
        return None
    out = _jsonable(view)
    if view.refund is not None:
        out["refund"] = {k: v for k, v in out["refund"].items() if k not in _REFUND_PRIVATE}
    return out


def _subscription(conn: Connection, account_id: int, object_id: int) -> Any:
    for view in subscription_views(conn, account_id):
        if view.id == object_id:
            return {**_jsonable(view), "status": "active"}
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
    return None if view is None else {**_jsonable(view), "label": view.label}


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
    number = None if row["number"] is None else f"{row['series']}-{row['year']}-{row['number']:06d}"
    return {
        "id": int(row["id"]), "status": row["status"], "created_at": row["created_at"],
        "failure_code": row["failure_code"],
        "invoice_id": row["invoice_id"], "invoice_number": number, "total": row["total"], "currency": row["currency"],
    }  # fmt: skip


def _refund(conn: Connection, account_id: int, object_id: int) -> Any:
    found = next(iter(refund_views(conn, account_id=account_id, refund_id=object_id)), None)
    if found is None:
        return None
    return {k: v for k, v in _jsonable(found).items() if k not in _REFUND_PRIVATE}


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
