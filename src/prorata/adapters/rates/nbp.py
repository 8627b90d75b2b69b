"""The National Bank of Poland's table A of average exchange rates, read from the files the bank publishes.

Two forms are read, each as the bank writes it:

- the XML file of one table (``https://static.nbp.pl/dane/kursy/xml/a233z261201.xml``): ``tabela_kursow`` with
  ``numer_tabeli``, ``data_publikacji`` and a ``pozycja`` per currency (``kod_waluty``, ``przelicznik``,
  ``kurs_sredni`` with a decimal comma);
- the JSON of the bank's web API (``https://api.nbp.pl/api/exchangerates/tables/A/2026-11-02/2026-11-30/?format=json``):
  a list of tables, each with ``table``, ``no``, ``effectiveDate`` and ``rates`` (``code``, ``mid``).

A file is refused whole, with what is wrong in it, rather than read in part. A DOCTYPE is refused unread: the bank's
files have none, and an entity declaration is how an XML file swells in memory.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from prorata.domain.errors import InvalidInput
from prorata.domain.exchange_rates import ExchangeRate

MAX_FILE_BYTES = 20 * 1024 * 1024


def _refused(source: str, what: str) -> InvalidInput:
    return InvalidInput("rates.file", f"{source}: {what}", field="file", file=source)


def _mid(text: object, source: str, where: str) -> Decimal:
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except InvalidOperation:
        raise _refused(source, f"{where}: {text!r} is not a rate") from None
    if not value.is_finite() or value <= 0:
        raise _refused(source, f"{where}: {text!r} is not a rate")
    return value


def _day(text: object, source: str, where: str) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise _refused(source, f"{where}: {text!r} is not a date (YYYY-MM-DD)") from None


def _table_a(number: str, source: str) -> str:
    if "/A/" not in number:
        raise _refused(source, f"table {number!r} is not a table A of average rates")
    return number


def parse_table_file(content: bytes, source: str) -> list[ExchangeRate]:
    """Every rate of every table in ``content`` (XML of one table, or the web API's JSON)."""
    if len(content) > MAX_FILE_BYTES:
        raise _refused(source, f"larger than {MAX_FILE_BYTES} bytes")
    head = content.lstrip()[:1]
    rates = _from_json(content, source) if head in (b"[", b"{") else _from_xml(content, source)
    if not rates:
        raise _refused(source, "no rates in it")
    return rates


def _from_xml(content: bytes, source: str) -> list[ExchangeRate]:
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in content.upper():
        raise _refused(source, "an XML file with a DOCTYPE is not one of the bank's tables")
    try:
        root = ET.fromstring(content)
    except ET.ParseError as error:
        raise _refused(source, f"not XML ({error})") from None
    if root.tag != "tabela_kursow":
        raise _refused(source, f"not a table of the National Bank of Poland (its root is {root.tag!r})")
    number = _table_a((root.findtext("numer_tabeli") or "").strip(), source)
    day = _day(root.findtext("data_publikacji"), source, "data_publikacji")
    out = []
    for position in root.iter("pozycja"):
        code = (position.findtext("kod_waluty") or "").strip().upper()
        units = (position.findtext("przelicznik") or "1").strip()
        if len(code) != 3 or not code.isalpha() or not units.isdigit() or int(units) < 1:
            raise _refused(source, f"pozycja {code!r}: a currency code and a whole przelicznik are required")
        mid = _mid(position.findtext("kurs_sredni"), source, f"{code} kurs_sredni")
        out.append(ExchangeRate(code, day, number, mid, int(units)))
    return out


def _from_json(content: bytes, source: str) -> list[ExchangeRate]:
    try:
        data: Any = json.loads(content, parse_float=Decimal)  # the rates stay exact decimals
    except (ValueError, UnicodeDecodeError) as error:
        raise _refused(source, f"not JSON ({error})") from None
    tables: Iterable[Any] = data if isinstance(data, list) else [data]
    out = []
    for table in tables:
        if not isinstance(table, dict) or not isinstance(table.get("rates"), list):
            raise _refused(source, "each table needs its rates")
        if table.get("table") != "A":
            raise _refused(source, f"table {table.get('no')!r} is not a table A of average rates")
        number = _table_a(str(table.get("no", "")), source)
        day = _day(table.get("effectiveDate"), source, "effectiveDate")
        for rate in table["rates"]:
            code = str(rate.get("code", "")).upper() if isinstance(rate, dict) else ""
            if len(code) != 3 or not code.isalpha():
                raise _refused(source, f"table {number}: a rate without a currency code")
            out.append(ExchangeRate(code, day, number, _mid(rate.get("mid"), source, f"{code} mid")))
    return out
