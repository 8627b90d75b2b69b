"""NIP and EU VAT numbers on contacts, checked with python-stdnum (rule T2)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prorata.domain.errors import InvalidInput
from prorata.services.billing_information import Contact, check_contact
from prorata.services.tax_ids import check_tax_id

CONTACT = Contact("Anna Nowak", "anna@acme.pl", "ul. Długa 1", "Gdańsk", "80-001", "PL")


@pytest.mark.parametrize(
    ("country", "entered", "kept"),
    [("PL", "123-456-32-18", "1234563218"), ("PL", "PL 1234563218", "1234563218"), ("DE", "123456788", "DE123456788"),
     ("DE", "de 123 456 788", "DE123456788"), ("GR", "090000045", "EL090000045"), ("US", "12-3456789", "12-3456789")],
)  # fmt: skip
def test_valid_numbers_are_kept_in_compact_form(country: str, entered: str, kept: str) -> None:
    # rule T2; outside the EU a tax ID is kept as entered (nothing to check it against)
    assert check_tax_id(country, entered, field="sold_to.tax_id") == kept


@pytest.mark.parametrize(
    ("country", "entered", "code"),
    [("PL", "1234563219", "contact.tax_id"), ("PL", "12345", "contact.tax_id"), ("DE", "DE123456789", "contact.tax_id"),
     ("DE", "FR40303265045", "contact.tax_id_country")],
)  # fmt: skip
def test_a_wrong_number_is_refused_naming_the_field_and_the_rule(country: str, entered: str, code: str) -> None:
    with pytest.raises(InvalidInput) as error:
        check_tax_id(country, entered, field="bill_to.tax_id")
    assert (error.value.code, error.value.field, error.value.rule) == (code, "bill_to.tax_id", "T2")
    assert error.value.message.startswith("bill_to.tax_id: ")


def test_the_bill_to_form_refuses_an_invalid_nip_and_keeps_a_valid_one_compact() -> None:
    # rule T2 at the form: the field is named as the form names it
    with pytest.raises(InvalidInput) as error:
        check_contact(replace(CONTACT, tax_id=("526-000-00-00")), prefix="bill_to")
    assert error.value.field == "bill_to.tax_id"
    checked = check_contact(replace(CONTACT, tax_id=(" 123-456-32-18 ")), prefix="bill_to")
    assert checked.tax_id == "1234563218"
    assert check_contact(replace(CONTACT, tax_id=("  ")), prefix="bill_to").tax_id is None
