"""Add-ons: offered beside the plan, one interval per add-on, sizes as their own items, co-termed with the plan,
seats within the licenses, one-month products (rules A1-A8)."""

from __future__ import annotations

from prorata.domain.account import Pending, PendingKind
from prorata.domain.cart import AddAddon, Cancel, ChangeAddon, ChangeInterval, SetLicenses
from prorata.domain.engine import addon_offers, quote, renew
from prorata.domain.invoice_lines import LineKind
from prorata.domain.periods import Interval, Period
from tests.helpers import CATALOG, account, amounts, price, refusal, sub, t

BUSINESS = sub("plan", "business", 12, "2026-11-01", "2026-12-01", assigned=10)
BUSINESS_YEARLY = sub("plan", "business", 12, "2026-03-01", "2027-03-01", interval=Interval.YEAR)
WEBINAR = sub("w", "webinar_500", 2, "2026-11-01", "2026-12-01", assigned=1)


def test_add_ons_are_offered_to_an_account_with_a_paid_plan() -> None:
    # rule A1: "Interested in other plans?" lists what can be added; what is held is not offered again
    offered = {p.code for p in addon_offers(account(BUSINESS, WEBINAR), CATALOG)}
    assert {"webinar_1000", "large_meetings_500", "cloud_recording_1tb"} <= offered
    assert "webinar_500" not in offered
    assert addon_offers(account(), CATALOG) == []  # a free account buys a plan first


def test_the_same_add_on_cannot_be_held_on_two_intervals() -> None:
    # rule A2
    yearly_plan_webinar = sub("w", "webinar_500", 2, "2026-11-01", "2026-12-01", anchor="2026-03-01")
    error = refusal(account(BUSINESS_YEARLY, yearly_plan_webinar), AddAddon("webinar_500", 2, Interval.YEAR))
    assert (error.code, error.rule, error.field) == ("addon.interval_conflict", "A2", "interval")


def test_a_second_copy_of_a_held_add_on_is_refused() -> None:
    assert refusal(account(BUSINESS, WEBINAR), AddAddon("webinar_500", 1)).code == "addon.already_held"


def test_another_size_of_a_held_add_on_is_its_own_subscription() -> None:
    # rule A3: Webinar 1000 beside Webinar 500
    q = quote(account(BUSINESS, WEBINAR), CATALOG, t("2026-11-15"), [AddAddon("webinar_1000", 1)])

    assert [s.product for s in q.account.subscriptions] == ["business", "webinar_500", "webinar_1000"]
    assert amounts(q) == [(price("webinar_1000") * 16 + 15) // 30]


def test_more_add_on_seats_credit_the_old_and_charge_the_new_prorated() -> None:
    # rule A4
    q = quote(account(BUSINESS, WEBINAR), CATALOG, t("2026-11-15"), [ChangeAddon("w", quantity=5)])

    credit, charge = q.lines
    assert credit.amount == -((2 * price("webinar_500") * 16 + 15) // 30)
    assert charge.amount == (5 * price("webinar_500") * 16 + 15) // 30
    assert q.account.subscriptions[1].quantity == 5


def test_a_larger_add_on_size_credits_the_old_and_charges_the_new() -> None:
    # rule A4: moving to a larger size through Edit current plan
    q = quote(account(BUSINESS, WEBINAR), CATALOG, t("2026-11-15"), [ChangeAddon("w", product="webinar_1000")])

    assert [line.kind for line in q.lines] == [LineKind.CREDIT, LineKind.CHARGE]
    assert q.lines[1].product == "webinar_1000"
    assert q.account.subscriptions[1].product == "webinar_1000"


def test_fewer_add_on_seats_or_a_smaller_size_wait_for_the_term_end() -> None:
    # rules A4 and L3: no credit
    big = sub("w", "webinar_1000", 3, "2026-11-01", "2026-12-01")
    q = quote(account(BUSINESS, big), CATALOG, t("2026-11-15"), [ChangeAddon("w", quantity=2, product="webinar_500")])

    assert q.lines == ()
    assert q.account.subscriptions[1].pending == (
        Pending(PendingKind.PRODUCT, t("2026-12-01"), quantity=2, product="webinar_500"),
    )
    assert amounts(renew(q.account, CATALOG, t("2026-12-01"))) == [
        12 * price("business"),
        2 * price("webinar_500"),
    ]


def test_an_add_on_of_another_family_is_not_an_edit() -> None:
    # rule A3
    error = refusal(account(BUSINESS, WEBINAR), ChangeAddon("w", product="large_meetings_500"))
    assert (error.code, error.rule) == ("addon.family_mismatch", "A3")


def test_an_add_on_bought_mid_period_is_co_termed_with_the_plan() -> None:
    # rule A5: prorated to the plan's billing date, then full price on that date
    q = quote(account(BUSINESS), CATALOG, t("2026-11-15"), [AddAddon("large_meetings_500", 4)])

    (line,) = q.lines
    assert line.period == Period(t("2026-11-15"), t("2026-12-01"))
    assert line.amount == (4 * price("large_meetings_500") * 16 + 15) // 30
    renewal = renew(q.account, CATALOG, t("2026-12-01"))
    assert amounts(renewal)[1] == 4 * price("large_meetings_500")


def test_a_monthly_add_on_on_a_yearly_plan_renews_on_the_plans_day_of_month() -> None:
    # rule A5: the yearly plan's anchor is March 1, so the monthly add-on runs to December 1
    q = quote(account(BUSINESS_YEARLY), CATALOG, t("2026-11-15"), [AddAddon("webinar_500", 1, Interval.MONTH)])

    added = q.account.subscriptions[1]
    assert added.period == Period(t("2026-11-15"), t("2026-12-01"))
    assert q.lines[0].description == "Webinar 500 x 1, 16 of 30 days"
    renewal = renew(q.account, CATALOG, t("2026-12-01"))
    assert amounts(renewal) == [price("webinar_500")]
    assert renewal.account.subscriptions[1].period == Period(t("2026-12-01"), t("2027-01-01"))


def test_an_annual_add_on_on_a_monthly_plan_is_refused() -> None:
    # rule A6
    error = refusal(account(BUSINESS), AddAddon("webinar_500", 1, Interval.YEAR))
    assert (error.code, error.rule) == ("addon.annual_on_monthly", "A6")


def test_switching_a_yearly_plan_to_monthly_with_a_yearly_add_on_is_refused() -> None:
    # rule A6 also holds for the account as the order leaves it
    yearly_addon = sub("w", "webinar_500", 1, "2026-03-01", "2027-03-01", interval=Interval.YEAR)
    error = refusal(account(BUSINESS_YEARLY, yearly_addon), ChangeInterval(Interval.MONTH))
    assert error.code == "addon.annual_on_monthly"
    # switching the add-on in the same order is accepted
    q = quote(
        account(BUSINESS_YEARLY, yearly_addon),
        CATALOG,
        t("2026-11-15"),
        [ChangeInterval(Interval.MONTH), ChangeInterval(Interval.MONTH, "w")],
    )
    assert {s.interval for s in q.account.subscriptions} == {Interval.MONTH}


def test_add_on_seats_cannot_exceed_the_plans_licenses() -> None:
    # rule A7
    error = refusal(account(BUSINESS), AddAddon("webinar_500", 13))
    assert (error.code, error.rule) == ("addon.seats_exceed_licenses", "A7")
    # ... also not after a scheduled license reduction
    with_webinar = account(BUSINESS, sub("w", "webinar_500", 11, "2026-11-01", "2026-12-01"))
    assert refusal(with_webinar, SetLicenses(10)).code == "addon.seats_exceed_licenses"


def test_a_per_account_add_on_has_a_quantity_of_one() -> None:
    assert refusal(account(BUSINESS), AddAddon("cloud_recording_1tb", 2)).code == "addon.invalid_quantity"
    q = quote(account(BUSINESS), CATALOG, t("2026-11-15"), [AddAddon("cloud_recording_1tb")])
    assert q.to_assign == ()  # storage is not assigned to users


def test_an_add_on_needs_a_paid_plan() -> None:
    error = refusal(account(), AddAddon("webinar_500", 1))
    assert error.code == "addon.requires_plan"


def test_a_one_month_product_lasts_one_calendar_month_is_charged_in_full_and_does_not_renew() -> None:
    # rule A8
    at = t("2026-01-31T15:00")
    january = sub("plan", "business", 12, "2026-01-01", "2026-02-01")
    q = quote(account(january), CATALOG, at, [AddAddon("webinar_500_one_month", 2)])

    (line,) = q.lines
    assert line.amount == 2 * price("webinar_500_one_month")
    one_month = q.account.subscriptions[1]
    assert one_month.period == Period(at, t("2026-02-28T15:00"))
    plan_renewal = renew(q.account, CATALOG, t("2026-02-01"))
    assert [s.product for s in plan_renewal.account.subscriptions] == ["business", "webinar_500_one_month"]
    expiry = renew(q.account, CATALOG, t("2026-02-28T15:00"))
    assert expiry.lines == ()
    assert [s.product for s in expiry.account.subscriptions] == ["business"]


def test_an_add_on_edited_in_the_order_that_restarts_the_plan_is_credited_and_charged_once() -> None:
    # rules A4, A5, C1: the add-on's new seats run to the plan's new billing date
    q = quote(
        account(BUSINESS, WEBINAR),
        CATALOG,
        t("2026-11-15"),
        [ChangeAddon("w", quantity=4), ChangeInterval(Interval.YEAR)],
    )
    assert [(line.subscription, line.kind) for line in q.lines] == [
        ("plan", LineKind.CREDIT),
        ("plan", LineKind.CHARGE),
        ("w", LineKind.CREDIT),
        ("w", LineKind.CHARGE),
    ]
    edited = q.account.subscriptions[1]
    assert (edited.quantity, edited.period) == (4, Period(t("2026-11-15"), t("2026-12-15")))
    assert q.lines[3].amount == 4 * price("webinar_500")


def test_a_new_add_on_never_takes_the_id_of_one_already_held() -> None:
    # rule A3: a subscription created by an earlier order keeps its id and its money
    earlier = sub("new-1", "webinar_500", 2, "2026-11-01", "2026-12-01")
    q = quote(account(BUSINESS, earlier), CATALOG, t("2026-11-15"), [AddAddon("large_meetings_500", 2)])
    assert [(s.id, s.product) for s in q.account.subscriptions] == [
        ("plan", "business"),
        ("new-1", "webinar_500"),
        ("new-2", "large_meetings_500"),
    ]


def test_a_plan_is_not_cancelled_under_a_one_month_product_that_outlives_its_period() -> None:
    # rules A8, D1, D2: bought on Nov 20 it is available to Dec 20, and the plan's period ends on Dec 1; ending the
    # plan then would take away what was paid for in full, so the cancellation waits for it, and says so
    pro = sub("plan", "pro", 5, "2026-11-01", "2026-12-01")
    bought = quote(account(pro), CATALOG, t("2026-11-20"), [AddAddon("webinar_500_one_month", 2)]).account

    error = refusal(bought, Cancel(with_addons=True), at="2026-11-21")

    assert (error.code, error.rule) == ("cancel.one_month_outlives", "A8")
    assert error.data["until"] == "2026-12-20T00:00:00+00:00"
    renewed = renew(bought, CATALOG, t("2026-12-01")).account
    ended = renew(renewed, CATALOG, t("2026-12-20")).account  # once it has ended, the plan is cancelled as usual
    assert [s.product for s in ended.subscriptions] == ["pro"]
    assert quote(ended, CATALOG, t("2026-12-21"), [Cancel()]).lines == ()
