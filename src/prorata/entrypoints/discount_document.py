"""Discount codes and an account's discount as the API answers them and ``prorata discounts --json`` prints them
(rules DC1, DC2): one set of fields for both doors. Instants stay ``datetime`` here; each door writes them its way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prorata.domain.discounts import percent_text
from prorata.domain.money import Money
from prorata.services.discount_ports import RedemptionRecord, StoredCode


def code_fields(stored: StoredCode) -> dict[str, Any]:
    code = stored.code
    return {
        "code": code.code, "duration": code.duration.value, "periods": code.periods,
        "percent": None if code.percent is None else percent_text(code.percent), "amounts": dict(code.amounts),
        "products": sorted(code.products), "expires_at": code.expires_at, "max_redemptions": code.max_redemptions,
        "redeemed": code.redeemed, "active": code.active, "created_at": stored.created_at,
        "retired_at": stored.retired_at,
    }  # fmt: skip


def redemption_fields(record: RedemptionRecord) -> dict[str, Any]:
    return {
        "account_id": record.account_id, "account_code": record.account_code, "status": record.status,
        "starts_at": record.starts_at, "ends_at": record.ends_at, "redeemed_at": record.redeemed_at,
        "order_id": record.order_id,
    }  # fmt: skip


def held_fields(held: Mapping[str, Any], currency: str, now: datetime) -> dict[str, Any]:
    """The discount an account holds (its latest applied redemption, ``discount_store.account_discount_row``):
    ``scheduled`` until the time it covers starts (a code entered later, rule DC1), ``ended`` once it has run out."""
    starts_at: datetime = held["starts_at"]
    ends_at: datetime | None = held["ends_at"]
    status = "scheduled" if starts_at > now else "active" if ends_at is None or ends_at > now else "ended"
    return {
        "code": held["code"], "status": status,
        "percent": None if held["percent"] is None else percent_text(held["percent"]), "amount": held["amount"],
        "currency": currency, "products": held["products"].split(), "periods": held["periods"],
        "starts_at": starts_at, "ends_at": ends_at, "redeemed_at": held["redeemed_at"], "order_id": held["order_id"],
    }  # fmt: skip


def terms_text(percent: str | None, amounts: Mapping[str, int], products: list[str]) -> str:
    """``20 % off pro, business`` or ``5.00 USD / 20.00 PLN off each license``, for a line of the command line."""
    if percent is not None:
        return f"{percent} % off {', '.join(products) if products else 'the whole order'}"
    each = " / ".join(str(Money(amount, currency)) for currency, amount in sorted(amounts.items()))
    return f"{each} off each license" + (f" of {', '.join(products)}" if products else "")


def as_json(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Instants as ISO 8601 with their offset, the rest as it is (lists of fields included)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, list) and value and isinstance(value[0], Mapping):
            out[key] = [as_json(item) for item in value]
        else:
            out[key] = value
    return out
