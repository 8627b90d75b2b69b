"""Amounts and dates as a customer reads them, in Polish and English: the one place every renderer writes them
(rules X1, X5, C3, I5).

Amounts: Babel writes the language's digits, symbols, grouping and currency placement (``1 234,50 zł``,
``$1,234.50``), but the number of decimals is the currency's ISO 4217 exponent from the domain
(``prorata.domain.money``), never CLDR's own "cash digits": 123456 minor units of HUF are 1 234,56 HUF, of IQD
123,456 IQD, of JPY 123 456 JPY. Where a currency code stands before the number it is spaced from it as CLDR's
currency-spacing rule says (``HUF 1,234.56``, but ``$1,234.50``), which Babel leaves out. ``parse_money`` reads
such a text back to the same minor units. Machine formats (the KSeF XML) take ``major_units`` from the domain,
the conversion these texts are built on.

Dates: one form per language (``Dec 15, 2026``, ``15 gru 2026``); a service period is written with its first and
its last day included (``prorata.domain.periods.service_days``: the end of a period is exclusive, rule C3), the
same on the portal, the PDF, the e-mails and the e-invoice.

Why here: the portal (``entrypoints``), the PDF and KSeF renderers (``adapters``) and the e-mail texts
(``services``) all need it. Services are the lowest layer that may use Babel (the domain imports no framework),
and the layers above import services freely, while services may not import adapters.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from functools import cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberFormatError, NumberPattern, get_currency_symbol, parse_decimal

from prorata.domain.errors import InvalidInput
from prorata.domain.money import currency_exponent, major_units
from prorata.domain.periods import Granularity, Period, service_days, time_zone

LOCALES = {"pl": "pl_PL", "en": "en_US"}
NBSP = "\xa0"
_SPACES = " \xa0\u202f\u2007"  # what a reader may type or copy between digits and a symbol
_MINUS = "-\u2212"  # ASCII hyphen-minus and the minus sign


@cache
def locale_of(language: str) -> Locale:
    """The Babel locale of a supported language; any other language is refused naming the field (rule X5)."""
    if language not in LOCALES:
        raise InvalidInput(
            "language.unknown",
            f"language: amounts and dates are written in {', '.join(LOCALES)} (got {language!r})",
            rule="X5",
            field="language",
        )
    return Locale.parse(LOCALES[language])


def _needs_space(character: str) -> bool:
    """CLDR currency spacing: a symbol whose edge is neither a symbol (``$``, ``€``) nor a space (``HUF``, ``zł``)
    is kept apart from the digits by a no-break space."""
    return unicodedata.category(character)[0] not in "SZ"


@cache
def _pattern(language: str, currency: str) -> tuple[NumberPattern, str]:
    """The language's currency pattern with exactly the currency's ISO 4217 decimals, and the symbol it prints."""
    locale = locale_of(language)
    exponent = currency_exponent(currency)
    standard = locale.currency_formats["standard"]
    symbol = get_currency_symbol(currency, locale=locale)
    prefix = tuple(p + NBSP if p.endswith("¤") and _needs_space(symbol[-1]) else p for p in standard.prefix)
    suffix = tuple(NBSP + s if s.startswith("¤") and _needs_space(symbol[0]) else s for s in standard.suffix)
    pattern = NumberPattern(
        standard.pattern,
        (prefix[0], prefix[1]),
        (suffix[0], suffix[1]),
        standard.grouping,
        standard.int_prec,
        (exponent, exponent),  # the only change to the language's pattern: the currency's own decimals
        standard.exp_prec,
        standard.exp_plus,
        standard.number_pattern,
    )
    return pattern, symbol


def format_money(amount: int, currency: str, language: str) -> str:
    """``amount`` minor units of ``currency`` as ``language`` writes them: ``1 234,50 zł`` (pl), ``PLN 1,234.50``
    (en), ``1 234,56 HUF`` (pl), ``HUF 1,234.56`` (en), ``IQD 123.456`` (en). Exact: never a float."""
    pattern, _ = _pattern(language, currency)
    text: str = pattern.apply(major_units(amount, currency), locale_of(language), currency=currency,
                              currency_digits=False)  # fmt: skip
    return text


def parse_money(text: object, currency: str, language: str, *, field: str = "amount") -> int:
    """The minor units of an amount written as ``format_money`` writes it (the symbol or the ISO code, either side;
    plain or no-break spaces). More decimals than the currency has, or anything else, is refused naming ``field``."""
    exponent = currency_exponent(currency)
    locale = locale_of(language)
    _, symbol = _pattern(language, currency)
    if not isinstance(text, str):
        raise InvalidInput("money.not_an_amount", f"{field}: expected text, got {type(text).__name__}", rule="X1",
                           field=field)  # fmt: skip
    rest = text.strip(_SPACES)
    for mark in sorted({symbol, currency}, key=len, reverse=True):
        if mark in rest:
            rest = rest.replace(mark, "", 1)
            break
    rest = rest.strip(_SPACES)
    negative = bool(rest) and rest[0] in _MINUS
    rest = rest[1:].strip(_SPACES) if negative else rest
    group = locale.number_symbols["latn"]["group"]
    if group in _SPACES:  # Polish groups with a no-break space; a typed space means the same
        rest = "".join(group if c in _SPACES else c for c in rest)
    try:
        if not rest or not rest[0].isdigit():
            raise NumberFormatError(rest)
        value = parse_decimal(rest, locale, strict=True)
    except NumberFormatError:
        raise InvalidInput(
            "money.not_an_amount",
            f"{field}: {text!r} is not an amount of {currency} as written in {language}",
            rule="X1",
            field=field,
        ) from None
    scaled = value.scaleb(exponent)
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise InvalidInput(
            "money.too_many_decimals",
            f"{field}: {text!r} has more decimals than {currency} allows ({exponent})",
            rule="X1",
            field=field,
        )
    minor = int(scaled)
    return -minor if negative else minor


def format_day(day: date, language: str) -> str:
    """A date as ``language`` writes it in running text and tables: ``Dec 15, 2026``, ``15 gru 2026``."""
    return str(format_date(day, "medium", locale=locale_of(language)))


def format_local_day(at: datetime, zone: str, language: str) -> str:
    """The date of the instant ``at`` in the time zone ``zone`` (rule X2), as ``format_day`` writes it."""
    return format_day(at.astimezone(time_zone(zone)).date(), language)


def format_period(first: date, last: date, language: str) -> str:
    """A span of days, both included: ``Nov 30, 2026 – Dec 29, 2026``; a single day once."""
    if last <= first:
        return format_day(first, language)
    return f"{format_day(first, language)} – {format_day(last, language)}"


def format_service_period(period: Period, zone: str, granularity: Granularity, language: str) -> str:
    """A line's service period ``[start, end)`` with its first and last day in the account's time zone ``zone``
    (rules C3, I5), the last day included as customers read it."""
    first, last = service_days(period, time_zone(zone), granularity)
    return format_period(first, last, language)
