"""The quote document: a JSON description of an account and a cart, priced without touching any account.

``price_document(data)`` reads the document (``schemas/quote-request.schema.json``), runs the engine and returns the
quote as a JSON-ready dict (``schemas/quote-response.schema.json``); ``prorata quote`` and the API's preview call
it. Every field is checked here with the field's path in the error; money is integer minor units (floats refused).
The subscriptions of the answer have the request's shape, so an answer can be fed back as the next request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from prorata.catalogs import default_catalog
from prorata.domain.account import Account, Charge, Pending, PendingKind, Subscription
from prorata.domain.cart import (
    AddAddon,
    Cancel,
    Change,
    ChangeAddon,
    ChangeInterval,
    ChangePlan,
    Reactivate,
    SetLicenses,
)
from prorata.domain.catalog import Catalog, parse_catalog
from prorata.domain.discounts import Discount, normalise_code, percent_points, percent_text
from prorata.domain.engine import quote, renew
from prorata.domain.errors import InvalidInput, ProrataError
from prorata.domain.invoice_lines import Quote
from prorata.domain.money import check_currency, check_minor, round_half_up
from prorata.domain.periods import (
    Granularity,
    Interval,
    Period,
    measure,
    parse_instant,
    period_containing,
    time_zone,
)

T = TypeVar("T")


def _fail(code: str, field: str, message: str) -> InvalidInput:
    return InvalidInput(code, f"{field}: {message}", field=field)


class _Obj:
    """A JSON object being read, with the path of each field for error messages."""

    def __init__(self, value: object, path: str, allowed: frozenset[str]) -> None:
        if not isinstance(value, Mapping):
            raise _fail("document.invalid_field", path or "document", "must be a JSON object")
        unknown = sorted(set(value) - allowed)
        if unknown:
            where = f"{path}.{unknown[0]}" if path else unknown[0]
            raise _fail("document.unknown_field", where, "is not a field of this object")
        self.value = value
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.value.get(key) is not None

    def required(self, key: str) -> Any:
        if key not in self.value or self.value[key] is None:
            raise _fail("document.missing_field", self.at(key), "is required")
        return self.value[key]

    def text(self, key: str, default: str | None = None) -> str:
        value = self.value.get(key, default)
        if value is None:
            return str(self.required(key))
        if not isinstance(value, str):
            raise _fail("document.invalid_field", self.at(key), f"must be a string, got {value!r}")
        return value

    def flag(self, key: str) -> bool:
        value = self.value.get(key, False)
        if not isinstance(value, bool):
            raise _fail("document.invalid_field", self.at(key), f"must be true or false, got {value!r}")
        return value

    def parsed(self, key: str, parse: Callable[..., T]) -> T:
        return parse(self.required(key), field=self.at(key))

    def optional(self, key: str, parse: Callable[..., T]) -> T | None:
        return parse(self.value[key], field=self.at(key)) if self.has(key) else None

    def items(self, key: str) -> list[Any]:
        value = self.value.get(key, [])
        if not isinstance(value, list):
            raise _fail("document.invalid_field", self.at(key), "must be a JSON array")
        return value


def _count(value: Any, *, field: str) -> Any:
    """Counts pass through unchanged so that the engine's own rules (L1, A7) name a wrong one."""
    return value


def _minor(value: object, *, field: str) -> int:
    return check_minor(value, field=field)


_REQUEST_KEYS = frozenset({"catalog", "account", "role", "subscriptions", "at", "changes", "mode", "$schema"})
_ACCOUNT_KEYS = frozenset(
    {"currency", "time_zone", "granularity", "credit_balance", "overdue", "managed_by_sales", "discount"}
)
_DISCOUNT_KEYS = frozenset({"code", "percent", "amount", "products", "start", "end"})
_SUB_KEYS = frozenset(
    {
        "id",
        "product",
        "interval",
        "quantity",
        "anchor",
        "period_start",
        "period_end",
        "charged",
        "charges",
        "assigned",
        "pending",
    }
)
_CHARGE_KEYS = frozenset({"amount", "start", "end"})
_PENDING_KEYS = frozenset({"kind", "quantity", "product", "effective"})
_CHANGE_KEYS: dict[str, frozenset[str]] = {
    "change_plan": frozenset({"type", "product", "licenses", "interval", "billing_day", "trial"}),
    "set_licenses": frozenset({"type", "total", "subscription"}),
    "change_interval": frozenset({"type", "interval", "subscription"}),
    "add_addon": frozenset({"type", "product", "quantity", "interval"}),
    "change_addon": frozenset({"type", "subscription", "quantity", "product"}),
    "cancel": frozenset({"type", "subscription", "with_addons"}),
    "reactivate": frozenset({"type", "subscription"}),
}


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            "document.malformed_json",
            f"document: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            field="document",
        ) from None
    except RecursionError:  # arrays or objects nested thousands deep: no quote document is shaped like that
        raise InvalidInput("document.too_deep", "document: nested too deeply to be a quote document",
                           field="document") from None  # fmt: skip


def read_catalog(value: object, fallback: Catalog | None = None) -> Catalog:
    if value is None or value == "default":
        return fallback or default_catalog()
    if isinstance(value, Mapping):
        return parse_catalog(value, source="<inline catalog>")
    raise _fail("document.invalid_field", "catalog", 'must be "default" or a catalog object with products')


def read_account(doc: _Obj, catalog: Catalog) -> Account:
    acc = _Obj(doc.required("account"), "account", _ACCOUNT_KEYS)
    currency = check_currency(acc.required("currency"), field="account.currency")
    tz_name = acc.text("time_zone", "UTC")
    try:
        time_zone(tz_name)
    except InvalidInput as exc:
        raise InvalidInput(exc.code, f"account.{exc.message}", rule=exc.rule, field="account.time_zone") from None
    granularity = acc.parsed("granularity", Granularity.parse) if acc.has("granularity") else catalog.granularity
    balance = acc.parsed("credit_balance", _minor) if acc.has("credit_balance") else 0
    if balance < 0:
        raise _fail("credit_balance.negative", "account.credit_balance", "a credit balance cannot be negative")
    subs = []
    for i, raw in enumerate(doc.items("subscriptions")):
        sub = read_subscription(_Obj(raw, f"subscriptions[{i}]", _SUB_KEYS), catalog, currency, tz_name, granularity)
        if sub is not None:
            subs.append(sub)
    discount = None
    if acc.has("discount"):
        discount = read_discount(_Obj(acc.value["discount"], acc.at("discount"), _DISCOUNT_KEYS), catalog)
    return Account(
        currency,
        tz_name,
        granularity,
        balance,
        tuple(subs),
        acc.flag("overdue"),
        acc.flag("managed_by_sales"),
        discount=discount,
    )


def read_discount(d: _Obj, catalog: Catalog) -> Discount:
    """Rules DC1, DC2: the discount the account holds, as a code's terms resolved in its currency and the service
    time they cover (``end`` absent: for ever). Priced as the installation prices an account holding it."""
    code = d.parsed("code", normalise_code)
    if d.has("percent") == d.has("amount"):
        raise InvalidInput("discount.terms", f"{d.at('percent')}: give either a percentage or an amount, not both",
                           rule="DC2", field=d.at("percent"))  # fmt: skip
    percent = d.optional("percent", percent_points)
    amount = d.optional("amount", _minor)
    if amount is not None and amount < 1:
        raise InvalidInput("discount.amount", f"{d.at('amount')}: a fixed discount is at least one minor unit",
                           rule="DC2", field=d.at("amount"))  # fmt: skip
    products = frozenset(
        catalog.product(item, field=f"{d.at('products')}[{i}]").code for i, item in enumerate(d.items("products"))
    )
    start = d.parsed("start", parse_instant)
    end = d.optional("end", parse_instant)
    if end is not None and not start < end:
        raise _fail("period.empty", d.at("end"), "must be after start")
    return Discount(code, start, end, percent, amount, products)


def read_subscription(
    s: _Obj, catalog: Catalog, currency: str, tz_name: str, granularity: Granularity
) -> Subscription | None:
    product = catalog.product(s.required("product"), field=s.at("product"))
    if product.free:
        return None  # a free plan holds no period and no money: it is the account without a paid plan
    interval = s.parsed("interval", Interval.parse)
    quantity = s.parsed("quantity", _minor)
    start = s.parsed("period_start", parse_instant)
    end = s.parsed("period_end", parse_instant)
    if not start < end:
        raise _fail("period.empty", s.at("period_end"), "must be after period_start")
    period = Period(start, end)
    anchor = s.optional("anchor", parse_instant) or start
    if s.has("charges") and s.has("charged"):
        raise _fail("document.invalid_field", s.at("charged"), "give either charged or charges, not both")
    charges: tuple[Charge, ...]
    if s.has("charges"):
        charges = tuple(
            _read_charge(_Obj(c, f"{s.at('charges')}[{j}]", _CHARGE_KEYS), period)
            for j, c in enumerate(s.items("charges"))
        )
    elif s.has("charged"):
        charges = (Charge(s.parsed("charged", _minor), start, end),)
    else:
        # what the list price charges for this period (prorated when the period is a partial first one)
        tz = time_zone(tz_name)
        whole = period_containing(anchor, start, interval, tz)
        unit = catalog.unit_price(product, interval, currency, field=s.at("product"))
        part = measure(start, end, tz, granularity)
        full = measure(whole.start, whole.end, tz, granularity)
        amount = round_half_up(quantity * unit * part, full)
        charges = (Charge(amount, start, end),)
    pending = tuple(
        _read_pending(_Obj(p, f"{s.at('pending')}[{j}]", _PENDING_KEYS), end) for j, p in enumerate(s.items("pending"))
    )
    assigned = s.parsed("assigned", _minor) if s.has("assigned") else 0
    return Subscription(s.text("id"), product.code, interval, quantity, anchor, period, charges, assigned, pending)


def _read_charge(c: _Obj, period: Period) -> Charge:
    start = c.optional("start", parse_instant) or period.start
    end = c.optional("end", parse_instant) or period.end
    if not (period.start <= start < end <= period.end):
        raise _fail("document.invalid_field", c.at("start"), "a charge covers a span inside the period")
    return Charge(c.parsed("amount", _minor), start, end)


def _read_pending(p: _Obj, period_end: datetime) -> Pending:
    """Parse a pending change; whether it can be applied is the engine's check (``validate_account``)."""
    try:
        kind = PendingKind(p.text("kind"))
    except ValueError:
        raise _fail("document.invalid_field", p.at("kind"), "must be quantity, product or cancel") from None
    effective = p.optional("effective", parse_instant) or period_end
    quantity = p.optional("quantity", _minor)
    product = p.text("product") if p.has("product") else None
    if kind is PendingKind.QUANTITY and quantity is None:
        raise _fail("document.missing_field", p.at("quantity"), "a pending quantity change needs the quantity")
    return Pending(kind, effective, quantity, product)


def read_change(raw: object, path: str, catalog: Catalog) -> Change:
    if not isinstance(raw, Mapping):
        raise _fail("document.invalid_field", path, "must be a JSON object")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in _CHANGE_KEYS:
        raise _fail("change.unknown_type", f"{path}.type", f"{kind!r} is not one of {', '.join(sorted(_CHANGE_KEYS))}")
    c = _Obj(raw, path, _CHANGE_KEYS[kind])
    sub = c.text("subscription") if c.has("subscription") else None
    if c.has("product"):
        catalog.product(c.text("product"), field=c.at("product"))  # named here with the change's path
    if kind == "change_plan":
        return ChangePlan(
            c.text("product"),
            c.optional("licenses", _count),
            c.optional("interval", Interval.parse),
            c.optional("billing_day", _count),
            c.flag("trial"),  # rule TR1
        )
    if kind == "set_licenses":
        return SetLicenses(c.parsed("total", _count), sub)
    if kind == "change_interval":
        return ChangeInterval(c.parsed("interval", Interval.parse), sub)
    if kind == "add_addon":
        quantity = c.parsed("quantity", _count) if c.has("quantity") else 1
        return AddAddon(c.text("product"), quantity, c.optional("interval", Interval.parse))
    if kind == "change_addon":
        product = c.text("product") if c.has("product") else None
        return ChangeAddon(c.text("subscription"), c.optional("quantity", _count), product)
    if kind == "cancel":
        return Cancel(sub, c.flag("with_addons"))
    return Reactivate(sub)


def price_document(data: object, *, catalog: Catalog | None = None) -> dict[str, Any]:
    """Price a decoded quote document; ``catalog`` replaces ``"default"`` (an operator's own file)."""
    doc = _Obj(data, "", _REQUEST_KEYS)
    cat = read_catalog(doc.value.get("catalog"), catalog)
    mode = doc.text("mode", "quote")
    if mode not in ("quote", "renewal"):
        raise _fail("document.invalid_field", "mode", "must be quote or renewal")
    at = doc.parsed("at", parse_instant)
    account = read_account(doc, cat)
    changes = [read_change(raw, f"changes[{i}]", cat) for i, raw in enumerate(doc.items("changes"))]
    if mode == "renewal":
        if changes:
            raise _fail("document.invalid_field", "changes", "a renewal takes no changes")
        result = renew(account, cat, at)
    else:
        try:
            result = quote(account, cat, at, changes, role=doc.text("role", "owner"))
        except ProrataError as error:
            raise at_change(error) from None
    return quote_to_dict(result)


def at_change(error: ProrataError) -> ProrataError:
    """Point a refusal at the cart item that caused it: ``licenses`` becomes ``changes[2].licenses``."""
    index = error.data.get("change")
    if index is None or error.field is None or error.field.startswith("changes["):
        return error
    field = f"changes[{index}].{error.field}"
    message = error.message
    if message.startswith(f"{error.field}: "):
        message = f"{field}: {message[len(error.field) + 2 :]}"
    return type(error)(error.code, message, rule=error.rule, field=field, **error.data)


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def subscription_to_dict(s: Subscription) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": s.id,
        "product": s.product,
        "interval": s.interval.value,
        "quantity": s.quantity,
        "anchor": _instant(s.anchor),
        "period_start": _instant(s.period.start),
        "period_end": _instant(s.period.end),
        "charges": [{"amount": c.amount, "start": _instant(c.start), "end": _instant(c.end)} for c in s.charges],
        "assigned": s.assigned,
        "pending": [_pending_to_dict(p) for p in s.pending],
    }
    return out


def _pending_to_dict(p: Pending) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": p.kind.value, "effective": _instant(p.effective)}
    if p.quantity is not None:
        out["quantity"] = p.quantity
    if p.product is not None:
        out["product"] = p.product
    return out


def quote_to_dict(q: Quote) -> dict[str, Any]:
    return {
        "currency": q.currency,
        "at": _instant(q.at),
        "valid_until": _instant(q.valid_until or q.at),
        "lines": [
            {
                "kind": line.kind.value,
                "subscription": line.subscription,
                "product": line.product,
                "description": line.description,
                "quantity": line.quantity,
                "unit_amount": line.unit_amount,
                "period_start": _instant(line.period.start),
                "period_end": _instant(line.period.end),
                "used": line.used,
                "whole": line.whole,
                "amount": line.amount,
                "basis": line.basis,
                "tax_rate": line.tax_rate,
                "tax": line.tax,
                "discount_code": line.discount,
            }
            for line in q.lines
        ],
        "subtotal": q.subtotal,
        "tax": q.tax,
        "tax_rate": q.tax_decision.rate,
        "reverse_charge": q.tax_decision.reverse_charge,
        "total": q.total,
        "credit_balance_before": q.credit_balance_before,
        "credit_used": q.credit_used,
        "credit_added": q.credit_added,
        "amount_due": q.amount_due,
        "credit_balance_after": q.credit_balance_after,
        "scheduled": [
            {
                "subscription": s.subscription,
                "product": s.product,
                "action": s.action,
                "change": _pending_to_dict(s.change),
            }
            for s in q.scheduled
        ],
        "to_assign": [{"subscription": sid, "product": code, "licenses": n} for sid, code, n in q.to_assign],
        "unassigned": [
            {"subscription": u.subscription, "product": u.product, "licenses": u.licenses, "reason": u.reason.value}
            for u in q.unassigned
        ],
        "subscriptions": [subscription_to_dict(s) for s in q.account.subscriptions],
        "discount": None if q.account.discount is None else discount_to_dict(q.account.discount),
    }


def discount_to_dict(d: Discount) -> dict[str, Any]:
    """The account's discount in the request's shape (``account.discount``), to be given with the next request."""
    out: dict[str, Any] = {"code": d.code}
    if d.percent is not None:
        out["percent"] = percent_text(d.percent)
    if d.amount is not None:
        out["amount"] = d.amount
    out["products"] = sorted(d.products)
    out["start"] = _instant(d.start)
    if d.end is not None:
        out["end"] = _instant(d.end)
    return out
