"""Billing cycles and proration: interval switches, the fraction, one rounding per line, credits from what was
charged, preview equals charge, renewals (rules C1-C7)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from prorata.domain.account import Charge, Pending, PendingKind
from prorata.domain.cart import AddAddon, ChangeInterval, ChangePlan, SetLicenses
from prorata.domain.engine import next_billing_date, quote, renew
from prorata.domain.errors import InvalidInput
from prorata.domain.invoice_lines import LineKind
from prorata.domain.periods import Granularity, Interval, Period
from tests.helpers import CATALOG, account, amounts, price, sub, t

MONTHLY = sub("plan", "business", 10, "2026-11-01", "2026-12-01")
YEARLY = sub("plan", "business", 10, "2026-03-01", "2027-03-01", interval=Interval.YEAR)


def test_monthly_to_yearly_credits_the_unused_month_and_starts_a_year_now() -> None:
    # rule C1
    q = quote(account(MONTHLY), CATALOG, t("2026-11-15T11:00"), [ChangeInterval(Interval.YEAR)])

    credit, charge = q.lines
    assert credit.amount == -((10 * price("business") * 16 + 15) // 30)
    assert charge.amount == 10 * price("business", Interval.YEAR)
    assert charge.period == Period(t("2026-11-15"), t("2027-11-15"))
    assert q.amount_due == charge.amount + credit.amount
    assert q.account.subscriptions[0].interval is Interval.YEAR


def test_yearly_to_monthly_credits_the_unused_year_to_the_balance_which_pays_the_months() -> None:
    # rule C2: Mar 1 2026 - Mar 1 2027 has 365 days; Nov 15 leaves 106 of them
    q = quote(account(YEARLY), CATALOG, t("2026-11-15"), [ChangeInterval(Interval.MONTH)])

    credit, charge = q.lines
    unused = (10 * price("business", Interval.YEAR) * 106 + 182) // 365
    assert (credit.used, credit.whole) == (106, 365)
    assert credit.amount == -unused
    assert charge.amount == 10 * price("business")
    assert (q.amount_due, q.credit_added) == (0, unused - charge.amount)
    renewal = renew(q.account, CATALOG, t("2026-12-15"))
    assert renewal.credit_used == 10 * price("business")
    assert renewal.amount_due == 0


def test_an_interval_switch_moves_the_add_ons_to_the_new_billing_date() -> None:
    # rules C1 and A5: the add-on's unused part is credited and it restarts with the plan
    addon = sub("w", "webinar_500", 2, "2026-11-01", "2026-12-01")
    q = quote(account(MONTHLY, addon), CATALOG, t("2026-11-15"), [ChangeInterval(Interval.YEAR)])

    assert [(line.subscription, line.kind) for line in q.lines] == [
        ("plan", LineKind.CREDIT),
        ("plan", LineKind.CHARGE),
        ("w", LineKind.CREDIT),
        ("w", LineKind.CHARGE),
    ]
    moved = q.account.subscriptions[1]
    assert moved.interval is Interval.MONTH
    assert moved.period == Period(t("2026-11-15"), t("2026-12-15"))
    assert q.lines[3].amount == 2 * price("webinar_500")


def test_the_fraction_is_days_in_the_account_time_zone() -> None:
    # rule C3: 23:30 UTC on Nov 14 is Nov 15 in Warsaw
    warsaw = ZoneInfo("Europe/Warsaw")
    plan = sub(
        "plan", "business", 10,
        datetime(2026, 11, 1, tzinfo=warsaw).isoformat(), datetime(2026, 12, 1, tzinfo=warsaw).isoformat(),
    )  # fmt: skip
    q = quote(account(plan, tz="Europe/Warsaw"), CATALOG, t("2026-11-14T23:30"), [SetLicenses(11)])
    assert (q.lines[0].used, q.lines[0].whole) == (16, 30)


def test_the_fraction_is_never_rounded_and_each_line_is_rounded_once() -> None:
    # rule C4: 12 x 21.99 x 16/30 = 140.736 -> 140.74; rounding 16/30 to 0.53 first would give 139.86
    plan = sub("plan", "business", 10, "2026-11-01", "2026-12-01")
    q = quote(account(plan), CATALOG, t("2026-11-15"), [SetLicenses(22)])
    assert amounts(q) == [14074]
    assert q.subtotal == sum(amounts(q))


def test_an_exact_half_cent_is_rounded_up() -> None:
    # rule C4: 21.99 x 15/30 = 10.995 -> 11.00
    q = quote(account(), CATALOG, t("2026-11-15"), [ChangePlan("business", 12)])
    added = quote(q.account, CATALOG, t("2026-11-30"), [SetLicenses(13)])
    assert amounts(added) == [1100]


def test_a_credit_is_based_on_what_was_charged_not_on_the_list_price() -> None:
    # rule C5: a discounted period (50.00 charged instead of 79.95) is credited from 50.00
    discounted = sub("plan", "pro", 5, "2026-11-01", "2026-12-01", charged=5000)
    q = quote(account(discounted), CATALOG, t("2026-11-15"), [ChangePlan("business", 10)])

    assert q.lines[0].amount == -2667  # 50.00 x 16/30 = 26.666... -> 26.67
    assert q.lines[0].basis == 5000


def test_a_credit_never_exceeds_the_charges_it_reverses() -> None:
    # rule C5: two charges this period (the plan and licenses added on Nov 10) are credited piece by piece
    plan = replace(
        sub("plan", "business", 12, "2026-11-01", "2026-12-01"),
        charges=(
            Charge(10 * price("business"), t("2026-11-01"), t("2026-12-01")),
            Charge(1540, t("2026-11-10"), t("2026-12-01")),
        ),
    )
    q = quote(account(plan), CATALOG, t("2026-11-01T08:00"), [ChangePlan("business_plus", 12)])
    assert -q.lines[0].amount == 10 * price("business") + 1540
    later = quote(account(plan), CATALOG, t("2026-11-20"), [ChangePlan("business_plus", 12)])
    assert -later.lines[0].amount == (10 * price("business") * 11 * 21 + 1540 * 11 * 30 + 315) // (30 * 21)


def test_preview_equals_charge_on_the_same_day() -> None:
    # rule C6: the cart priced in the morning is priced the same in the evening
    cart = [ChangePlan("business", 12), AddAddon("webinar_500", 2)]
    plan = sub("plan", "pro", 5, "2026-11-01", "2026-12-01")
    morning = quote(account(plan), CATALOG, t("2026-11-15T00:00"), cart)
    evening = quote(account(plan), CATALOG, t("2026-11-15T23:59:59"), cart)
    assert [(line.description, line.amount) for line in morning.lines] == [
        (line.description, line.amount) for line in evening.lines
    ]
    assert morning.amount_due == evening.amount_due


def test_renewals_charge_full_price_with_scheduled_changes_applied_first() -> None:
    # rule C7
    pending = (Pending(PendingKind.QUANTITY, t("2026-12-01"), quantity=11),)
    plan = sub("plan", "business", 14, "2026-11-01", "2026-12-01", pending=pending)
    addon = sub("w", "webinar_500", 2, "2026-11-01", "2026-12-01")
    acc = account(plan, addon, balance=1000)

    assert next_billing_date(acc) == t("2026-12-01")
    renewal = renew(acc, CATALOG, t("2026-12-01"))

    assert amounts(renewal) == [11 * price("business"), 2 * price("webinar_500")]
    assert renewal.credit_used == 1000
    assert renewal.amount_due == 11 * price("business") + 2 * price("webinar_500") - 1000
    renewed = renewal.account.subscriptions[0]
    assert (renewed.quantity, renewed.pending, renewed.period) == (
        11,
        (),
        Period(t("2026-12-01"), t("2027-01-01")),
    )
    assert renewal.lines[0].description == "Business x 11, 31 of 31 days"


def test_a_renewal_touches_only_subscriptions_ending_on_that_date() -> None:
    yearly_plan = sub("plan", "business", 10, "2026-03-01", "2027-03-01", interval=Interval.YEAR)
    monthly_addon = sub("w", "webinar_500", 1, "2026-11-01", "2026-12-01", anchor="2026-03-01")
    renewal = renew(account(yearly_plan, monthly_addon), CATALOG, t("2026-12-01"))
    assert [line.subscription for line in renewal.lines] == ["w"]
    assert renewal.account.subscriptions[0] == yearly_plan


def test_the_plan_is_switched_before_its_add_ons_whatever_the_cart_order() -> None:
    # rules C2, A5, A6: one credit and one charge per subscription
    yearly_addon = sub("w", "webinar_500", 1, "2026-03-01", "2027-03-01", interval=Interval.YEAR)
    cart = [ChangeInterval(Interval.MONTH, "w"), ChangeInterval(Interval.MONTH)]
    q = quote(account(YEARLY, yearly_addon), CATALOG, t("2026-11-15"), cart)
    assert [(line.subscription, line.kind) for line in q.lines] == [
        ("plan", LineKind.CREDIT),
        ("plan", LineKind.CHARGE),
        ("w", LineKind.CREDIT),
        ("w", LineKind.CHARGE),
    ]


def test_a_renewal_where_no_period_ends_is_refused() -> None:
    # rule C7: a renewal happens at a period end
    with pytest.raises(InvalidInput) as error:
        renew(account(MONTHLY), CATALOG, t("2026-11-20"))
    assert (error.value.code, error.value.field) == ("renewal.not_due", "at")


def test_a_pending_change_that_renewal_could_not_apply_is_refused() -> None:
    # rules P3, L3: a pending total below the plan's minimum is not an account that can exist
    below_minimum = sub(
        "plan", "business", 12, "2026-11-01", "2026-12-01", pending=(Pending(PendingKind.QUANTITY, t("2026-12-01"), 3),)
    )
    with pytest.raises(InvalidInput) as error:
        renew(account(below_minimum), CATALOG, t("2026-12-01"))
    assert (error.value.code, error.value.rule, error.value.field) == (
        "pending.invalid",
        "P3",
        "subscriptions[0].pending[0].quantity",
    )
    unknown = sub(
        "plan", "business", 12, "2026-11-01", "2026-12-01",
        pending=(Pending(PendingKind.PRODUCT, t("2026-12-01"), 9, "platinum"),),
    )  # fmt: skip
    with pytest.raises(InvalidInput) as error:
        quote(account(unknown), CATALOG, t("2026-11-15"), [SetLicenses(13)])
    assert error.value.code == "product.unknown"


def test_a_quote_holds_until_the_end_of_the_local_day_or_for_a_set_time() -> None:
    # rule C6: day granularity prices every instant of a day alike; second granularity holds 15 minutes by default
    plan = sub("plan", "business", 10, "2026-11-01T00:00+01:00", "2026-12-01T00:00+01:00")
    q = quote(account(plan, tz="Europe/Warsaw"), CATALOG, t("2026-11-15T10:00+01:00"), [SetLicenses(12)])
    assert q.valid_until == t("2026-11-16T00:00+01:00")
    seconds = quote(
        account(plan, tz="Europe/Warsaw", granularity=Granularity.SECOND),
        CATALOG,
        t("2026-11-15T10:00Z"),
        [SetLicenses(12)],
    )
    assert seconds.valid_until == t("2026-11-15T10:15Z")
    assert renew(account(plan), CATALOG, t("2026-12-01T00:00+01:00")).valid_until == t("2026-12-01T00:00+01:00")
