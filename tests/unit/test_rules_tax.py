"""Tax: the buyer's country decides the rate, EU businesses reverse-charge, tax per rounded line (rules T1-T3)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prorata.catalogs import default_tax_rules
from prorata.domain.account import Charge
from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.domain.engine import quote, renew
from prorata.domain.errors import CatalogError
from prorata.domain.invoice_lines import LineKind
from prorata.domain.periods import Interval
from prorata.domain.tax import NO_TAX, TaxBuyer, TaxDecision, decide, line_tax, parse_tax_toml, rate_text
from tests.helpers import CATALOG, account, price, sub, t

RULES = default_tax_rules()
PRO_5 = sub("plan", "pro", 5, "2026-11-01", "2026-12-01", assigned=4)


def half_up(amount: int, rate: int) -> int:
    """An independent model of rule T3: amount x rate / 100 %, rounded half away from zero by Decimal."""
    return int((Decimal(amount) * Decimal(rate) / Decimal(10_000)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_a_polish_buyer_of_a_polish_seller_pays_23_percent() -> None:
    # rule T1: same country as the seller -> its standard rate
    decision = decide(RULES, TaxBuyer("PL", "1234563218"))
    assert decision == TaxDecision(2300, "PL")
    q = quote(account(), CATALOG, t("2026-11-15T13:00"), [ChangePlan("pro", 2)], tax=decision)
    (line,) = q.lines
    assert (line.tax_rate, line.tax) == (2300, half_up(line.amount, 2300))
    assert q.tax == line.tax
    assert q.total == q.subtotal + q.tax == q.amount_due


def test_a_german_business_with_a_vat_number_is_reverse_charged() -> None:
    # rule T2: 0 % and the note
    decision = decide(RULES, TaxBuyer("DE", "DE123456788"))
    assert (decision.rate, decision.reverse_charge) == (0, True)
    assert "Reverse charge" in RULES.note("en")
    assert "Odwrotne obciążenie" in RULES.note("pl")
    q = quote(account(), CATALOG, t("2026-11-15T13:00"), [ChangePlan("pro", 2)], tax=decision)
    assert q.tax == 0
    assert q.tax_decision.reverse_charge


def test_a_german_consumer_pays_the_german_standard_rate() -> None:
    # rule T1: an EU consumer pays their own country's standard rate
    decision = decide(RULES, TaxBuyer("DE"))
    assert decision == TaxDecision(1900, "DE")
    q = quote(account(), CATALOG, t("2026-11-15T13:00"), [ChangePlan("pro", 3)], tax=decision)
    assert q.tax == half_up(q.subtotal, 1900) > 0


def test_a_buyer_outside_the_eu_pays_no_tax_even_with_a_tax_id() -> None:
    # rule T1: 0 % outside the EU
    assert decide(RULES, TaxBuyer("US")) == TaxDecision(0, "US")
    assert decide(RULES, TaxBuyer("US", "12-3456789")) == TaxDecision(0, "US")


def test_a_zero_rate_changes_no_amount() -> None:
    # the engine without tax and with a 0 % decision produce the same money
    cart = [ChangePlan("business", 10)]
    untaxed = quote(account(PRO_5, balance=500), CATALOG, t("2026-11-15T10:00"), cart)
    zero = quote(account(PRO_5, balance=500), CATALOG, t("2026-11-15T10:00"), cart, tax=TaxDecision(0, "US"))
    assert [(line.amount, line.tax) for line in zero.lines] == [(line.amount, 0) for line in untaxed.lines]
    assert (zero.subtotal, zero.total, zero.credit_used, zero.amount_due) == (
        untaxed.subtotal, untaxed.subtotal, untaxed.credit_used, untaxed.amount_due
    )  # fmt: skip


def test_a_credit_reverses_tax_at_the_rate_its_charge_paid_not_at_todays_rate() -> None:
    # rule T3: the Pro period was charged at 23 %; the buyer now pays 19 %
    charged = 5 * price("pro")
    pro = sub("plan", "pro", 5, "2026-11-01", "2026-12-01", assigned=4)
    pro = pro.evolve(charges=(Charge(charged, t("2026-11-01"), t("2026-12-01"), 2300),))
    q = quote(account(pro), CATALOG, t("2026-11-15T10:00"), [ChangePlan("business", 10)], tax=TaxDecision(1900, "DE"))
    credit, charge = q.lines
    assert credit.kind is LineKind.CREDIT
    assert (credit.tax_rate, credit.tax) == (2300, half_up(credit.amount, 2300))
    assert credit.tax < 0
    assert (charge.tax_rate, charge.tax) == (1900, half_up(charge.amount, 1900))
    assert q.total == credit.amount + credit.tax + charge.amount + charge.tax
    # the new period's charge remembers its rate for the next credit
    assert q.account.subscriptions[0].charges[-1].tax_rate == 1900


def test_after_a_sold_to_change_each_charge_is_reversed_at_its_own_rate_rounded_half_up_per_rate() -> None:
    # rule T3: Pro x 5 charged 39.97 for Nov 1 - Dec 1 at 23 % (Poland); on Nov 10 the buyer moved to a German
    # business (reverse charge, 0 %) and added 2 licenses: 10.66 for Nov 10 - Dec 1 at 0 %. Upgraded on Nov 15, each
    # charge's unused share is credited on a line of its own and its tax reversed at that charge's rate:
    #   23 %: 3997 x 16/30 = 2131.73 -> 2132, tax 2132 x 23 % = 490.36 -> 490 (half up)
    #    0 %: 1066 x 16/21 =  812.19 ->  812, tax 0
    # Reversing both at the latest charge's 0 % would have given the buyer back no tax at all.
    pro = sub("plan", "pro", 7, "2026-11-01", "2026-12-01", assigned=4).evolve(
        charges=(
            Charge(3997, t("2026-11-01"), t("2026-12-01"), 2300),
            Charge(1066, t("2026-11-10"), t("2026-12-01"), 0),
        )
    )
    q = quote(account(pro), CATALOG, t("2026-11-15T10:00"), [ChangePlan("business", 10)],
              tax=TaxDecision(0, "DE", reverse_charge=True))  # fmt: skip
    credits = [line for line in q.lines if line.kind is LineKind.CREDIT]
    assert [(c.tax_rate, c.amount, c.tax, c.basis) for c in credits] == [(2300, -2132, -490, 3997), (0, -812, 0, 1066)]
    assert half_up(-2132, 2300) == -490


def test_back_from_reverse_charge_the_untaxed_charge_is_reversed_without_tax() -> None:
    # rule T3, the other way: a period charged at 0 % (reverse charge), licenses added after moving to Poland at 23 %
    pro = sub("plan", "pro", 6, "2026-11-01", "2026-12-01", assigned=4).evolve(
        charges=(
            Charge(4000, t("2026-11-01"), t("2026-12-01"), 0),
            Charge(555, t("2026-11-05"), t("2026-12-01"), 2300),
        )
    )
    q = quote(account(pro), CATALOG, t("2026-11-15T10:00"), [ChangePlan("business", 10)], tax=TaxDecision(2300, "PL"))
    credits = [line for line in q.lines if line.kind is LineKind.CREDIT]
    # 0 %: 4000 x 16/30 = 2133.33 -> 2133, no tax; 23 %: 555 x 16/26 = 341.54 -> 342, tax 342 x 23 % = 78.66 -> 79
    assert [(c.tax_rate, c.amount, c.tax) for c in credits] == [(0, -2133, 0), (2300, -342, -79)]


def test_a_negative_total_credits_the_tax_it_reverses_to_the_balance() -> None:
    # rules T3, C2: the unused part was paid with tax, so the balance gets it back with tax
    yearly = sub("plan", "business", 10, "2026-01-01", "2027-01-01", interval=Interval.YEAR)
    yearly = yearly.evolve(charges=(Charge(yearly.charged(), t("2026-01-01"), t("2027-01-01"), 2300),))
    q = quote(account(yearly), CATALOG, t("2026-03-01"), [ChangePlan("business", 10, Interval.MONTH)],
              tax=TaxDecision(2300, "PL"))  # fmt: skip
    assert q.total < 0
    assert q.credit_added == -q.total == -sum(line.amount + line.tax for line in q.lines)


def test_a_renewal_is_taxed_at_the_buyers_rate() -> None:
    # rules T1, C7
    q = renew(account(PRO_5), CATALOG, t("2026-12-01"), tax=TaxDecision(2300, "PL"))
    (line,) = q.lines
    assert line.tax == half_up(5 * price("pro"), 2300)
    assert q.amount_due == line.amount + line.tax


def test_a_license_increase_is_taxed_on_its_own_rounded_line() -> None:
    # rules L2, T3: one line for the added seats, its tax on that line's rounded amount
    q = quote(account(PRO_5), CATALOG, t("2026-11-15T10:00"), [SetLicenses(7)], tax=TaxDecision(2300, "PL"))
    (line,) = q.lines
    assert line.tax == half_up(line.amount, 2300)


@given(amount=st.integers(-(10**12), 10**12), rate=st.integers(0, 10_000))
def test_the_tax_of_a_line_is_its_rounded_amount_times_the_rate_half_up(amount: int, rate: int) -> None:
    # rule T3, against an independent Decimal model
    assert line_tax(amount, rate) == half_up(amount, rate)


def test_rates_are_exact_basis_points_and_printed_without_floats() -> None:
    # rule T1: 25.5 % (Finland) is 2550 basis points
    assert RULES.rates["FI"] == 2550
    assert RULES.rates["PL"] == 2300
    assert RULES.seller.country == "PL"
    assert (rate_text(2550), rate_text(2300), rate_text(0), rate_text(805)) == ("25.5 %", "23 %", "0 %", "8.05 %")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[seller]\ncountry = "PL"\n[rates]\nPL = 23.0\n', "rates.PL"),
        ('[seller]\ncountry = "PL"\n[rates]\nPL = "23.001"\n', "rates.PL"),
        ('[seller]\ncountry = "PL"\n[rates]\nPL = "123"\n', "rates.PL"),
        ('[rates]\nPL = "23"\n', "seller.country"),
        ('[seller]\ncountry = "Poland"\n', "seller.country"),
        ('[seller]\ncountry = "PL"\ntime_zone = "Europe/Warszawa"\n', "seller.time_zone"),
        ('[seller]\ncountry = "PL"\ntime_zone = 1\n', "seller.time_zone"),
    ],
)
def test_a_broken_tax_file_is_refused_with_the_field_named(text: str, field: str) -> None:
    # rule T1: rates come from configuration, exactly; a float rate is refused like a float amount (X1)
    with pytest.raises(CatalogError) as error:
        parse_tax_toml(text, source="tax.toml")
    assert error.value.field == field
    assert field in error.value.message


def test_a_seller_outside_the_eu_still_charges_eu_consumers_their_rate() -> None:
    # rule T1: the buyer's country decides; the seller's own country pays the seller's rate (none here)
    rules = parse_tax_toml('[seller]\ncountry = "US"\n[rates]\nDE = "19"\n', source="<test>")
    assert decide(rules, TaxBuyer("US")) == TaxDecision(0, "US")
    assert decide(rules, TaxBuyer("DE")) == TaxDecision(1900, "DE")
    assert decide(rules, TaxBuyer("DE", "DE123456788")) == TaxDecision(0, "DE", reverse_charge=True)
    assert TaxDecision(0) == NO_TAX


def test_the_seller_keeps_its_own_time_zone_for_the_dates_of_its_invoices() -> None:
    # rule I2: the issue date (and the year of the number) is the seller's date; UTC when the file names none
    assert RULES.seller.time_zone == "Europe/Warsaw"
    assert parse_tax_toml('[seller]\ncountry = "US"\n', source="<test>").seller.time_zone == "UTC"
