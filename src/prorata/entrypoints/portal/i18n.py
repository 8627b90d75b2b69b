"""Languages of the portal (rule X5): the product's gettext catalogs (``prorata.adapters.translations``),
amounts, dates and service periods written per language as every document writes them
(``prorata.services.formatting``), product names from the catalog in the page's language.
"""

from __future__ import annotations

import gettext
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal

from babel import Locale
from babel.numbers import format_percent

from prorata.adapters.translations import catalog
from prorata.domain.catalog import Catalog, Product, Unit
from prorata.domain.periods import Granularity, Period
from prorata.services.formatting import LOCALES, format_local_day, format_money, format_service_period

LANGUAGES = ("pl", "en")
DEFAULT_LANGUAGE = "en"

_current: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)
# the seller's country (the tax configuration's): a Polish seller's tax is named by its name, VAT
_seller_country: ContextVar[str] = ContextVar("seller_country", default="")


TRANSLATIONS: dict[str, gettext.NullTranslations] = {language: catalog(language) for language in LANGUAGES}


def choose_language(accept_language: str | None) -> str:
    """The first supported language of an ``Accept-Language`` header, English otherwise."""
    weighted = []
    for part in (accept_language or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        weighted.append((weight, tag.split("-")[0].lower()))
    for _weight, tag in sorted(weighted, key=lambda item: -item[0]):
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE


def use_language(language: str) -> None:
    _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current.get()


def use_seller_country(country: str) -> None:
    _seller_country.set(country.upper())


def tax_label(all_rates: bool = False) -> str:
    """The tax line's label: "VAT" when the seller is Polish (its tax is VAT, as its invoices print it), the generic
    "Tax" ("Podatek") for any other seller."""
    if _seller_country.get() == "PL":
        return translate("VAT, all rates" if all_rates else "VAT")
    return translate("Tax, all rates" if all_rates else "Tax")


def total_with_tax_label() -> str:
    return translate("Total with VAT" if _seller_country.get() == "PL" else "Total with tax")


def translate(message: str) -> str:
    return TRANSLATIONS[_current.get()].gettext(message)


def translate_plural(singular: str, plural: str, n: int) -> str:
    return TRANSLATIONS[_current.get()].ngettext(singular, plural, n)


def gettext_(message: str, **values: object) -> str:
    text = TRANSLATIONS[_current.get()].gettext(message)
    return text % values if values else text


def ngettext_(singular: str, plural: str, n: int, **values: object) -> str:
    text = TRANSLATIONS[_current.get()].ngettext(singular, plural, n)
    return text % {"num": n, **values}


def seats(product: Product | None, quantity: int) -> str:
    """An add-on's quantity with its unit: ``2 seats`` (``2 miejsca``) for a per-user add-on, the number alone for
    one held per account (a storage size); a plan's quantity is its licenses (``5 licenses``, ``5 licencji``)."""
    if product is None or product.unit is Unit.PER_ACCOUNT:
        return str(quantity)
    if product.is_plan:
        return ngettext_("%(num)d license", "%(num)d licenses", quantity)
    return ngettext_("%(num)d seat", "%(num)d seats", quantity)


def money(amount: int, currency: str, language: str | None = None) -> str:
    """Minor units as the language writes them, with the currency's own decimals: ``1 234,50 zł`` in Polish."""
    return format_money(amount, currency, language or _current.get())


def percent(basis_points: int, language: str | None = None) -> str:
    """A tax rate held in basis points as the language writes it: ``23%`` in English, ``8,5%`` in Polish."""
    return format_percent(Decimal(basis_points).scaleb(-4), "#,##0.##%", locale=LOCALES[language or _current.get()])


def day(at: datetime | None, time_zone: str = "UTC", language: str | None = None) -> str:
    """An instant as its date in ``time_zone`` (the account's, rule X2; the seller's for an invoice's issue date)."""
    if at is None:
        return ""
    return format_local_day(at, time_zone, language or _current.get())


def service_period(
    start: datetime, end: datetime, time_zone: str, granularity: Granularity, language: str | None = None
) -> str:
    """A line's service period ``[start, end)`` with its first and last day, in the account's time zone (rule C3)."""
    return format_service_period(Period(start, end), time_zone, granularity, language or _current.get())


def language_name(language: str) -> str:
    return str(Locale.parse(language).get_display_name(language)).capitalize()


def line_text(
    kind: str,
    name: str,
    quantity: int,
    used: int,
    whole: int,
    seconds: bool = False,
    *,
    reversal: bool = False,
    product: Product | None = None,
    discount: str | None = None,
) -> str:
    """An invoice or quote line in the page's language, from its structured fields (rule I5): the product, the
    quantity with its unit and the proration (``Business: 2 licenses, 16 of 30 days``, ``Large Meetings 500: 2 seats,
    16 of 30 days``), rather than the English text stored with it. A discount line (rule DC2) names its code
    (``discount``) and the charge it takes its share of (``Discount SAVE20: Business, 10 licenses, 16 of 30 days``).
    ``reversal``: a credit note's line, which reverses the corrected invoice's line (rule I2), as the credit note's PDF
    writes it (``Reversal: ...``): a charge's reversal is a credit and a credit's a charge, while a discount's
    reversal is still a discount line, of the opposite sign.
    """
    if reversal:
        original_kind = "discount" if kind == "discount" else "charge" if kind == "credit" else "credit"
        original = line_text(original_kind, name, quantity, used, whole, seconds, product=product,
                             discount=discount)  # fmt: skip
        return gettext_("Reversal: %(text)s", text=original)
    if seconds:
        span = ngettext_("%(used)d of %(num)d second", "%(used)d of %(num)d seconds", whole, used=used)
    else:
        span = ngettext_("%(used)d of %(num)d day", "%(used)d of %(num)d days", whole, used=used)
    counted = seats(product, quantity)
    if kind == "credit":
        return gettext_("Unused time: %(name)s, %(quantity)s, %(span)s", name=name, quantity=counted, span=span)
    if kind == "discount" and discount:
        return gettext_("Discount %(code)s: %(name)s, %(quantity)s, %(span)s", code=discount, name=name,
                        quantity=counted, span=span)  # fmt: skip
    if kind == "discount":  # a caller that does not read the line's code (the console's invoice lines)
        return gettext_("Discount: %(name)s, %(quantity)s, %(span)s", name=name, quantity=counted, span=span)
    return gettext_("%(name)s: %(quantity)s, %(span)s", name=name, quantity=counted, span=span)


def catalog_line_text(kind: str, code: str, quantity: int, used: int, whole: int, catalog: Catalog, language: str, *,
                      reversal: bool = False, discount: str | None = None) -> str:  # fmt: skip
    """``line_text`` for a line of the catalog's product ``code``, named in ``language`` (a product the catalog no
    longer holds by its code); ``discount``: a discount line's code."""
    product = catalog.products.get(code)
    name = product.name(language) if product is not None else code
    return line_text(kind, name, quantity, used, whole, catalog.granularity is Granularity.SECOND, reversal=reversal,
                     product=product, discount=discount)  # fmt: skip
