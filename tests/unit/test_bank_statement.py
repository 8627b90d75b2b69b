"""Reading a CAMT.053 bank statement (rule NT1): the credit entries, and a statement that is refused whole."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from prorata.domain.bank_statement import parse_camt053
from prorata.domain.errors import InvalidInput
from prorata.domain.payment_terms import find_invoice_number, parse_thresholds

SAMPLE = Path(__file__).parents[1] / "fixtures" / "camt" / "statement-2026-11-16.xml"


def test_the_sample_statement_lists_its_three_credit_entries_and_not_the_debit() -> None:
    # rule NT1: only money received is a customer's payment
    entries = parse_camt053(SAMPLE.read_bytes())

    assert [(e.bank_reference, e.amount, e.currency) for e in entries] == [
        ("BANK-20261115-0001", 6597, "USD"), ("BANK-20261115-0002", 12000, "USD"), ("BANK-20261115-0003", 1000, "USD"),
    ]  # fmt: skip
    assert entries[0].booked_on == date(2026, 11, 15)
    assert find_invoice_number(entries[0].remittance) == "INV-2026-000002"
    assert find_invoice_number(entries[2].remittance) is None


@pytest.mark.parametrize(
    "declaration",
    ['<!DOCTYPE Document [<!ENTITY a "aaaa">]>', '<!DOCTYPE Document SYSTEM "file:///etc/passwd">'],
)
def test_a_statement_with_a_doctype_or_an_entity_is_refused_before_it_is_parsed(declaration: str) -> None:
    # rule NT1: an entity expands or reads files; a bank's statement has none
    data = SAMPLE.read_bytes().replace(b"<Document ", declaration.encode() + b"<Document ", 1)

    with pytest.raises(InvalidInput) as refused:
        parse_camt053(data)

    assert (refused.value.code, refused.value.field) == ("bank_statement.invalid", "statement")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"<Document><unclosed></Document>", "well-formed"),
        (b"<Document><Other/></Document>", "CAMT.053"),
        (SAMPLE.read_bytes().replace(b">65.97<", b">65.975<"), "positive amount"),
        (SAMPLE.read_bytes().replace(b"<Dt>2026-11-15</Dt></BookgDt>", b"<Dt>tomorrow</Dt></BookgDt>", 1), "date"),
    ],
)
def test_a_statement_that_cannot_be_read_is_refused_naming_what_is_wrong(data: bytes, says: str) -> None:
    # rules NT1, X4: nothing half-read
    with pytest.raises(InvalidInput) as refused:
        parse_camt053(data)

    assert says in str(refused.value)


def test_thresholds_are_read_in_major_units_per_currency_and_a_bad_one_is_refused_by_name() -> None:
    # rule NT1: 250 USD, or the configured equivalent
    assert parse_thresholds("USD=250, PLN=1000.50", field="X").minimum == {"USD": 25000, "PLN": 100050}
    with pytest.raises(InvalidInput) as refused:
        parse_thresholds("USD=2.505", field="PRORATA_TERMS_THRESHOLDS")
    assert refused.value.field == "PRORATA_TERMS_THRESHOLDS"
