"""Plans: upgrades at any time, minimum licenses, downgrades, who may buy, when buying is locked (rules P1-P7, I6,
I7)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prorata.domain.account import PendingKind
from prorata.domain.cart import AddAddon, Cancel, ChangePlan
from prorata.domain.catalog import DowngradePolicy
from prorata.domain.engine import OPERATOR, addon_offers, quote, renew
from prorata.domain.invoice_lines import LineKind, Quote
from prorata.domain.periods import Interval, Period
from tests.helpers import CATALOG, account, amounts, price, refusal, sub, t

PRO_5 = sub("plan", "pro", 5, "2026-11-01", "2026-12-01", assigned=4)
BUSINESS_12 = sub("plan", "business", 12, "2026-11-01", "2026-12-01", assigned=9)


def test_basic_can_be_upgraded_to_pro_business_or_business_plus() -> None:
    # rule P1: a free account starts a paid period now
    for plan, licenses in (("pro", 1), ("business", 10), ("business_plus", 10)):
        q = quote(account(), CATALOG, t("2026-11-15T13:00"), [ChangePlan(plan, licenses)])
        assert amounts(q) == [licenses * price(plan)]
        new = q.account.subscriptions[0]
        assert (new.product, new.quantity) == (plan, licenses)
        assert new.period == Period(t("2026-11-15"), t("2026-12-15"))


def test_enterprise_is_never_sold_through_self_service() -> None:
    # rule P1: "Contact Sales"
    error = refusal(account(PRO_5), ChangePlan("enterprise", 20))
    assert (error.code, error.rule) == ("plan.sales_only", "P1")
    assert "Contact Sales" in error.message


def test_an_upgrade_with_the_same_interval_keeps_the_billing_date() -> None:
    # rule P2: credit for the unused remainder, the new plan charged to the same billing date
    q = quote(account(PRO_5), CATALOG, t("2026-11-15T10:00"), [ChangePlan("business", 10)])

    credit, charge = q.lines
    assert credit.kind is LineKind.CREDIT
    assert credit.amount == -((5 * price("pro") * 16 + 15) // 30)  # 79.95 x 16/30 = 42.64
    assert charge.amount == (10 * price("business") * 16 + 15) // 30  # 219.90 x 16/30 = 117.28
    assert charge.period == Period(t("2026-11-15"), t("2026-12-01"))
    upgraded = q.account.subscriptions[0]
    assert (upgraded.product, upgraded.quantity, upgraded.period.end) == ("business", 10, t("2026-12-01"))
    assert q.amount_due == charge.amount + credit.amount


def test_an_upgrade_with_another_interval_starts_a_new_period_now() -> None:
    # rule P2: different interval -> a new period
    q = quote(account(PRO_5), CATALOG, t("2026-11-15T10:00"), [ChangePlan("business", 10, Interval.YEAR)])

    assert q.lines[1].amount == 10 * price("business", Interval.YEAR)
    assert q.account.subscriptions[0].period == Period(t("2026-11-15"), t("2027-11-15"))


def test_business_requires_at_least_ten_licenses_and_pro_at_most_nine() -> None:
    # rule P3
    error = refusal(account(PRO_5), ChangePlan("business", 9))
    assert (error.code, error.rule, error.field) == ("plan.min_licenses", "P3", "licenses")
    assert "at least 10" in error.message
    error = refusal(account(), ChangePlan("pro", 10))
    assert (error.code, error.rule) == ("plan.max_licenses", "P3")
    # Pro with 5 licenses -> Business without a license count: 5 would be below the minimum
    assert refusal(account(PRO_5), ChangePlan("business")).code == "plan.min_licenses"


def test_pro_is_offered_large_meetings_before_other_add_ons() -> None:
    # rule P4: a Pro account that only needs more participants is shown Large Meetings
    offers = [p.code for p in addon_offers(account(PRO_5), CATALOG)]
    assert offers[:2] == ["large_meetings_500", "large_meetings_1000"]
    assert CATALOG.products["pro"].suggest_addons == ("large_meetings_500", "large_meetings_1000")


def test_business_to_pro_waits_for_the_term_end_with_no_credit() -> None:
    # rule P5
    q = quote(account(BUSINESS_12), CATALOG, t("2026-11-15"), [ChangePlan("pro", 9)])

    assert q.lines == ()
    assert q.amount_due == 0
    pending = q.account.subscriptions[0].pending
    assert [(p.kind, p.product, p.quantity, p.effective) for p in pending] == [
        (PendingKind.PRODUCT, "pro", 9, t("2026-12-01"))
    ]
    renewal = renew(q.account, CATALOG, t("2026-12-01"))
    assert amounts(renewal) == [9 * price("pro")]
    assert renewal.account.subscriptions[0].product == "pro"


def test_other_downgrades_go_through_sales() -> None:
    # rule P5: only the catalog's self-service paths
    plus = sub("plan", "business_plus", 12, "2026-11-01", "2026-12-01")
    error = refusal(account(plus), ChangePlan("pro", 9))
    assert (error.code, error.rule) == ("plan.downgrade_via_sales", "P5")
    assert refusal(account(plus), ChangePlan("business", 12)).code == "plan.downgrade_via_sales"


def test_a_downgrade_below_the_plan_limits_or_the_assigned_licenses_is_refused() -> None:
    # rules P3 and L4 apply to the plan the account will have
    assert refusal(account(BUSINESS_12), ChangePlan("pro")).code == "plan.max_licenses"
    held = sub("plan", "business", 12, "2026-11-01", "2026-12-01", assigned=11)
    error = refusal(account(held), ChangePlan("pro", 9))
    assert (error.code, error.data["must_unassign"]) == ("licenses.below_assigned", 2)


@pytest.mark.parametrize("role", ["member", "viewer", ""])
def test_only_owners_and_admins_may_buy(role: str) -> None:
    # rule P6
    error = refusal(account(PRO_5), ChangePlan("business", 10), role=role)
    assert (error.code, error.rule, error.field) == ("account.forbidden_role", "P6", "role")
    assert quote(account(PRO_5), CATALOG, t("2026-11-15"), [ChangePlan("business", 10)], role="admin").lines


def test_overdue_accounts_cannot_buy_or_edit() -> None:
    # rule I6: the refusal says why and where to pay
    error = refusal(account(PRO_5, overdue=True), AddAddon("large_meetings_500"))
    assert (error.code, error.rule) == ("account.overdue_locked", "I6")
    assert "Invoice History" in error.message


def test_sales_managed_accounts_are_told_to_contact_their_account_manager() -> None:
    # rule I7
    error = refusal(account(PRO_5, managed_by_sales=True), ChangePlan("business", 10))
    assert (error.code, error.rule) == ("account.sales_managed", "I7")
    assert "account manager" in error.message


def test_the_self_service_locks_do_not_lock_out_the_account_manager() -> None:
    # rules I6, I7 send the customer to their account manager: an operator acting for the account is that manager
    locked = account(PRO_5, overdue=True, managed_by_sales=True)
    for role in ("owner", "admin", "member"):
        assert refusal(locked, Cancel(), role=role).code in ("account.overdue_locked", "account.forbidden_role")
    cancelled = quote(locked, CATALOG, t("2026-11-15"), [Cancel()], role=OPERATOR)
    assert [change.action for change in cancelled.scheduled] == ["scheduled"]


def test_a_plan_cannot_be_changed_to_itself_or_to_an_add_on_or_to_basic() -> None:
    assert refusal(account(PRO_5), ChangePlan("pro")).code == "plan.unchanged"
    assert refusal(account(PRO_5), ChangePlan("webinar_500")).code == "product.not_a_plan"
    assert refusal(account(PRO_5), ChangePlan("basic")).code == "plan.downgrade_to_free"
    assert refusal(account(PRO_5), ChangePlan("platinum")).code == "product.unknown"


def test_an_immediate_downgrade_with_credit_is_an_operator_policy() -> None:
    # rule P7 with the default catalog's prices
    immediate = replace(CATALOG, downgrade_policy=DowngradePolicy.IMMEDIATE_WITH_CREDIT)
    q = quote(account(BUSINESS_12), immediate, t("2026-11-15"), [ChangePlan("pro", 9)])

    assert [line.kind for line in q.lines] == [LineKind.CREDIT, LineKind.CHARGE]
    assert q.lines[0].amount == -((12 * price("business") * 16 + 15) // 30)
    assert q.lines[1].amount == (9 * price("pro") * 16 + 15) // 30
    assert q.credit_added == -(q.lines[0].amount + q.lines[1].amount)
    assert q.account.subscriptions[0].product == "pro"


def test_a_first_plan_can_be_billed_on_a_chosen_day_with_the_first_period_prorated() -> None:
    # rules C3, C4: bought Jan 15, billed on the 1st: Jan 15 - Feb 1 is 17 of 31 days, then whole months
    q = quote(account(), CATALOG, t("2026-01-15T09:00"), [ChangePlan("pro", 2, billing_day=1)])
    (line,) = q.lines
    assert (line.used, line.whole, line.amount) == (17, 31, (2 * price("pro") * 17 + 15) // 31)
    plan = q.account.subscriptions[0]
    assert plan.period == Period(t("2026-01-15"), t("2026-02-01"))
    assert amounts(renew(q.account, CATALOG, t("2026-02-01"))) == [2 * price("pro")]


def ends(q: Quote, count: int) -> list[str]:
    """The next ``count`` period ends of the account's plan, renewal after renewal."""
    acc, out = q.account, []
    for _ in range(count):
        plan = acc.subscriptions[0]
        out.append(plan.period.end.date().isoformat())
        acc = renew(acc, CATALOG, plan.period.end).account
    return out


def test_a_billing_day_31_chosen_in_february_keeps_its_day_and_prorates_against_the_real_period() -> None:
    # rule C3: the anchor keeps the chosen day: periods end Feb 28, Mar 31, Apr 30, May 31; the first period is
    # Feb 10 - Feb 28 of the period Jan 31 - Feb 28 (18 of 28 days), not of Jan 28 - Feb 28 (31 days)
    q = quote(account(), CATALOG, t("2027-02-10"), [ChangePlan("pro", 1, billing_day=31)])
    (line,) = q.lines
    assert (line.used, line.whole, line.amount) == (18, 28, (price("pro") * 18 + 14) // 28)
    assert ends(q, 5) == ["2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30"]


@pytest.mark.parametrize(
    ("day", "whole", "then"),
    [(29, 30, "2027-03-29"), (30, 29, "2027-03-30"), (28, 31, "2027-03-28")],
)
def test_billing_days_29_and_30_chosen_in_february_keep_their_day_too(day: int, whole: int, then: str) -> None:
    # rule C3: Jan 29 - Feb 28 is 30 days, Jan 30 - Feb 28 is 29; the day comes back in March
    q = quote(account(), CATALOG, t("2027-02-10"), [ChangePlan("pro", 1, billing_day=day)])
    (line,) = q.lines
    assert (line.used, line.whole) == (18, whole)
    assert ends(q, 2) == ["2027-02-28", then]


def test_a_billing_day_31_chosen_on_april_10_prorates_against_march_31_to_april_30() -> None:
    # rule C3: Apr 10 - Apr 30 of the 30-day period Mar 31 - Apr 30, then May 31
    q = quote(account(), CATALOG, t("2026-04-10"), [ChangePlan("pro", 2, billing_day=31)])
    (line,) = q.lines
    assert (line.used, line.whole, line.amount) == (20, 30, (2 * price("pro") * 20 + 15) // 30)
    assert ends(q, 3) == ["2026-04-30", "2026-05-31", "2026-06-30"]


def test_a_yearly_plan_billed_on_the_31st_from_february_renews_on_the_last_day_of_february() -> None:
    # rule C3: first period Feb 10 - Feb 28, 2027 of the year Feb 28, 2026 - Feb 28, 2027; then Feb 29 in a leap year
    q = quote(account(), CATALOG, t("2027-02-10"), [ChangePlan("pro", 1, interval=Interval.YEAR, billing_day=31)])
    (line,) = q.lines
    assert (line.used, line.whole) == (18, 365)
    assert ends(q, 3) == ["2027-02-28", "2028-02-29", "2029-02-28"]


def test_a_billing_day_is_chosen_once_and_must_be_a_day_of_the_month() -> None:
    # rule C3
    assert refusal(account(), ChangePlan("pro", 1, billing_day=0)).code == "plan.billing_day"
    assert refusal(account(PRO_5), ChangePlan("business", 10, billing_day=1)).code == "plan.billing_day_fixed"
