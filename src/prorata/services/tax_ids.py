"""Tax identification numbers on contacts: Polish NIP and EU VAT numbers, checked by python-stdnum (rule T2).

The check is a pure computation (format and check digits), so it runs here, beside the contact form's other checks,
rather than behind a port; the domain stays standard-library only. A registry check (VIES) needs the network and
would be a port of its own.
"""

from __future__ import annotations

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.pl import nip

from prorata.domain.errors import InvalidInput

# ISO 3166 country -> the prefix of its VAT numbers (Greece writes EL)
_VAT_PREFIX = {code.upper(): code.upper() for code in eu_vat.MEMBER_STATES if code != "xi"} | {"GR": "EL"}


def is_eu(country: str) -> bool:
    return country.upper() in _VAT_PREFIX


def check_tax_id(country: str, tax_id: str, *, field: str) -> str:
    """The number in its compact form (``PL`` NIP: ten digits; EU VAT: with its country prefix), or a refusal that
    names ``field``. Numbers of countries outside the EU are kept as entered."""
    country = country.upper()
    text = tax_id.strip()
    if not is_eu(country):
        return text
    prefix = _VAT_PREFIX[country]
    try:
        if country == "PL":
            number = nip.compact(text)
            nip.validate(number)
            return number
        number = "".join(text.split()).upper()
        if not number[:2].isalpha():
            number = prefix + number
        if number[:2] != prefix:
            raise InvalidInput(
                "contact.tax_id_country",
                f"{field}: {text!r} is a VAT number of {number[:2]}, not of {country} (the contact's country)",
                rule="T2",
                field=field,
                number=text,
                prefix=number[:2],
                country=country,
            )
        return str(eu_vat.validate(number))
    except ValidationError as error:
        kind = "NIP" if country == "PL" else "VAT number"
        raise InvalidInput(
            "contact.tax_id",
            f"{field}: {text!r} is not a valid {kind} of {country} ({str(error).rstrip('.').lower()})",
            rule="T2",
            field=field,
            number=text,
            country=country,
            kind="nip" if country == "PL" else "vat",
        ) from None
