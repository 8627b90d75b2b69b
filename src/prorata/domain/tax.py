"""Tax: which rate a buyer pays, and the tax of an invoice line (rules T1-T3).

Rates are exact integers of basis points (``2300`` is 23 %), read from configuration text (TOML) that names the
seller's country and the standard rate of every EU member state; a country without a rate is outside the EU and pays
0 % (rule T1). :func:`decide` applies the place-of-supply rules for electronic services:

- a buyer in the seller's country pays the seller's rate;
- a business in another EU country with a valid VAT number pays 0 % and the invoice carries the reverse-charge note
  (rule T2);
- a consumer in another EU country pays that country's standard rate;
- a buyer outside the EU pays 0 %;
- a buyer whose exemption certificate an operator accepted pays 0 % (rule TE1), whatever the above.

Whether a VAT number is valid is decided before it reaches the domain (the contact is refused otherwise, rule T2):
:func:`decide` is told only that the buyer has one. Tax is computed per line on the line's rounded amount, half up
(rule T3): :func:`line_tax`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from prorata.domain.errors import CatalogError, InvalidInput
from prorata.domain.money import round_half_up
from prorata.domain.periods import time_zone
from prorata.domain.seller import MAX_FOOTER, BankAccount, Logo, Seller, bic_problem, compact_iban, iban_problem

BASIS_POINTS = 10_000  # a rate of 10,000 basis points is 100 %


@dataclass(frozen=True, slots=True)
class TaxRules:
    seller: Seller
    rates: Mapping[str, int]  # EU member state (ISO 3166 alpha-2) -> standard rate in basis points
    reverse_charge_note: Mapping[str, str] = field(default_factory=dict)  # language -> the note (rule T2)
    logo_path: str = ""  # ``seller.logo`` as written: a PNG or JPEG file, relative to the configuration's folder
    logo: Logo | None = None  # the image itself, read and checked by ``prorata.catalogs`` when it loads the file

    def note(self, language: str = "en") -> str:
        return self.reverse_charge_note.get(language) or self.reverse_charge_note.get("en", "Reverse charge")

    def in_eu(self, country: str) -> bool:
        return country in self.rates


@dataclass(frozen=True, slots=True)
class TaxBuyer:
    """The buyer as tax sees it: the Sold-To contact's country and VAT number (rule T1)."""

    country: str
    vat_number: str | None = None  # already validated (rule T2); None for a consumer
    exempt: bool = False  # rule TE1: an operator accepted the buyer's exemption certificate


@dataclass(frozen=True, slots=True)
class TaxDecision:
    rate: int  # basis points
    country: str = ""  # the buyer's country the decision was made for
    reverse_charge: bool = False  # rule T2: 0 %, and the invoice carries the note
    exempt: bool = False  # rule TE1: 0 %, the buyer's exemption certificate was accepted


NO_TAX = TaxDecision(0)


def decide(rules: TaxRules, buyer: TaxBuyer) -> TaxDecision:
    """Rules T1, T2: the rate ``buyer`` pays to ``rules.seller``."""
    country = buyer.country.upper()
    if buyer.exempt:
        return TaxDecision(0, country, exempt=True)  # rule TE1
    seller = rules.seller.country
    if country == seller:
        return TaxDecision(rules.rates.get(seller, 0), country)
    if not rules.in_eu(country):
        return TaxDecision(0, country)  # outside the EU: no VAT charged
    if buyer.vat_number:
        return TaxDecision(0, country, reverse_charge=True)
    return TaxDecision(rules.rates[country], country)


def line_tax(amount: int, rate: int) -> int:
    """Rule T3: the tax of one line, on its rounded amount, half up (a credit's tax is negative)."""
    return round_half_up(amount * rate, BASIS_POINTS)


def rate_text(rate: int) -> str:
    """``2300`` -> ``"23 %"``, ``2550`` -> ``"25.5 %"``: exact, never through a float."""
    whole, rest = divmod(rate, 100)
    return f"{whole}.{rest:02d}".rstrip("0").rstrip(".") + " %" if rest else f"{whole} %"


def parse_rate(text: object, *, source: str, field: str) -> int:
    """A rate in percent written as a decimal string (``"23"``, ``"25.5"``), exactly, as basis points."""
    if not isinstance(text, str):
        raise CatalogError(
            "tax.rate_not_a_string",
            f'{source}: {field}: write a rate in percent as a decimal string, e.g. "23" (got {text!r})',
            field=field,
            file=source,
        )
    try:
        value = Decimal(text.strip()).scaleb(2)
    except InvalidOperation:
        raise CatalogError(
            "tax.rate_invalid", f"{source}: {field}: {text!r} is not a number", field=field, file=source
        ) from None
    if not value.is_finite() or value != value.to_integral_value() or not 0 <= value <= BASIS_POINTS:
        raise CatalogError(
            "tax.rate_invalid",
            f"{source}: {field}: {text!r} must be between 0 and 100 with at most two decimals",
            field=field,
            file=source,
        )
    return int(value)


def parse_tax_rules(data: Mapping[str, Any], *, source: str) -> TaxRules:
    """Tax configuration from decoded TOML: ``[seller]``, ``[rates]`` and ``[reverse_charge]``."""
    seller_data = data.get("seller")
    if not isinstance(seller_data, Mapping) or not isinstance(seller_data.get("country"), str):
        raise CatalogError(
            "tax.seller_missing",
            f'{source}: seller.country: the seller\'s country is required (e.g. country = "PL")',
            field="seller.country",
            file=source,
        )
    country = seller_data["country"].upper()
    if len(country) != 2 or not country.isalpha():
        raise CatalogError(
            "tax.seller_country",
            f"{source}: seller.country: a two-letter country code (ISO 3166), got {country!r}",
            field="seller.country",
            file=source,
        )
    address = seller_data.get("address", [])
    zone = seller_data.get("time_zone", "UTC")
    if not isinstance(zone, str) or not _is_time_zone(zone):
        raise CatalogError(
            "tax.seller_time_zone",
            f'{source}: seller.time_zone: an IANA time zone such as "Europe/Warsaw" (got {zone!r})',
            field="seller.time_zone",
            file=source,
        )
    seller = Seller(
        country,
        str(seller_data.get("name", "")),
        tuple(str(line) for line in address) if isinstance(address, list) else (str(address),),
        str(seller_data.get("tax_id", "")),
        str(seller_data.get("email", "")),
        zone,
        _bank(seller_data.get("bank"), source),
        _footer(seller_data.get("footer"), source),
    )
    logo = seller_data.get("logo", "")
    if not isinstance(logo, str):
        raise CatalogError("tax.seller_logo", f"{source}: seller.logo: the path of a PNG or JPEG file (got {logo!r})",
                           field="seller.logo", file=source)  # fmt: skip
    raw_rates = data.get("rates", {})
    if not isinstance(raw_rates, Mapping):
        raise CatalogError("tax.rates", f"{source}: rates: a table of country = rate", field="rates", file=source)
    rates = {
        str(code).upper(): parse_rate(value, source=source, field=f"rates.{code}") for code, value in raw_rates.items()
    }
    notes = data.get("reverse_charge", {})
    notes = {str(k): str(v) for k, v in notes.items()} if isinstance(notes, Mapping) else {}
    return TaxRules(seller, rates, notes, logo.strip())


BANK_FIELDS = ("iban", "swift", "name")


def _bank(data: object, source: str) -> BankAccount | None:
    """``[seller.bank]``: ``iban`` (required, checked), ``swift`` (SWIFT/BIC, checked) and ``name`` (the bank's)."""
    if data is None:
        return None

    def refuse(code: str, field: str, why: str) -> CatalogError:
        return CatalogError(code, f"{source}: seller.bank.{field}: {why}", field=f"seller.bank.{field}", file=source)

    if not isinstance(data, Mapping):
        raise refuse("tax.seller_bank", "iban", "write the bank account as a table: [seller.bank] iban = ...")
    unknown = sorted(str(key) for key in data if key not in BANK_FIELDS)
    if unknown:
        raise refuse("tax.seller_bank", unknown[0], f"not a field of the bank account ({', '.join(BANK_FIELDS)})")
    iban, swift, name = data.get("iban"), data.get("swift", ""), data.get("name", "")
    if not isinstance(iban, str) or not iban.strip():
        raise refuse("tax.seller_iban", "iban", f"the account's IBAN is required (got {iban!r})")
    problem = iban_problem(compact_iban(iban))
    if problem is not None:
        raise refuse("tax.seller_iban", "iban", f"{iban!r} is not an IBAN: {problem}")
    bic = swift.strip().upper() if isinstance(swift, str) else None
    problem = "text" if bic is None else bic_problem(bic) if bic else None
    if problem is not None:
        raise refuse("tax.seller_swift", "swift", f"{swift!r} is not a SWIFT/BIC code: {problem}")
    if not isinstance(name, str) or len(name) > 200:
        raise refuse("tax.seller_bank", "name", "the bank's name, up to 200 characters")
    return BankAccount(compact_iban(iban), bic or "", name.strip())


def _footer(data: object, source: str) -> dict[str, str]:
    """``seller.footer``: one text for every document, or a table of texts by language (``en``, ``pl``)."""
    if data is None:
        return {}
    texts = {"en": data} if isinstance(data, str) else data
    if not isinstance(texts, Mapping):
        raise CatalogError("tax.seller_footer", f'{source}: seller.footer: a text, or a table such as {{ en = "...", '
                           f'pl = "..." }} (got {data!r})', field="seller.footer", file=source)  # fmt: skip
    footer: dict[str, str] = {}
    for language, text in texts.items():
        where = "seller.footer" if isinstance(data, str) else f"seller.footer.{language}"
        if language not in ("en", "pl"):
            raise CatalogError("tax.seller_footer", f"{source}: {where}: a footer in en or pl", field=where,
                               file=source)  # fmt: skip
        if not isinstance(text, str) or len(text) > MAX_FOOTER or any(
                ord(char) < 32 and char != "\n" for char in text):  # fmt: skip
            raise CatalogError("tax.seller_footer", f"{source}: {where}: text of up to {MAX_FOOTER} characters, "
                               "lines separated by new lines and no other control characters", field=where,
                               file=source)  # fmt: skip
        if text.strip():
            footer[str(language)] = text.strip()
    return footer


def _is_time_zone(name: str) -> bool:
    try:
        time_zone(name)
    except InvalidInput:
        return False
    return True


def parse_tax_toml(text: str, *, source: str) -> TaxRules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError("tax.invalid", f"{source}: not valid TOML: {exc}", field="tax", file=source) from None
    return parse_tax_rules(data, source=source)
