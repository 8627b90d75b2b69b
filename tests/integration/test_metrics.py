"""The dashboard's figures from histories made by the real services, on SQLite and PostgreSQL (domain/metrics.py).

Each test lives one or two accounts through orders, billing runs, failed payments, credit notes and refunds, then
refreshes the figures and reads the dashboard; the expected figures are computed by hand in the comments (list prices
of the default catalog in USD: Pro 15.99, Business 21.99, Large Meetings 500 50.00; PLN: Pro 64.99).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, update

from prorata.adapters.db.metrics import Dashboard, MonthRow, read_dashboard, refresh_metrics
from prorata.adapters.db.schema import accounts, invoices, metric_months
from prorata.domain.cart import AddAddon, Cancel, ChangePlan, SetLicenses
from prorata.domain.dunning import DunningPolicy
from prorata.domain.errors import ProrataError
from prorata.entrypoints.cli.main import main
from prorata.services.credit_notes import CreditInvoice, credit_invoice
from prorata.services.pay_invoices import PayInvoices, pay_invoices
from prorata.services.renew_due import BillingRunReport, RenewDue, renew_due
from tests.helpers import CATALOG
from tests.integration.shop import Shop


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def run(shop: Shop, when: datetime) -> BillingRunReport:
    shop.clock.at = when
    return renew_due(RenewDue(when), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                     catalog=CATALOG, dunning=shop.dunning)  # fmt: skip


def dashboard(engine: Engine, now: datetime, first: date, last: date, currency: str | None = "USD",
              dunning: DunningPolicy | None = None) -> Dashboard:  # fmt: skip
    refresh_metrics(engine, CATALOG, now=now)
    return read_dashboard(engine, currency=currency, first_month=first, last_month=last, now=now,
                          dunning=dunning or DunningPolicy())  # fmt: skip


def column(rows: tuple[MonthRow, ...], name: str) -> list[int]:
    return [getattr(row, name) for row in rows]


def number_of(engine: Engine, billing_date: datetime) -> str:
    with engine.connect() as conn:
        row = conn.execute(
            select(invoices.c.series, invoices.c.year, invoices.c.number).where(invoices.c.billing_date == billing_date)
        ).one()
    return f"{row.series}-{row.year}-{row.number:06d}"


def test_a_subscription_bought_upgraded_given_licenses_reduced_and_cancelled_moves_its_mrr_month_by_month(
    engine: Engine,
) -> None:
    # definitions MRR and movements; rules P2 (upgrade), L2 (licenses added), L3 (reduced at the term end), D1
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 5), key="buy")  # Nov 15 10:00: Pro x 5, period Nov 15 - Dec 15
    run(shop, at("2026-12-15T00:00"))  # renewed: Pro x 5, Dec 15 - Jan 15
    shop.clock.at = at("2026-12-20T09:00")
    shop.order(ChangePlan("business", 10), key="upgrade")  # Pro credited, Business x 10 charged, Dec 20 - Jan 15
    run(shop, at("2027-01-15T00:00"))  # Business x 10
    shop.clock.at = at("2027-01-20T09:00")
    shop.order(SetLicenses(12), key="more")  # 2 more, Jan 20 - Feb 15
    shop.clock.at = at("2027-01-25T09:00")
    shop.order(SetLicenses(10), key="fewer")  # rule L3: 10 from Feb 15
    run(shop, at("2027-02-15T00:00"))  # Business x 10
    shop.clock.at = at("2027-02-20T09:00")
    shop.order(Cancel(), key="cancel")  # ends Mar 15
    run(shop, at("2027-03-15T00:00"))  # nothing renews

    board = dashboard(engine, at("2027-04-02T12:00"), date(2026, 11, 1), date(2027, 4, 1))
    rows = board.series("USD")

    assert [row.month for row in rows] == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1),
                                           date(2027, 3, 1), date(2027, 4, 1)]  # fmt: skip
    assert [row.complete for row in rows] == [True] * 5 + [False]  # April is in progress at Apr 2
    # at each month's end: Nov 5 x 1599 = 7995; Dec 10 x 2199 = 21990; Jan 12 x 2199 = 26388; Feb 10 x 2199 = 21990;
    # Mar 0 (ended Mar 15)
    assert column(rows, "mrr") == [7995, 21990, 26388, 21990, 0, 0]
    assert column(rows, "new") == [7995, 0, 0, 0, 0, 0]
    assert column(rows, "expansion") == [0, 21990 - 7995, 26388 - 21990, 0, 0, 0]
    assert column(rows, "contraction") == [0, 0, 0, 26388 - 21990, 0, 0]
    assert column(rows, "churn") == [0, 0, 0, 0, 21990, 0]
    assert column(rows, "reactivation") == [0] * 6
    assert [row.net_new_mrr for row in rows] == [7995, 13995, 4398, -4398, -21990, 0]
    assert column(rows, "customers") == [1, 1, 1, 1, 0, 0]
    assert column(rows, "subscriptions") == [1, 1, 1, 1, 0, 0]
    assert column(rows, "licenses") == [5, 10, 12, 10, 0, 0]
    assert column(rows, "churned_customers") == [0, 0, 0, 0, 1, 0]
    # invoiced (tax 0: no Sold-To in the EU): Nov 7995. Dec: renewal 7995 + upgrade (Dec 20 - Jan 15 is 26 of 31
    # days): Business 21990 x 26/31 = 18443.23 -> 18443, Pro credited 7995 x 26/31 = 6705.48 -> 6705: 7995 + 18443 -
    # 6705 = 19733. Jan: 21990 + 2 x 2199 x 26/31 (3688.65 -> 3689) = 25679. Feb: 21990. Mar, Apr: 0
    assert column(rows, "invoiced") == [7995, 19733, 25679, 21990, 0, 0]
    assert column(rows, "collected") == column(rows, "invoiced")  # every invoice paid by card, no credit
    assert column(rows, "tax") == [0] * 6
    assert column(rows, "failed_payments") == [0] * 6
    assert board.products_month == date(2027, 4, 1)
    assert board.products == ()  # nothing held at Apr 2
    shop.assert_books_balance()


def test_mrr_by_product_at_the_ranges_end_and_a_range_that_starts_late(engine: Engine) -> None:
    # definition MRR by product: Business x 10 = 21990, Large Meetings 500 x 2 = 10000, at the end of November
    shop = Shop(engine)
    shop.order(ChangePlan("business", 10), AddAddon("large_meetings_500", 2), key="buy")

    board = dashboard(engine, at("2026-12-10T00:00"), date(2026, 11, 1), date(2026, 11, 1))

    assert [(p.product, p.mrr, p.subscriptions, p.quantity) for p in board.products] == [
        ("business", 21990, 1, 10), ("large_meetings_500", 10000, 1, 2),
    ]  # fmt: skip
    assert column(board.months, "mrr") == [31990]
    late = read_dashboard(engine, currency="USD", first_month=date(2026, 12, 1), last_month=date(2027, 6, 1),
                          now=at("2026-12-10T00:00"), dunning=DunningPolicy())  # fmt: skip
    assert [(row.month, row.mrr, row.new, row.complete) for row in late.months] == [(date(2026, 12, 1), 31990, 0,
                                                                                     False)]  # fmt: skip


def test_a_refund_leaves_mrr_as_it_was_and_is_taken_from_what_was_collected(engine: Engine) -> None:
    # definitions MRR (a credit note changes money, not the subscription) and collected (net of refunds); rule R2
    shop = Shop(engine)
    shop.order(ChangePlan("business", 10), AddAddon("large_meetings_500", 2), key="buy")  # 21990 + 10000 = 31990
    with engine.connect() as conn:
        (number,) = conn.execute(
            select(invoices.c.series, invoices.c.year, invoices.c.number).where(invoices.c.series == "INV")
        ).all()
    shop.clock.at = at("2026-11-20T09:00")
    refund = credit_invoice(CreditInvoice(f"INV-{number.year}-{number.number:06d}", "operator@vendor.test",
                                          "customer asked", (2,), refund="original_method"),
                            uow=shop.uow, clock=shop.clock, gateway=shop.gateway)  # fmt: skip
    assert refund.refund is not None
    assert (refund.refund.status, refund.refund.amount) == ("succeeded", 10000)  # the add-on's line, to the card

    (november,) = dashboard(engine, at("2026-11-30T12:00"), date(2026, 11, 1), date(2026, 11, 1)).months

    assert (november.mrr, november.new) == (31990, 31990)  # unchanged by the refund
    assert november.invoiced == 31990 - 10000  # the invoice less its credit note
    assert (november.collected, november.refunded, november.net_collected) == (31990, 10000, 21990)
    assert november.credit_balance == 0


def test_a_voided_renewal_counts_as_never_issued_and_its_credit_pays_the_next_one(engine: Engine) -> None:
    # definitions MRR (a void invoice's lines never count), invoiced (net of credit notes), credit balance
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3), key="buy")  # Nov 15: 3 x 1599 = 4797
    run(shop, at("2026-12-15T00:00"))  # renewed and paid by card: 4797
    shop.clock.at = at("2026-12-20T09:00")
    void = credit_invoice(CreditInvoice(number_of(engine, at("2026-12-15T00:00")), "operator@vendor.test",
                                        "goodwill"), uow=shop.uow, clock=shop.clock)  # fmt: skip
    assert void.to_balance == 4797  # what was paid goes to the credit balance
    run(shop, at("2027-01-15T00:00"))  # renewed, paid from the balance

    rows = dashboard(engine, at("2027-02-01T00:00"), date(2026, 11, 1), date(2027, 1, 1)).months

    # Nov 4797; Dec 0 (its period, Dec 15 - Jan 15, was voided): churn 4797; Jan 4797 again: a reactivation
    assert column(rows, "mrr") == [4797, 0, 4797]
    assert (column(rows, "churn"), column(rows, "reactivation")) == ([0, 4797, 0], [0, 0, 4797])
    assert column(rows, "invoiced") == [4797, 4797 - 4797, 4797]  # December: the renewal and its void
    assert column(rows, "collected") == [4797, 4797, 0]  # January was paid from the balance, not by card
    assert column(rows, "credit_balance") == [0, 4797, 0]


def test_two_currencies_are_shown_side_by_side_and_never_added(engine: Engine) -> None:
    # definition MRR: in the account's currency; a one-month product (rule A8) is not recurring
    usd = Shop(engine, code="acme")
    pln = Shop(engine, code="kowalski")
    with engine.begin() as conn:
        conn.execute(update(accounts).where(accounts.c.id == pln.account_id).values(currency="PLN"))
    usd.order(ChangePlan("pro", 2), AddAddon("webinar_500_one_month", 1), key="buy")  # 2 x 1599 = 3198, and 9900
    pln.order(ChangePlan("pro", 2), key="buy")  # 2 x 64.99 zł = 12998

    both = dashboard(engine, at("2026-12-01T00:00"), date(2026, 11, 1), date(2026, 11, 1), currency=None)

    assert both.currencies == ("PLN", "USD")
    assert [(row.currency, row.mrr, row.new, row.customers) for row in both.months] == [
        ("PLN", 12998, 12998, 1), ("USD", 3198, 3198, 1),
    ]  # fmt: skip
    assert [(row.currency, row.invoiced) for row in both.months] == [("PLN", 12998), ("USD", 3198 + 9900)]
    assert [(p.currency, p.product, p.mrr) for p in both.products] == [("PLN", "pro", 12998), ("USD", "pro", 3198)]
    only = read_dashboard(engine, currency="pln", first_month=date(2026, 11, 1), last_month=date(2026, 11, 1),
                          now=at("2026-12-01T00:00"), dunning=DunningPolicy())  # fmt: skip
    assert only.currency == "PLN"
    assert [(row.currency, row.mrr) for row in only.months] == [("PLN", 12998)]
    assert {p.currency for p in only.products} == {"PLN"}


def test_failed_payments_fill_the_dunning_funnel_and_dunning_churns_the_account(engine: Engine) -> None:
    # definitions dunning, failed payments, churn; rule I8: five attempts, overdue, cancelled 30 days later
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")  # 3198, paid
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")  # declines from now on
    run(shop, at("2026-12-15T00:00"))  # renewal 3198, first attempt fails
    now = at("2026-12-15T12:00")
    after_one = read_dashboard(engine, currency=None, first_month=date(2026, 12, 1), last_month=date(2026, 12, 1),
                               now=now, dunning=DunningPolicy())  # fmt: skip
    assert [(s.currency, s.failed_attempts, s.invoices, s.amount_due) for s in after_one.funnel] == [
        ("USD", 1, 1, 3198)
    ]
    assert after_one.overdue == ()
    for day in (1, 3, 5, 7):
        run(shop, at("2026-12-15T00:00") + timedelta(days=day))
    overdue_since = at("2026-12-22T00:00")

    board = dashboard(engine, at("2026-12-23T00:00"), date(2026, 11, 1), date(2026, 12, 1))

    assert [(s.failed_attempts, s.invoices, s.amount_due) for s in board.funnel] == [(5, 1, 3198)]
    assert [(o.currency, o.accounts, o.amount_due) for o in board.overdue] == [("USD", 1, 3198)]
    (listed,) = board.overdue_accounts
    assert (listed.code, listed.overdue_since, listed.open_invoices, listed.amount_due) == ("acme", overdue_since,
                                                                                            1, 3198)  # fmt: skip
    assert listed.cancels_at == overdue_since + timedelta(days=30)
    december = board.series("USD")[-1]
    assert (december.failed_payments, december.failed_amount) == (5, 5 * 3198)
    assert (december.mrr, december.invoiced, december.collected) == (3198, 3198, 0)  # invoiced, never paid

    run(shop, overdue_since + timedelta(days=30))  # Jan 21: the subscriptions end
    later = dashboard(engine, at("2027-02-01T00:00"), date(2026, 12, 1), date(2027, 1, 1))
    assert column(later.months, "mrr") == [3198, 0]
    assert column(later.months, "churn") == [0, 3198]
    assert column(later.months, "cancelled_accounts") == [0, 1]
    assert later.overdue == ()  # cancelled, no longer overdue
    # both renewals are still owed: December's after its five attempts, January's (issued while overdue, rule I8)
    # after the one attempt the Jan 21 run made before the account was cancelled
    assert [(s.failed_attempts, s.invoices, s.amount_due) for s in later.funnel] == [(1, 1, 3198), (5, 1, 3198)]
    assert column(later.months, "invoiced") == [3198, 3198]


def test_the_dunning_funnel_and_the_overdue_accounts_follow_the_configured_schedule(engine: Engine) -> None:
    # rule I8 configured: retried 2 and 4 days after the issue date (three attempts), cancelled 10 days overdue; two
    # payments the customer tried in between failed too, yet the funnel's last stage is the schedule's third attempt
    configured = DunningPolicy(retry_after_days=(2, 4), cancel_after_overdue_days=10)
    shop = Shop(engine, dunning=configured)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    for day in (0, 2, 4):
        run(shop, at("2026-12-15T00:00") + timedelta(days=day))
        if day < 4:
            report = pay_invoices(PayInvoices(shop.account_id, f"customer-{day}"), uow=shop.uow, clock=shop.clock,
                                  gateway=shop.gateway)  # fmt: skip
            assert report.failed
    overdue_since = at("2026-12-19T00:00")

    board = dashboard(engine, at("2026-12-20T00:00"), date(2026, 12, 1), date(2026, 12, 1), dunning=configured)
    default = dashboard(engine, at("2026-12-20T00:00"), date(2026, 12, 1), date(2026, 12, 1))

    assert [(s.failed_attempts, s.invoices, s.amount_due) for s in board.funnel] == [(3, 1, 3198)]
    assert [s.failed_attempts for s in default.funnel] == [5]  # the default schedule has five stages
    (listed,) = board.overdue_accounts
    assert (listed.overdue_since, listed.cancels_at) == (overdue_since, overdue_since + timedelta(days=10))
    assert board.series("USD")[-1].failed_payments == 5


def test_before_any_refresh_the_dashboard_says_so_and_shows_the_live_parts(engine: Engine) -> None:
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    board = read_dashboard(engine, currency=None, first_month=date(2026, 11, 1), last_month=date(2026, 11, 1),
                           now=at("2026-11-16T00:00"), dunning=DunningPolicy())  # fmt: skip
    assert (board.computed_at, board.months, board.products, board.funnel) == (None, (), (), ())
    assert "mrr" in board.definitions


def test_a_refresh_replaces_the_figures_it_kept_and_says_when(engine: Engine) -> None:
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    first = refresh_metrics(engine, CATALOG, now=at("2026-11-20T00:00"))
    shop.clock.at = at("2026-11-25T09:00")
    shop.order(SetLicenses(4), key="more")  # 4 x 1599 = 6396 from Nov 25
    second = refresh_metrics(engine, CATALOG, now=at("2026-11-26T00:00"))

    board = read_dashboard(engine, currency="USD", first_month=date(2026, 11, 1), last_month=date(2026, 11, 1),
                           now=at("2026-11-26T00:00"), dunning=DunningPolicy())  # fmt: skip

    assert (first.first_month, first.last_month, first.rows, second.rows) == (date(2026, 11, 1), date(2026, 11, 1),
                                                                              1, 1)  # fmt: skip
    assert board.computed_at == at("2026-11-26T00:00")
    assert board.refresh_milliseconds is not None
    assert [(row.mrr, row.new, row.licenses) for row in board.months] == [(6396, 6396, 4)]
    with engine.connect() as conn:
        assert len(conn.execute(select(metric_months)).all()) == 1


@pytest.mark.parametrize(
    ("currency", "first", "last", "code"),
    [
        ("XX", date(2026, 11, 1), date(2026, 11, 1), "currency.unknown"),
        (None, date(2026, 12, 1), date(2026, 11, 1), "period.empty"),
        (None, "2026-11", date(2026, 11, 1), "period.out_of_range"),
    ],
)
def test_bad_input_is_refused_with_a_code_never_an_error_page(engine: Engine, currency: str | None, first: object,
                                                              last: date, code: str) -> None:  # fmt: skip
    # rule X4
    with pytest.raises(ProrataError) as refused:
        read_dashboard(engine, currency=currency, first_month=first, last_month=last,  # type: ignore[arg-type]
                       now=at("2026-11-16T00:00"), dunning=DunningPolicy())  # fmt: skip
    assert refused.value.code == code


def test_the_kept_figures_of_a_currency_nobody_asked_for_stay_apart(engine: Engine) -> None:
    # the selector lists every currency with figures, the rows only the one asked for
    with engine.begin() as conn:
        conn.execute(insert(metric_months).values(currency="EUR", month=date(2026, 11, 1), mrr=100))
    board = read_dashboard(engine, currency="USD", first_month=date(2026, 11, 1), last_month=date(2026, 11, 1),
                           now=at("2026-11-16T00:00"), dunning=DunningPolicy())  # fmt: skip
    assert board.months == ()
    assert board.currencies == ()
    everything = read_dashboard(engine, currency=None, first_month=date(2026, 11, 1), last_month=date(2026, 11, 1),
                                now=at("2026-11-16T00:00"), dunning=DunningPolicy())  # fmt: skip
    assert everything.currencies == ("EUR",)
    assert [(row.currency, row.mrr) for row in everything.months] == [("EUR", 100)]


def test_prorata_metrics_refresh_computes_the_figures_the_dashboard_reads(
    engine: Engine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the CLI's subcommand, as the worker and `prorata bill` run it: at the installation's time
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")  # Nov 15, 2026: 2 x 1599 = 3198

    assert main(["metrics", "refresh", "--json", "--database", database_url]) == 0

    told = json.loads(capsys.readouterr().out)
    assert (told["accounts"], told["first_month"]) == (1, "2026-11-01")
    board = read_dashboard(engine, currency="USD", first_month=date(2026, 11, 1), last_month=date(2026, 11, 1),
                           now=at("2026-12-01T00:00"), dunning=DunningPolicy())  # fmt: skip
    assert board.computed_at is not None
    assert [(row.month, row.invoiced) for row in board.months] == [(date(2026, 11, 1), 3198)]
