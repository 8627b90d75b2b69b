"""Carts and accounts where rules meet: pending changes with new orders, restarts of the period, first days of
periods that start mid-day (rules A2, A3, A7, A8, C3, D1, D2, L3, L6, P3, P5, P7)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prorata.domain.account import Pending, PendingKind
from prorata.domain.cart import AddAddon, Cancel, Change, ChangeAddon, ChangeInterval, ChangePlan, SetLicenses
from prorata.domain.catalog import DowngradePolicy
from prorata.domain.engine import quote, renew
from prorata.domain.errors import InvalidInput
from prorata.domain.money import round_half_up
from prorata.domain.periods import Interval, Period
from tests.helpers import CATALOG, account, amounts, catalog, price, refusal, sub, t

BUSINESS = sub("plan", "business", 12, "2026-11-01", "2026-12-01")
BUSINESS_YEARLY = sub("plan", "business", 12, "2026-03-01", "2027-03-01", interval=Interval.YEAR)
CANCELLED = (Pending(PendingKind.CANCEL, t("2026-12-01")),)


def test_a_reduction_after_a_pending_downgrade_sets_the_downgrades_total() -> None:
    # rules P3, P5, L6: one total renews, within the new plan's limits
    q = quote(account(BUSINESS), CATALOG, t("2026-11-10"), [ChangePlan("pro", licenses=5), SetLicenses(8)])
    assert q.account.subscriptions[0].pending == (
        Pending(PendingKind.PRODUCT, t("2026-12-01"), quantity=8, product="pro"),
    )
    assert amounts(renew(q.account, CATALOG, t("2026-12-01"))) == [8 * price("pro")]
    error = refusal(account(q.account.subscriptions[0]), SetLicenses(11))
    assert (error.code, error.rule) == ("plan.max_licenses", "P3")  # Pro allows at most 9


def test_a_pending_downgrade_is_withdrawn_by_choosing_the_current_plan() -> None:
    # rule L6: nothing pending is dropped silently, and the buyer can take it back
    pending = (Pending(PendingKind.PRODUCT, t("2026-12-01"), quantity=9, product="pro"),)
    q = quote(account(replace(BUSINESS, pending=pending)), CATALOG, t("2026-11-15"), [ChangePlan("business")])
    assert q.account.subscriptions[0].pending == ()
    assert [s.action for s in q.scheduled] == ["withdrawn"]


def test_an_add_on_cancelled_at_the_term_end_does_not_count_against_a_reduction() -> None:
    # rules A7, D1: its 12 seats end on the day the plan drops to 10 licenses
    webinar = sub("w", "webinar_500", 12, "2026-11-01", "2026-12-01", pending=CANCELLED)
    q = quote(account(BUSINESS, webinar), CATALOG, t("2026-11-15"), [SetLicenses(10)])
    assert q.account.subscriptions[0].pending_of(PendingKind.QUANTITY) is not None
    q = quote(account(BUSINESS, replace(webinar, pending=())), CATALOG, t("2026-11-15"), [Cancel("w"), SetLicenses(10)])
    assert q.account.subscriptions[1].cancelling


def test_a_seat_refusal_points_at_the_field_the_buyer_filled_in() -> None:
    # rules A7, X4
    webinar = sub("w", "webinar_500", 12, "2026-11-01", "2026-12-01")
    error = refusal(account(BUSINESS, webinar), SetLicenses(10))
    assert (error.code, error.field, error.data["change"]) == ("addon.seats_exceed_licenses", "total", 0)
    error = refusal(account(BUSINESS, webinar), SetLicenses(10), ChangeAddon("w", quantity=11))
    assert (error.code, error.field) == ("addon.seats_exceed_licenses", "changes")


def test_a_change_on_the_first_day_of_a_period_that_starts_mid_day_is_priced_in_that_period() -> None:
    # rule C3: Nov 1 10:00 - Dec 1 10:00 is 30 days; a change on Nov 1 at noon leaves all 30
    plan = sub("plan", "business", 10, "2026-11-01T10:00", "2026-12-01T10:00")
    q = quote(account(plan), CATALOG, t("2026-11-01T12:00"), [SetLicenses(12)])
    assert (q.lines[0].used, q.lines[0].whole, q.lines[0].amount) == (30, 30, 2 * price("business"))
    q = quote(account(plan), CATALOG, t("2026-11-01T12:00"), [AddAddon("webinar_500", 2)])
    assert q.lines[0].amount == 2 * price("webinar_500")


def test_a_new_period_does_not_extend_an_add_on_that_was_cancelled() -> None:
    # rules D1, A5: the cancelled add-on ends when the buyer asked, and nothing new is charged for it
    webinar = sub("w", "webinar_500", 5, "2026-11-01", "2026-12-01", pending=CANCELLED)
    q = quote(account(BUSINESS, webinar), CATALOG, t("2026-11-15"), [ChangeInterval(Interval.YEAR)])
    assert {line.subscription for line in q.lines} == {"plan"}
    assert q.account.subscriptions[1] == webinar


@pytest.mark.parametrize(
    "cart",
    [
        [ChangePlan("pro", licenses=5), ChangeInterval(Interval.YEAR)],
        [ChangeAddon("lm", quantity=4), ChangeInterval(Interval.YEAR)],
    ],
    ids=["downgrade then interval", "add-on reduction then interval"],
)
def test_a_new_period_cannot_start_while_a_reduction_waits_for_the_current_one(cart: list[object]) -> None:
    # rules L3, P5: applying it now would refund removed licenses; carrying it over would postpone it a year
    meetings = sub("lm", "large_meetings_500", 5, "2026-11-01", "2026-12-01")
    error = refusal(account(BUSINESS, meetings), *cart)  # type: ignore[arg-type]
    assert (error.code, error.rule) == ("pending.blocks_new_period", "L3")
    assert "2026-12-01" in error.message


# Rules L3 and C1 where they meet: an interval switch ends the current term now and starts a new period. L3 says
# removed licenses are neither refunded nor credited, and kept until the term end. A new period that started with
# fewer licenses would credit the removed ones' unused time (or take them away before the term end); a reduction
# carried into it would wait a whole new period, charged in full (15 licenses for a year instead of 12: $809.70
# more). So every cart that starts a new period with fewer licenses than are held, or while a reduction or downgrade
# waits for the current term end, is refused with the L3 code, whatever else it holds: the buyer withdraws the pending
# change (or enters the total held) or switches after it has taken effect. Under P7 a lower total starts at once.
BUSINESS_15 = sub("plan", "business", 15, "2026-11-01", "2026-12-01", assigned=10)
REDUCING = replace(BUSINESS_15, pending=(Pending(PendingKind.QUANTITY, t("2026-12-01"), quantity=12),))
YEAR = Interval.YEAR


@pytest.mark.parametrize(
    "cart",
    [
        [ChangePlan("business_plus", licenses=12, interval=YEAR)],
        [ChangePlan("business_plus", interval=YEAR)],
        [ChangePlan("business_plus"), ChangeInterval(YEAR)],
        [ChangePlan("business_plus"), ChangeInterval(YEAR), SetLicenses(12)],
        [ChangeInterval(YEAR), SetLicenses(12)],
        [ChangeInterval(YEAR)],
        [ChangePlan("business", licenses=12, interval=YEAR)],
        [ChangePlan("business_plus", licenses=14, interval=YEAR)],
    ],
    ids=repr,
)
def test_a_new_period_never_starts_while_a_reduction_waits_for_the_term_end(cart: list[Change]) -> None:
    # rules L3, C1, L6: every variant of the cart is refused the same way, and nothing is charged
    error = refusal(account(REDUCING), *cart)
    assert (error.code, error.rule) == ("pending.blocks_new_period", "L3")


@pytest.mark.parametrize(
    "cart",
    [
        [ChangePlan("business_plus", licenses=12, interval=YEAR)],
        [ChangePlan("business", licenses=12, interval=YEAR)],
        [ChangeInterval(YEAR), SetLicenses(12)],
        [ChangePlan("business_plus"), ChangeInterval(YEAR), SetLicenses(12)],
        [SetLicenses(12), ChangeInterval(YEAR)],
    ],
    ids=repr,
)
def test_a_new_period_never_starts_with_fewer_licenses_than_are_held(cart: list[Change]) -> None:
    # rules L3, C1: fewer licenses would be credited (L3 says not) or would wait a whole new period
    error = refusal(account(BUSINESS_15), *cart)
    assert (error.code, error.rule) == ("licenses.reduction_with_interval", "L3")


def test_a_total_at_least_the_one_held_withdraws_the_pending_reduction_and_starts_the_new_period() -> None:
    # rules L6, C1: 15 licenses yearly from today; the reduction to 12 is withdrawn, and said so
    q = quote(account(REDUCING), CATALOG, t("2026-11-15"), [ChangePlan("business_plus", licenses=15, interval=YEAR)])
    plan = q.account.subscriptions[0]
    assert (plan.product, plan.interval, plan.quantity, plan.pending) == ("business_plus", YEAR, 15, ())
    assert plan.period == Period(t("2026-11-15"), t("2027-11-15"))
    assert [(s.action, s.change.quantity) for s in q.scheduled] == [("withdrawn", 12)]
    assert [line.amount for line in q.lines] == [
        -round_half_up(15 * price("business") * 16, 30),
        15 * price("business_plus", YEAR),
    ]


def test_under_p7_a_new_period_starts_with_the_lower_total_at_once() -> None:
    # rule P7: downgrades immediate with credit: the switch credits what is unused and charges 12 for the year
    immediate = replace(CATALOG, downgrade_policy=DowngradePolicy.IMMEDIATE_WITH_CREDIT)
    q = quote(account(BUSINESS_15), immediate, t("2026-11-15"), [ChangePlan("business_plus", licenses=12,
                                                                             interval=YEAR)])  # fmt: skip
    assert q.account.subscriptions[0].quantity == 12
    assert [line.amount for line in q.lines] == [
        -round_half_up(15 * price("business") * 16, 30),
        12 * price("business_plus", YEAR),
    ]
    error = refusal(account(BUSINESS_15), ChangePlan("business_plus", licenses=9, interval=YEAR), catalog=immediate)
    assert error.code == "plan.min_licenses"


def test_an_upgrade_keeps_a_pending_reduction_the_new_plan_allows() -> None:
    # rule L6: the buyer asked for 10 licenses from Dec 1; upgrading without a total does not undo that
    pending = (Pending(PendingKind.QUANTITY, t("2026-12-01"), quantity=10),)
    q = quote(account(replace(BUSINESS, pending=pending)), CATALOG, t("2026-11-15"), [ChangePlan("business_plus")])
    assert q.account.subscriptions[0].pending == pending
    assert q.scheduled == ()
    assert amounts(renew(q.account, CATALOG, t("2026-12-01"))) == [10 * price("business_plus")]


def test_a_size_waiting_for_the_term_end_cannot_be_bought_again_on_another_interval() -> None:
    # rules A2, A3
    webinar_1000 = sub("w1", "webinar_1000", 3, "2026-11-01", "2026-12-01", anchor="2026-03-01")
    cart = [ChangeAddon("w1", product="webinar_500"), AddAddon("webinar_500", 2, Interval.YEAR)]
    error = refusal(account(BUSINESS_YEARLY, webinar_1000), *cart)
    assert (error.code, error.rule) == ("addon.interval_conflict", "A2")


def test_a_one_month_product_needs_a_plan_and_its_seats_stay_within_the_licenses() -> None:
    # rules A7, A8
    pro = sub("plan", "pro", 5, "2026-11-01", "2026-12-01")
    assert refusal(account(pro), AddAddon("webinar_500_one_month", 50)).code == "addon.seats_exceed_licenses"
    assert refusal(account(), AddAddon("webinar_500_one_month", 1)).code == "addon.requires_plan"


def test_an_add_on_without_a_family_can_still_change_its_seats() -> None:
    # rule A4
    extras = catalog(
        {
            "team": {"kind": "plan", "name": "Team", "rank": 1, "prices": {"month": {"USD": "10.00"}}},
            "extra": {"kind": "addon", "name": "Extra", "prices": {"month": {"USD": "3.00"}}},
        }
    )
    team = sub("plan", "team", 10, "2026-11-01", "2026-12-01", catalog=extras)
    extra = sub("a", "extra", 2, "2026-11-01", "2026-12-01", catalog=extras)
    q = quote(account(team, extra), extras, t("2026-11-15"), [ChangeAddon("a", quantity=3)])
    assert q.account.subscriptions[1].quantity == 3


def test_add_ons_cancelled_with_a_yearly_plan_run_until_the_plan_ends() -> None:
    # rule D2: a monthly add-on keeps renewing until the plan's own end
    monthly = sub("w", "webinar_500", 2, "2026-11-01", "2026-12-01", anchor="2026-03-01")
    q = quote(account(BUSINESS_YEARLY, monthly), CATALOG, t("2026-11-15"), [Cancel(with_addons=True)])
    assert q.account.subscriptions[1].pending == (Pending(PendingKind.CANCEL, t("2027-03-01")),)
    december = renew(q.account, CATALOG, t("2026-12-01"))
    assert amounts(december) == [2 * price("webinar_500")]


def test_bare_values_and_foreign_objects_in_a_cart_are_refused_not_crashed_on() -> None:
    # rule X4
    yearly = quote(account(BUSINESS), CATALOG, t("2026-11-15"), [ChangePlan("business_plus", 12, "year")])  # type: ignore[arg-type]
    assert yearly.account.subscriptions[0].interval is Interval.YEAR
    error = refusal(account(BUSINESS), ChangePlan("business_plus", interval="weekly"))  # type: ignore[arg-type]
    assert (error.code, error.field) == ("interval.unknown", "changes[0].interval")
    error = refusal(account(BUSINESS), "upgrade please")  # type: ignore[arg-type]
    assert (error.code, error.field) == ("change.unknown_type", "changes[0]")


def test_a_period_that_would_leave_the_calendar_is_refused() -> None:
    far = sub("plan", "business", 10, "9999-11-01", "9999-12-01")
    error = refusal(account(far), ChangeInterval(Interval.YEAR), at="9999-11-15")
    assert error.code == "period.out_of_range"


def test_pending_changes_that_cannot_both_apply_are_refused() -> None:
    # rule L6: one total for the term end
    two = (
        Pending(PendingKind.QUANTITY, t("2026-12-01"), quantity=10),
        Pending(PendingKind.PRODUCT, t("2026-12-01"), quantity=9, product="pro"),
    )
    with pytest.raises(InvalidInput) as error:
        renew(account(replace(BUSINESS, pending=two)), CATALOG, t("2026-12-01"))
    assert error.value.code == "pending.invalid"
    past = (Pending(PendingKind.QUANTITY, t("2026-11-20"), quantity=10),)
    assert (
        refusal(account(replace(BUSINESS, pending=past)), SetLicenses(13)).field
        == "subscriptions[0].pending[0].effective"
    )


def test_under_the_immediate_policy_a_seat_reduction_on_an_add_on_is_credited() -> None:
    # rule P7
    immediate = replace(CATALOG, downgrade_policy=DowngradePolicy.IMMEDIATE_WITH_CREDIT)
    webinar = sub("w", "webinar_500", 4, "2026-11-01", "2026-12-01")
    q = quote(account(BUSINESS, webinar), immediate, t("2026-11-15"), [ChangeAddon("w", quantity=1)])
    assert amounts(q) == [-((3 * price("webinar_500") * 16 + 15) // 30)]
    assert q.account.subscriptions[1].quantity == 1
    assert q.account.subscriptions[1].period == Period(t("2026-11-01"), t("2026-12-01"))


def test_a_blocked_new_period_names_the_local_date_of_the_pending_change() -> None:
    # rules L3, X5: Dec 1 in Warsaw is Nov 30, 23:00 UTC; the buyer reads Dec 1
    plan = sub(
        "plan", "business", 12, "2026-11-01T00:00+01:00", "2026-12-01T00:00+01:00",
        pending=(Pending(PendingKind.QUANTITY, t("2026-12-01T00:00+01:00"), quantity=10),),
    )  # fmt: skip
    error = refusal(account(plan, tz="Europe/Warsaw"), ChangeInterval(Interval.YEAR))
    assert "2026-12-01" in error.message
