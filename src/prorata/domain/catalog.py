"""The catalog as data: plans, add-ons, prices and limits (rules P1, P3, P4, P5, P7, A3, A8, C3, TR1).

A catalog is parsed from a mapping (TOML or JSON text decoded by the caller) and checked whole before use: a broken
catalog is refused with the source file, the product and the field named. Prices are written in major units as
decimal strings ("14.99") and held as integer minor units.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prorata.domain.errors import CatalogError, InvalidInput, RuleViolation
from prorata.domain.money import Money
from prorata.domain.periods import Granularity, Interval


class ProductKind(enum.StrEnum):
    PLAN = "plan"
    ADDON = "addon"
    ONE_TIME_MONTH = "one_time_month"  # rule A8: one calendar month, charged in full, never renews


class Unit(enum.StrEnum):
    PER_USER = "per_user"  # quantity = licenses or seats, assigned to users
    PER_ACCOUNT = "per_account"  # quantity is always 1 (storage)


class DowngradePolicy(enum.StrEnum):
    END_OF_TERM = "end_of_term"  # rules P5 and L3: the default
    IMMEDIATE_WITH_CREDIT = "immediate_with_credit"  # rule P7: Stripe / Chargebee style


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    kind: ProductKind
    names: Mapping[str, str]
    unit: Unit = Unit.PER_USER
    rank: int = 0
    free: bool = False
    sales_only: bool = False
    min_quantity: int = 1
    max_quantity: int | None = None
    family: str | None = None
    size: int = 0
    downgrade_to: tuple[str, ...] = ()
    suggest_addons: tuple[str, ...] = ()
    prices: Mapping[tuple[Interval, str], int] = field(default_factory=dict)
    trial_days: int = 0  # rule TR1: a free trial of this many days, 0 for none
    trial_requires_card: bool = False  # rule TR1: a payment method must be saved before the trial starts

    is_plan: bool = field(init=False)  # derived from ``kind``; a field, not a property: read on every line priced
    is_addon: bool = field(init=False)
    is_one_month: bool = field(init=False)  # rule A8: ``kind`` is one_time_month
    per_user: bool = field(init=False)  # ``unit`` is per_user: seats held by users (rules L5, A7)

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_plan", self.kind is ProductKind.PLAN)
        object.__setattr__(self, "is_addon", self.kind is not ProductKind.PLAN)
        object.__setattr__(self, "is_one_month", self.kind is ProductKind.ONE_TIME_MONTH)
        object.__setattr__(self, "per_user", self.unit is Unit.PER_USER)

    def name(self, language: str = "en") -> str:
        return self.names.get(language) or self.names["en"]

    def intervals(self) -> tuple[Interval, ...]:
        return tuple(i for i in Interval if any(k[0] is i for k in self.prices))


@dataclass(frozen=True, slots=True)
class Catalog:
    name: str
    products: Mapping[str, Product]
    granularity: Granularity = Granularity.DAY
    downgrade_policy: DowngradePolicy = DowngradePolicy.END_OF_TERM
    source: str = "<catalog>"
    note: str = ""
    quote_valid_seconds: int = 900  # rule C6 under second granularity: how long a quote's amounts hold

    def product(self, code: object, *, field: str = "product") -> Product:
        if not isinstance(code, str) or code not in self.products:
            raise InvalidInput(
                "product.unknown", f"{field}: {code!r} is not a product of catalog {self.name!r}", field=field
            )
        return self.products[code]

    def unit_price(self, product: Product, interval: Interval, currency: str, *, field: str = "product") -> int:
        """The list price of one license or seat per ``interval`` in minor units; free products cost 0."""
        if product.free:
            return 0
        try:
            return product.prices[(interval, currency)]
        except KeyError:
            raise RuleViolation(
                "price.missing",
                f"{field}: {product.name()} has no {interval.value}ly price in {currency}",
                field=field,
                product=product.code,
            ) from None

    def plans(self) -> list[Product]:
        return sorted((p for p in self.products.values() if p.is_plan), key=lambda p: p.rank)

    def addons(self) -> list[Product]:
        return [p for p in self.products.values() if p.is_addon]


# --------------------------------------------------------------------------------------------------------- parsing


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, product: str | None, fieldname: str, problem: str) -> CatalogError:
        where = f"product {product!r}, field {fieldname!r}" if product else f"field {fieldname!r}"
        path = f"products.{product}.{fieldname}" if product else fieldname
        return CatalogError(
            "catalog.invalid",
            f"{self.source}: {where}: {problem}",
            field=path,
            file=self.source,
            product=product,
        )

    def get(
        self,
        table: Mapping[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        product: str | None,
        default: Any = None,
        *,
        required: bool = False,
    ) -> Any:
        if key not in table:
            if required:
                raise self.fail(product, key, "is required")
            return default
        value = table[key]
        if (isinstance(value, bool) and kind is int) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(product, key, f"must be {names}, got {value!r}")
        return value


_PRODUCT_KEYS = frozenset(
    [
        "kind",
        "name",
        "unit",
        "rank",
        "free",
        "sales_only",
        "min_licenses",
        "max_licenses",
        "family",
        "size",
        "downgrade_to",
        "suggest_addons",
        "prices",
        "trial_days",
        "trial_requires_card",
    ]
)


def parse_catalog(data: Mapping[str, Any], *, source: str = "<catalog>") -> Catalog:
    """Build and check a catalog from decoded TOML or JSON; anything wrong raises ``catalog.invalid``."""
    r = _Reader(source)
    if not isinstance(data, Mapping):
        raise r.fail(None, "catalog", "the catalog must be a table")
    head = r.get(data, "catalog", Mapping, None, {})
    name = r.get(head, "name", str, None, "catalog")
    note = r.get(head, "note", str, None, "")
    try:
        granularity = Granularity(r.get(head, "granularity", str, None, "day"))
    except ValueError:
        raise r.fail(None, "catalog.granularity", "must be 'day' or 'second'") from None
    try:
        policy = DowngradePolicy(r.get(head, "downgrade_policy", str, None, "end_of_term"))
    except ValueError:
        raise r.fail(None, "catalog.downgrade_policy", "must be 'end_of_term' or 'immediate_with_credit'") from None
    valid = r.get(head, "quote_valid_seconds", int, None, 900)
    if valid < 1:
        raise r.fail(None, "catalog.quote_valid_seconds", "must be at least 1")
    table = r.get(data, "products", Mapping, None, required=True)
    if not table:
        raise r.fail(None, "products", "the catalog has no products")
    products = {code: _parse_product(r, code, spec) for code, spec in table.items()}
    _check_references(r, products)
    return Catalog(name, products, granularity, policy, source, note, valid)


def _parse_product(r: _Reader, code: str, spec: Any) -> Product:
    if not isinstance(spec, Mapping):
        raise r.fail(code, "", "must be a table")
    unknown = sorted(set(spec) - _PRODUCT_KEYS)
    if unknown:
        raise r.fail(code, unknown[0], "is not a product field")
    try:
        kind = ProductKind(r.get(spec, "kind", str, code, required=True))
    except ValueError:
        raise r.fail(code, "kind", "must be plan, addon or one_time_month") from None
    names = r.get(spec, "name", (str, Mapping), code, required=True)
    names = {"en": names} if isinstance(names, str) else dict(names)
    if not isinstance(names.get("en"), str) or not all(isinstance(v, str) for v in names.values()):
        raise r.fail(code, "name", "needs an English name ('en') and text values")
    try:
        unit = Unit(r.get(spec, "unit", str, code, "per_user"))
    except ValueError:
        raise r.fail(code, "unit", "must be per_user or per_account") from None
    free = r.get(spec, "free", bool, code, False)
    min_q = r.get(spec, "min_licenses", int, code, 1)
    max_q = r.get(spec, "max_licenses", int, code, None)
    if min_q < 1:
        raise r.fail(code, "min_licenses", "must be at least 1")
    if max_q is not None and max_q < min_q:
        raise r.fail(code, "max_licenses", f"must be at least min_licenses ({min_q})")
    if unit is Unit.PER_ACCOUNT and (min_q, max_q) != (1, None) and max_q != 1:
        raise r.fail(code, "max_licenses", "a per_account product has a quantity of exactly 1")
    if unit is Unit.PER_ACCOUNT:
        min_q, max_q = 1, 1
    family = r.get(spec, "family", str, code, None)
    if kind is ProductKind.PLAN and family is not None:
        raise r.fail(code, "family", "only add-ons belong to a family")
    prices: dict[tuple[Interval, str], int] = {}
    raw_prices = r.get(spec, "prices", Mapping, code, {})
    for interval_name, by_currency in raw_prices.items():
        try:
            interval = Interval(interval_name)
        except ValueError:
            raise r.fail(code, f"prices.{interval_name}", "intervals are 'month' and 'year'") from None
        if kind is ProductKind.ONE_TIME_MONTH and interval is not Interval.MONTH:
            raise r.fail(code, f"prices.{interval_name}", "a one_time_month product has a month price only")
        if not isinstance(by_currency, Mapping) or not by_currency:
            raise r.fail(code, f"prices.{interval_name}", "must map currency codes to amounts")
        for currency, amount in by_currency.items():
            where = f"prices.{interval_name}.{currency}"
            try:
                money = Money.parse(amount, currency, field=where)
            except InvalidInput as exc:
                raise r.fail(code, where, exc.message.split(": ", 1)[-1]) from None
            if money.amount < 0:
                raise r.fail(code, where, "prices cannot be negative")
            prices[(interval, currency)] = money.amount
    if not free and not prices and not r.get(spec, "sales_only", bool, code, False):
        raise r.fail(code, "prices", "a product that is neither free nor sales_only needs prices")
    trial_days, trial_requires_card = _parse_trial(r, code, spec, kind, free, prices)
    return Product(
        code=code,
        kind=kind,
        names=names,
        unit=unit,
        rank=r.get(spec, "rank", int, code, 0),
        free=free,
        sales_only=r.get(spec, "sales_only", bool, code, False),
        min_quantity=min_q,
        max_quantity=max_q,
        family=family,
        size=r.get(spec, "size", int, code, 0),
        downgrade_to=tuple(_strings(r, spec, "downgrade_to", code)),
        suggest_addons=tuple(_strings(r, spec, "suggest_addons", code)),
        prices=prices,
        trial_days=trial_days,
        trial_requires_card=trial_requires_card,
    )


# Rule TR1: the trial is the plan's first period, on an anchor at the trial's end; it must fit in one billing
# interval (the shortest month has 28 days), so the periods after it follow that anchor like any other.
MAX_TRIAL_DAYS = {Interval.MONTH: 28, Interval.YEAR: 365}


def _parse_trial(
    r: _Reader, code: str, spec: Mapping[str, Any], kind: ProductKind, free: bool,
    prices: Mapping[tuple[Interval, str], int],
) -> tuple[int, bool]:  # fmt: skip
    """Rule TR1: ``trial_days`` (a whole number of days, 0 for none) and ``trial_requires_card`` of a paid plan."""
    days = r.get(spec, "trial_days", int, code, 0)
    card = r.get(spec, "trial_requires_card", bool, code, False)
    if days == 0:
        if "trial_requires_card" in spec:
            raise r.fail(code, "trial_requires_card", "needs trial_days (a plan without a trial asks no card for one)")
        return 0, False
    if kind is not ProductKind.PLAN or free or not prices or spec.get("sales_only") is True:
        raise r.fail(code, "trial_days", "only a paid plan sold through self-service offers a free trial")
    longest = min(MAX_TRIAL_DAYS[interval] for interval, _ in prices)
    if not 1 <= days <= longest:
        raise r.fail(code, "trial_days", f"must be a number of days from 1 to {longest} (one billing period)")
    return days, card


def _strings(r: _Reader, spec: Mapping[str, Any], key: str, code: str) -> list[str]:
    values = r.get(spec, key, list, code, [])
    if not all(isinstance(v, str) for v in values):
        raise r.fail(code, key, "must be a list of product codes")
    return list(values)


def _check_references(r: _Reader, products: Mapping[str, Product]) -> None:
    for p in products.values():
        for target in p.downgrade_to:
            other = products.get(target)
            if other is None or not other.is_plan or not p.is_plan or other.rank >= p.rank:
                raise r.fail(p.code, "downgrade_to", f"{target!r} is not a lower-ranked plan of this catalog")
        for target in p.suggest_addons:
            other = products.get(target)
            if other is None or not other.is_addon:
                raise r.fail(p.code, "suggest_addons", f"{target!r} is not an add-on of this catalog")


def parse_catalog_toml(text: str, *, source: str) -> Catalog:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(
            "catalog.invalid", f"{source}: not valid TOML: {exc}", field="catalog", file=source
        ) from None
    return parse_catalog(data, source=source)
