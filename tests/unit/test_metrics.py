"""The dashboard's metric definitions (domain/metrics.py) against histories computed by hand.

Every amount is minor units; MRR is rounded once per account and instant, half up; movements add up to the change of
MRR; two currencies are never added.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from prorata.domain import metrics as m
from prorata.domain.dunning import DunningPolicy
from prorata.domain.errors import InvalidInput
from tests.helpers import t


def charge(product: str, quantity: int, unit: int, start: str, end: str, months: int = 1) -> m.RecurringLine:
    return m.RecurringLine("charge", product, quantity, unit, t(start), t(end), months)


def credit(product: str, quantity: int, start: str, end: str) -> m.RecurringLine:
    return m.RecurringLine("credit", product, quantity, None, t(start), t(end), 1)


def mrr(lines: list[m.RecurringLine], at: str, ended: str | None = None) -> int:
    return m.account_mrr(m.recurring_blocks(lines, t(ended) if ended else None), t(at))


def test_mrr_is_list_price_times_licenses_of_what_is_in_force_at_the_months_last_moment() -> None:
    # definition MRR: Pro x 5 at 15.99 for Nov 1 - Dec 1 is 5 x 1599 = 7995 at the end of November (Dec 1) ...
    renewal = [charge("pro", 5, 1599, "2026-11-01", "2026-12-01")]
    assert mrr(renewal, "2026-12-01") == 7995
    assert mrr(renewal, "2026-11-15") == 7995
    # ... and nothing at the end of October (Nov 1): the period begins at that instant, it is not in force before it
    assert mrr(renewal, "2026-11-01") == 0
    assert mrr(renewal, "2026-12-02") == 0  # not renewed: nothing after its end


def test_a_yearly_price_counts_a_twelfth_a_month_rounded_once_per_account_half_up() -> None:
    # definition MRR: 10 x 120.00 a year = 1200.00 / 12 = 100.00 a month
    assert mrr([charge("business", 10, 12000, "2026-01-10", "2027-01-10", months=12)], "2026-06-01") == 10000
    # 1 x 149.99 a year = 14999 / 12 = 1249.9166... -> 1250; 1 x 0.06 a year = 0.5 -> 1 (half up)
    assert mrr([charge("pro", 1, 14999, "2026-01-10", "2027-01-10", months=12)], "2026-06-01") == 1250
    assert mrr([charge("pro", 1, 6, "2026-01-10", "2027-01-10", months=12)], "2026-06-01") == 1


def test_an_upgrade_credit_ends_the_old_plan_where_the_new_one_begins() -> None:
    # rule P2: Pro x 5 (1599) renewed Nov 1; on Nov 15 the unused time is credited and Business x 10 (2199) charged
    lines = [
        charge("pro", 5, 1599, "2026-11-01", "2026-12-01"),
        credit("pro", 5, "2026-11-15", "2026-12-01"),
        charge("business", 10, 2199, "2026-11-15", "2026-12-01"),
    ]
    assert mrr(lines, "2026-11-15") == 5 * 1599  # 7995: the last moment before the change
    assert mrr(lines, "2026-12-01") == 10 * 2199  # 21990: Pro no longer counts, Business does
    blocks = m.recurring_blocks(lines)
    assert [(b.product, b.quantity, b.start, b.end) for b in blocks] == [
        ("pro", 5, t("2026-11-01"), t("2026-11-15")),
        ("business", 10, t("2026-11-15"), t("2026-12-01")),
    ]


def test_added_licenses_count_from_their_purchase_at_the_full_list_price_not_the_prorated_amount() -> None:
    # rule L2: 5 licenses renewed, 2 more bought on Nov 15 (charged 16/30 of 1599 each); the run rate is 7 x 1599
    lines = [charge("pro", 5, 1599, "2026-11-01", "2026-12-01"), charge("pro", 2, 1599, "2026-11-15", "2026-12-01")]
    assert mrr(lines, "2026-11-10") == 7995
    assert mrr(lines, "2026-12-01") == 11193  # 7 x 1599


def test_an_immediate_reduction_removes_the_latest_licenses_first() -> None:
    # rule P7: 5 at 10.00 renewed Nov 1, 2 more at 12.00 (a later price) on Nov 10, 3 removed on Nov 20: the 2 at
    # 12.00 and 1 at 10.00 go; 4 at 10.00 stay = 4000 (5 x 1000 + 2 x 1200 = 7400 before)
    lines = [
        charge("pro", 5, 1000, "2026-11-01", "2026-12-01"),
        charge("pro", 2, 1200, "2026-11-10", "2026-12-01"),
        credit("pro", 3, "2026-11-20", "2026-12-01"),
    ]
    assert mrr(lines, "2026-11-20") == 7400
    assert mrr(lines, "2026-12-01") == 4000


def test_a_reduction_at_the_term_end_shows_at_the_renewal() -> None:
    # rule L3: 12 licenses until Dec 1, renewed with 10: the month that begins Dec 1 ends with 10
    lines = [charge("pro", 12, 1000, "2026-11-01", "2026-12-01"), charge("pro", 10, 1000, "2026-12-01", "2027-01-01")]
    assert (mrr(lines, "2026-12-01"), mrr(lines, "2027-01-01")) == (12000, 10000)


def test_a_subscription_that_ended_counts_no_more_from_its_end() -> None:
    # rule I8: dunning ended it on Nov 20, in the middle of a period invoiced (and never paid) to Dec 1
    lines = [charge("pro", 5, 1000, "2026-11-01", "2026-12-01")]
    assert mrr(lines, "2026-11-20", ended="2026-11-20") == 5000
    assert mrr(lines, "2026-12-01", ended="2026-11-20") == 0


def test_a_credit_with_nothing_in_force_removes_nothing() -> None:
    # the charge it reversed was on a void invoice (never handed over): the new charge alone counts
    lines = [credit("pro", 5, "2026-11-15", "2026-12-01"), charge("business", 10, 2000, "2026-11-15", "2026-12-01")]
    assert mrr(lines, "2026-12-01") == 20000


@pytest.mark.parametrize(
    ("before", "after", "had", "expected"),
    [
        (0, 5000, False, (m.Movement.NEW, 5000)),
        (0, 5000, True, (m.Movement.REACTIVATION, 5000)),
        (5000, 7000, True, (m.Movement.EXPANSION, 2000)),
        (7000, 5000, True, (m.Movement.CONTRACTION, 2000)),
        (5000, 0, True, (m.Movement.CHURN, 5000)),
        (5000, 5000, True, None),
        (0, 0, True, None),
    ],
)
def test_each_movement_is_named_by_the_mrr_at_the_two_month_ends(
    before: int, after: int, had: bool, expected: tuple[m.Movement, int] | None
) -> None:
    # definition movements: new, reactivation, expansion, contraction, churn
    assert m.movement(before, after, had_mrr_before=had) == expected


def test_interval_months_reads_the_whole_period_and_falls_back_to_the_subscriptions_interval() -> None:
    assert m.interval_months(t("2026-02-01"), t("2026-03-01"), 12) == 1  # 28 days
    assert m.interval_months(t("2026-01-31"), t("2027-01-31"), 1) == 12  # 365 days
    assert m.interval_months(None, None, 12) == 12


def test_the_month_in_progress_is_measured_now_and_later_months_not_at_all() -> None:
    now = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    months = m.months_from(date(2026, 10, 1), date(2027, 2, 1))
    assert len(months) == 5
    assert m.instants(months, now) == [t("2026-10-01"), t("2026-11-01"), t("2026-12-01"), now]


def history() -> m.Rollup:
    """Two USD accounts and one PLN account over October - January (instants: Oct 1, Nov 1, Dec 1, Jan 1, Feb 1).

    - A (USD): Pro x 5 at 1000 from Oct 5; 2 more from Nov 10 (expansion 2000); cancelled at the term end Dec 5
      (churn 7000 in December); back Jan 20 with Pro x 1 (reactivation 1000 in January).
    - B (USD): Business x 10 at 2000 yearly-priced 24000 from Nov 3 (new 20000 in November); reduced to 8 on Dec 3
      (contraction 4000 in December).
    - C (PLN): Pro x 3 at 5000 from Oct 20 (new 15000 in October), never changed.
    """
    at = m.instants(m.months_from(date(2026, 10, 1), date(2027, 1, 1)), t("2027-03-01"))
    rollup = m.Rollup(at)
    plans = frozenset({"pro", "business"})
    a = [
        charge("pro", 5, 1000, "2026-10-05", "2026-11-05"),
        charge("pro", 5, 1000, "2026-11-05", "2026-12-05"),  # renewed
        charge("pro", 2, 1000, "2026-11-10", "2026-12-05"),  # rule L2: 2 more to the same billing date
    ]
    a_again = [charge("pro", 1, 1000, "2027-01-20", "2027-02-20")]
    rollup.add(m.account_series("USD", [m.recurring_blocks(a), m.recurring_blocks(a_again)], at, plans))
    b = [
        charge("business", 10, 24000, "2026-11-03", "2026-12-03", months=12),
        charge("business", 8, 24000, "2026-12-03", "2027-01-03", months=12),
        charge("business", 8, 24000, "2027-01-03", "2027-02-03", months=12),
    ]
    rollup.add(m.account_series("USD", [m.recurring_blocks(b)], at, plans))
    periods = ["2026-10-20", "2026-11-20", "2026-12-20", "2027-01-20", "2027-02-20"]
    c = [charge("pro", 3, 5000, start, end) for start, end in itertools.pairwise(periods)]
    rollup.add(m.account_series("PLN", [m.recurring_blocks(c)], at, plans))
    return rollup


def test_a_hand_computed_history_of_new_expansion_contraction_churn_and_reactivation() -> None:
    rollup = history()
    usd = [rollup.figures[("USD", k)] for k in range(4)]  # October, November, December, January
    # A: Oct 5000; Nov 7000; Dec 0; Jan 1000. B: Nov 10 x 24000 / 12 = 20000; Dec and Jan 8 x 2000 = 16000
    assert [f.mrr for f in usd] == [5000, 27000, 16000, 17000]
    assert [f.new for f in usd] == [5000, 20000, 0, 0]
    assert [f.expansion for f in usd] == [0, 2000, 0, 0]
    assert [f.contraction for f in usd] == [0, 0, 4000, 0]
    assert [f.churn for f in usd] == [0, 0, 7000, 0]
    assert [f.reactivation for f in usd] == [0, 0, 0, 1000]
    assert [(f.new_customers, f.churned_customers, f.reactivated_customers) for f in usd] == [
        (1, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1),
    ]  # fmt: skip
    assert [f.customers for f in usd] == [1, 2, 1, 2]
    assert [f.licenses for f in usd] == [5, 17, 8, 9]
    opening = 0
    for f in usd:  # definition net new MRR: the movements add up to the change of MRR, exactly
        assert opening + m.net_new_mrr(f.new, f.reactivation, f.expansion, f.contraction, f.churn) == f.mrr
        opening = f.mrr


def test_two_currencies_are_never_added() -> None:
    rollup = history()
    pln = [rollup.figures[("PLN", k)].mrr for k in range(4)]
    assert pln == [15000, 15000, 15000, 15000]  # C alone: 3 x 5000, whatever the USD accounts do
    assert rollup.figures[("PLN", 0)].new == 15000
    assert rollup.products[("USD", 3, "pro")] == [1000, 1, 1]  # January: A's Pro x 1
    assert rollup.products[("USD", 3, "business")] == [16000, 1, 8]
    assert rollup.products[("PLN", 3, "pro")] == [15000, 1, 3]


def test_mrr_by_product_is_rounded_per_account_and_product() -> None:
    # two accounts each with 1 x 149.99 a year: 1249.9166... rounds to 1250 for each, so 2500 in all (not 2499.83)
    at = [t("2026-06-01"), t("2026-07-01")]
    rollup = m.Rollup(at)
    for _ in range(2):
        blocks = m.recurring_blocks([charge("pro", 1, 14999, "2026-01-10", "2027-01-10", months=12)])
        rollup.add(m.account_series("USD", [blocks], at, frozenset({"pro"})))
    assert rollup.figures[("USD", 0)].mrr == 2500
    assert rollup.products[("USD", 0, "pro")] == [2500, 2, 2]


def test_the_money_figures_follow_their_definitions() -> None:
    # invoiced: 10000 issued, a credit note of -2500 -> 7500; collected: 9000 received, 1500 refunded -> 7500
    assert m.invoiced(10000, -2500) == 7500
    assert m.collected(9000, 1500) == 7500
    assert m.credit_balance(1234) == 1234


def test_the_dunning_stage_is_the_failed_attempts_up_to_the_last_one() -> None:
    # rule I8: by default five attempts (the issue date and four retries), then the account is overdue
    default = DunningPolicy()
    assert default.attempts == 5
    assert [m.dunning_stage(n, default) for n in (0, 1, 4, 5, 9)] == [0, 1, 4, 5, 5]


def test_the_dunning_stages_follow_the_configured_schedule() -> None:
    # rule I8: retried after 2 and 4 days: three attempts, the third failure is the last stage
    configured = DunningPolicy(retry_after_days=(2, 4), cancel_after_overdue_days=10)
    assert configured.attempts == 3
    assert [m.dunning_stage(n, configured) for n in (0, 1, 2, 3, 4, 5)] == [0, 1, 2, 3, 3, 3]


@pytest.mark.parametrize(
    ("first", "last", "code", "field"),
    [
        (date(2026, 12, 1), date(2026, 11, 1), "period.empty", "last_month"),
        (date(2000, 1, 1), date(2026, 11, 1), "period.out_of_range", "first_month"),
        ("2026-01", date(2026, 11, 1), "period.out_of_range", "first_month"),
        (date(2026, 1, 1), datetime(2026, 11, 1, tzinfo=UTC), "period.out_of_range", "last_month"),
    ],
)
def test_a_bad_range_of_months_is_refused_naming_the_field(first: object, last: object, code: str,
                                                           field: str) -> None:  # fmt: skip
    # rule X4: never an error page
    with pytest.raises(InvalidInput) as refused:
        m.check_months(first, last)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_any_day_names_its_month() -> None:
    assert m.check_months(date(2026, 1, 31), date(2026, 3, 15)) == (date(2026, 1, 1), date(2026, 3, 1))


def test_the_legend_gives_every_figure_its_definition() -> None:
    assert set(m.DEFINITIONS) >= {"mrr", "movements", "invoiced", "collected", "credit_balance", "dunning"}
    assert "yearly price divided by 12" in m.DEFINITIONS["mrr"]
    assert "churn" in m.DEFINITIONS["movements"]
    assert all("**" not in text and len(text) > 40 for text in m.DEFINITIONS.values())
