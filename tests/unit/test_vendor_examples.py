"""Published proration examples of the leading billing vendors, reproduced to the cent (rules C3, C4, C5, P2, P7)."""

from __future__ import annotations

from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.domain.engine import quote, renew
from prorata.domain.invoice_lines import LineKind
from prorata.domain.periods import Granularity
from tests.helpers import account, amounts, catalog, plan_product, price, sub, t

TWO_PLANS = catalog({"small": plan_product(1, "10.00"), "large": plan_product(2, "20.00")})


def test_upgrade_halfway_through_a_30_day_period_credits_5_and_charges_10() -> None:
    # rules P2, C3: Nov 1 - Dec 1 has 30 days; a change on Nov 16 leaves 15 of them
    acc = account(sub("s", "small", 1, "2026-11-01", "2026-12-01", catalog=TWO_PLANS))

    q = quote(acc, TWO_PLANS, t("2026-11-16T09:00"), [ChangePlan("large")])

    assert amounts(q) == [-500, 1000]
    assert [line.kind for line in q.lines] == [LineKind.CREDIT, LineKind.CHARGE]
    assert q.amount_due == 500


def test_seven_seats_added_on_august_18_at_5_dollars_cost_15_81() -> None:
    # rule L2: 7 x 5.00 x 14/31 = 15.806... -> 15.81, one rounding for the one line
    seats = catalog({"team": plan_product(1, "5.00")})
    acc = account(sub("s", "team", 3, "2026-08-01", "2026-09-01", catalog=seats))

    q = quote(acc, seats, t("2026-08-18T12:00"), [SetLicenses(10)])

    assert amounts(q) == [1581]
    assert q.lines[0].description == "Plan 5.00 x 7, 14 of 31 days"
    assert (q.lines[0].used, q.lines[0].whole) == (14, 31)


def test_second_granularity_credit_for_unused_time_is_3_64() -> None:
    # rule C3 (second granularity): 881,112 of 2,419,200 seconds of a 10.00 period -> 3.6421... -> 3.64
    acc = account(
        sub("s", "small", 1, "2017-02-14T00:00Z", "2017-03-14T00:00Z", catalog=TWO_PLANS),
        granularity=Granularity.SECOND,
    )

    q = quote(acc, TWO_PLANS, t("2017-03-03T19:14:48Z"), [ChangePlan("large")])

    credit = q.lines[0]
    assert credit.kind is LineKind.CREDIT
    assert credit.amount == -364
    assert (credit.used, credit.whole) == (881_112, 2_419_200)
    assert q.lines[1].amount == 728  # 20.00 x the same fraction = 7.284... -> 7.28


IMMEDIATE = catalog(
    {
        "p15": plan_product(1, "15.00"),
        "p30": plan_product(2, "30.00", downgrade_to=["p15"]),
        "p60": plan_product(3, "60.00", downgrade_to=["p30", "p15"]),
    },
    downgrade_policy="immediate_with_credit",
)
END_OF_TERM = catalog(
    {
        "p15": plan_product(1, "15.00"),
        "p30": plan_product(2, "30.00", downgrade_to=["p15"]),
        "p60": plan_product(3, "60.00", downgrade_to=["p30", "p15"]),
    }
)


def test_immediate_downgrade_30_to_15_on_april_5_credits_26_charges_13_and_keeps_13() -> None:
    # rule P7: 26 of 30 days unused
    acc = account(sub("s", "p30", 1, "2026-04-01", "2026-05-01", catalog=IMMEDIATE))

    q = quote(acc, IMMEDIATE, t("2026-04-05T08:00"), [ChangePlan("p15")])

    assert amounts(q) == [-2600, 1300]
    assert q.amount_due == 0
    assert q.credit_added == 1300
    assert q.credit_balance_after == 1300


def test_immediate_downgrade_60_to_30_on_april_21_and_the_may_renewal_uses_the_balance() -> None:
    # rules P7, C7: 10 of 30 days unused; the renewal is paid from the balance first
    acc = account(sub("s", "p60", 1, "2026-04-01", "2026-05-01", catalog=IMMEDIATE))

    q = quote(acc, IMMEDIATE, t("2026-04-21T08:00"), [ChangePlan("p30")])
    renewal = renew(q.account, IMMEDIATE, t("2026-05-01"))

    assert amounts(q) == [-2000, 1000]
    assert q.credit_balance_after == 1000
    assert amounts(renewal) == [3000]
    assert (renewal.credit_used, renewal.amount_due, renewal.credit_balance_after) == (1000, 2000, 0)


def test_under_the_default_policy_the_same_downgrades_wait_for_may_1_with_no_credit() -> None:
    # rules P5, L3: nothing is charged or credited; the change is scheduled for the term end
    for current, target, day in (("p30", "p15", "2026-04-05"), ("p60", "p30", "2026-04-21")):
        acc = account(sub("s", current, 1, "2026-04-01", "2026-05-01", catalog=END_OF_TERM))

        q = quote(acc, END_OF_TERM, t(day), [ChangePlan(target)])
        renewal = renew(q.account, END_OF_TERM, t("2026-05-01"))

        assert q.lines == ()
        assert q.credit_added == 0
        assert [(s.action, s.change.product, s.change.effective) for s in q.scheduled] == [
            ("scheduled", target, t("2026-05-01"))
        ]
        assert renewal.lines[0].product == target
        assert renewal.lines[0].amount == price(target, catalog=END_OF_TERM)
