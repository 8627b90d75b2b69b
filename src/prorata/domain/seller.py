"""The seller: who issues the invoices, as every document and billing e-mail names it (rules I2, I5, T1).

The seller's identity (name, address, tax ID, country, e-mail, time zone), its bank account (IBAN and, optionally,
SWIFT/BIC and the bank's name) and the footer text in each language come from the ``[seller]`` section of the tax
configuration (``catalogs/tax.toml``, or the operator's ``PRORATA_TAX`` file), parsed in ``domain/tax.py``. The logo
is a PNG or JPEG file the configuration names; ``prorata.catalogs`` reads and checks it, and documents draw it
(``Logo``). Nothing here reads a file.

An IBAN is checked as ISO 13616 says: two letters of a country, two check digits, the account (BBAN) of the length
that country's IBANs have, and the remainder 1 when the number is divided by 97.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# the length of every IBAN of a country, for the countries of the SEPA area and a few more (ISO 13616 registry); an
# IBAN of a country not listed is held to the checksum and the general form only
IBAN_LENGTHS: Mapping[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
    "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18,
    "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23,
    "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
MAX_FOOTER = 500  # characters of footer text in one language: a few lines at the foot of each page
LOGO_TYPES = ("png", "jpeg")


def compact_iban(text: str) -> str:
    """An IBAN as typed (``PL61 1090 1014 ...``) in its electronic form: no spaces, upper case."""
    return "".join(text.split()).upper()


def iban_problem(iban: str) -> str | None:
    """Why ``iban`` (in its electronic form) is not an IBAN, or None."""
    if not _IBAN.fullmatch(iban):
        return "two letters of a country, two check digits and the account number (letters and digits)"
    length = IBAN_LENGTHS.get(iban[:2])
    if length is not None and len(iban) != length:
        return f"an IBAN of {iban[:2]} has {length} characters, this one {len(iban)}"
    number = int("".join(str(int(char, 36)) for char in iban[4:] + iban[:4]))  # letters count A=10 ... Z=35
    if number % 97 != 1:
        return "its check digits do not match the account number (a mistyped character?)"
    return None


def bic_problem(bic: str) -> str | None:
    """Why ``bic`` (upper case) is not a SWIFT/BIC code, or None: 8 or 11 characters, bank, country, location."""
    if not _BIC.fullmatch(bic):
        return "8 or 11 letters and digits: the bank (4 letters), its country (2), its location (2) and a branch (3)"
    return None


def group_iban(iban: str) -> str:
    """The IBAN printed in groups of four, as banks print it: ``PL61 1090 1014 0000 0712 1981 2874``."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


@dataclass(frozen=True, slots=True)
class BankAccount:
    """Where a customer paying by bank transfer sends the money."""

    iban: str  # electronic form: upper case, no spaces (checked)
    swift: str = ""  # SWIFT/BIC, upper case (checked), or empty
    bank_name: str = ""

    @property
    def printed_iban(self) -> str:
        return group_iban(self.iban)


@dataclass(frozen=True, slots=True)
class Seller:
    """Who issues the invoices: printed on every document, and the country that decides domestic tax."""

    country: str
    name: str = ""
    address: tuple[str, ...] = ()
    tax_id: str = ""
    email: str = ""
    # the seller's own time zone: an invoice's issue date, and so the year of its number, is the seller's date
    # (rule I2), whatever the buyer's time zone
    time_zone: str = "UTC"
    bank: BankAccount | None = None
    footer: Mapping[str, str] = field(default_factory=dict)  # language -> the text at the foot of each page

    def footer_in(self, language: str) -> str:
        """The footer in ``language``; a seller that wrote it in one language only has it in every document."""
        return self.footer.get(language) or self.footer.get("en") or next(iter(self.footer.values()), "")


@dataclass(frozen=True, slots=True)
class Logo:
    """The seller's logo as documents draw it: a PNG or JPEG image, checked when the configuration was read."""

    data: bytes = field(repr=False)
    kind: str  # png or jpeg
    width: int  # pixels
    height: int

    @property
    def media_type(self) -> str:
        return f"image/{self.kind}"
