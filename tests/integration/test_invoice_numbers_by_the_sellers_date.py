"""An invoice's number carries the year of its issue date as printed: the seller's date (rule I2).

At 2026-12-31T23:30Z it is already 1 January 2027 in Warsaw: a Polish seller's invoice issued then is dated 2027-01-01
on its PDF and in KSeF, so it is numbered in the 2027 series, whether an order, a renewal or a credit note issued it,
and whatever the buyer's own time zone (here UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.schema import invoices
from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.services.credit_notes import CreditInvoice, credit_invoice
from tests.integration.shop import Shop
from tests.integration.test_billing_run import run

NEW_YEARS_EVE = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(("seller", "year"), [("Europe/Warsaw", 2027), ("UTC", 2026), ("America/New_York", 2026)])
def test_an_order_invoice_is_numbered_in_the_year_of_the_sellers_date(engine: Engine, seller: str, year: int) -> None:
    shop = Shop(engine, seller_time_zone=seller)
    shop.clock.at = NEW_YEARS_EVE
    placed = shop.order(ChangePlan("pro", 2), key="buy")
    assert placed.invoice_number == f"INV-{year}-000001"


def test_a_renewal_and_a_credit_note_issued_then_are_numbered_in_the_sellers_year(engine: Engine) -> None:
    shop = Shop(engine, seller_time_zone="Europe/Warsaw")
    shop.clock.at = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # Dec 1 in Warsaw, still Nov 30 in UTC
    assert shop.order(ChangePlan("pro", 2), key="buy").invoice_number == "INV-2026-000001"
    shop.order(SetLicenses(3), key="more")

    report = run(shop, NEW_YEARS_EVE)  # the renewal of the period that ends on Dec 30 (UTC) is issued on Dec 31

    assert report.invoices == ["INV-2027-000001"]
    shop.clock.at = NEW_YEARS_EVE
    note = credit_invoice(CreditInvoice("INV-2026-000002", "operator", "test"), uow=shop.uow, clock=shop.clock)
    assert note.number == "CN-2027-000001"
    with engine.connect() as conn:
        years = conn.execute(select(invoices.c.year).where(invoices.c.number.is_not(None))).scalars().all()
    assert sorted(years) == [2026, 2026, 2027, 2027]
