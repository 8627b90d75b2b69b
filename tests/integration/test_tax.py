"""Tax on orders and renewals, from the Sold-To contact, on SQLite and PostgreSQL (rules T1-T3, C6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.schema import contacts, invoice_lines, invoices, payments, subscription_charges
from prorata.domain.cart import ChangePlan
from prorata.domain.errors import ProrataError
from prorata.domain.tax import line_tax
from prorata.services.billing_information import Contact, set_contacts
from prorata.services.preview_order import PreviewOrder, preview_order
from prorata.services.renew_due import RenewDue, renew_due
from tests.helpers import CATALOG
from tests.integration.shop import Shop

PL_COMPANY = Contact("Anna Nowak", "anna@acme.pl", "ul. Długa 1", "Gdańsk", "80-001", "PL", company="Acme Sp. z o.o.",
                     tax_id="123-456-32-18")  # fmt: skip
DE_COMPANY = Contact("Eva Braun", "eva@firma.de", "Hauptstr. 1", "Berlin", "10115", "DE", company="Firma GmbH",
                     tax_id="DE 123 456 788")  # fmt: skip
DE_CONSUMER = replace(DE_COMPANY, company=None, tax_id=None)


def invoice(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(select(invoices).order_by(invoices.c.id.desc()).limit(1)).mappings().one()
        return dict(row)


def lines(engine: Engine, invoice_id: object) -> list[tuple[int, int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(invoice_lines.c.amount, invoice_lines.c.tax_rate, invoice_lines.c.tax)
            .where(invoice_lines.c.invoice_id == invoice_id)
            .order_by(invoice_lines.c.position)
        )
        return [(r.amount, r.tax_rate, r.tax) for r in rows]


def test_a_polish_buyer_is_invoiced_and_charged_23_percent_on_each_line(engine: Engine) -> None:
    # rules T1, T3: the card is charged the total, tax included
    shop = Shop(engine)
    set_contacts(shop.account_id, PL_COMPANY, None, uow=shop.uow, clock=shop.clock)
    assert shop.order(ChangePlan("pro", 3)).status == "placed"
    row = invoice(engine)
    ((amount, rate, tax),) = lines(engine, row["id"])
    assert (rate, tax) == (2300, line_tax(amount, 2300))
    assert (row["subtotal"], row["tax"], row["total"], row["amount_due"]) == (amount, tax, amount + tax, 0)
    assert (row["tax_country"], row["reverse_charge"]) == ("PL", False)
    with engine.connect() as conn:
        assert conn.execute(select(payments.c.amount)).scalar_one() == amount + tax
        assert conn.execute(select(subscription_charges.c.tax_rate)).scalar_one() == 2300


def test_a_german_business_with_a_valid_vat_number_is_reverse_charged(engine: Engine) -> None:
    # rule T2: 0 % and the invoice marked for the note; the VAT number is kept in compact form
    shop = Shop(engine)
    set_contacts(shop.account_id, DE_COMPANY, None, uow=shop.uow, clock=shop.clock)
    shop.order(ChangePlan("pro", 3))
    row = invoice(engine)
    assert (row["tax"], row["total"], row["tax_country"], row["reverse_charge"]) == (0, row["subtotal"], "DE", True)
    with engine.connect() as conn:
        assert conn.execute(select(contacts.c.tax_id).where(contacts.c.kind == "sold_to")).scalar_one() == (
            "DE123456788"
        )


def test_a_german_consumer_pays_19_percent_and_the_preview_shows_exactly_that(engine: Engine) -> None:
    # rules T1, C6: the preview is taxed as the order will be
    shop = Shop(engine)
    set_contacts(shop.account_id, DE_CONSUMER, None, uow=shop.uow, clock=shop.clock)
    preview = preview_order(PreviewOrder(shop.account_id, (ChangePlan("pro", 3),)), uow=shop.uow, clock=shop.clock,
                            catalog=CATALOG)  # fmt: skip
    shop.order(ChangePlan("pro", 3))
    row = invoice(engine)
    assert preview.tax == line_tax(preview.subtotal, 1900) == row["tax"]
    assert preview.amount_due == shop.paid_for(row["id"])


def test_a_buyer_without_contacts_is_taxed_by_the_accounts_country(engine: Engine) -> None:
    # rule T1: the shop's account is in the US and has no Sold-To contact: 0 %
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3))
    row = invoice(engine)
    assert (row["tax"], row["tax_country"]) == (0, "US")


def test_a_renewal_is_taxed_and_a_later_credit_reverses_the_rate_its_charge_paid(engine: Engine) -> None:
    # rules C7, T1, T3: renewed at 23 % as a Polish business; then the buyer moves to Germany as a consumer and
    # upgrades: the unused Pro time is credited at 23 %, Business charged at 19 %
    shop = Shop(engine)
    set_contacts(shop.account_id, replace(PL_COMPANY, tax_id=None), None, uow=shop.uow, clock=shop.clock)
    shop.order(ChangePlan("pro", 3))
    shop.clock.at = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
    renew_due(RenewDue(shop.clock.at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
              catalog=CATALOG, dunning=shop.dunning)  # fmt: skip
    ((amount, rate, tax),) = lines(engine, invoice(engine)["id"])
    assert (rate, tax) == (2300, line_tax(amount, 2300))
    set_contacts(shop.account_id, DE_CONSUMER, None, uow=shop.uow, clock=shop.clock)
    shop.clock.at = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
    assert shop.order(ChangePlan("business", 10), key="k2").status == "placed"
    (credit, credit_rate, credit_tax), (charge, charge_rate, charge_tax) = lines(engine, invoice(engine)["id"])
    assert (credit_rate, credit_tax) == (2300, line_tax(credit, 2300))
    assert credit < 0
    assert (charge_rate, charge_tax) == (1900, line_tax(charge, 1900))


@pytest.mark.parametrize(
    ("kind", "contact", "field"),
    [("bill_to", replace(PL_COMPANY, tax_id="123-456-32-19"), "bill_to.tax_id"),
     ("sold_to", replace(DE_COMPANY, tax_id="DE123456789"), "sold_to.tax_id"),
     ("sold_to", replace(DE_COMPANY, tax_id="PL1234563218"), "sold_to.tax_id")],
)  # fmt: skip
def test_an_invalid_nip_or_vat_number_is_refused_with_the_field_named_and_nothing_written(
    engine: Engine, kind: str, contact: Contact, field: str
) -> None:
    # rules T2, X4
    shop = Shop(engine)
    sold_to, bill_to = (PL_COMPANY, contact) if kind == "bill_to" else (contact, None)
    with pytest.raises(ProrataError) as error:
        set_contacts(shop.account_id, sold_to, bill_to, uow=shop.uow, clock=shop.clock)
    assert (error.value.field, error.value.rule) == (field, "T2")
    assert field in error.value.message
    assert shop.count(contacts) == 0
