"""The console's dashboard, catalog and billing runs through the web application, on SQLite and PostgreSQL: the
figures the page and its CSV show are the kept figures of the books, one currency at a time (never added across
currencies); a refused range names its field; the billing runs list what each run did and left."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from prorata.adapters.db.billing_run_log import SqlBillingRunLog
from prorata.adapters.db.clock import move_clock
from prorata.adapters.db.schema import audit_log
from prorata.bootstrap import App
from prorata.domain.dunning import DunningPolicy
from prorata.entrypoints.cli.billing import run_billing
from tests.e2e.conftest import START, make_overdue
from tests.e2e.test_console import ERROR, account, operator


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_dashboard_shows_each_currencys_figures_and_its_csv_holds_them(app: App) -> None:
    desk = operator(app)
    before = desk.get("/operator/")
    assert "No figures have been computed yet" in before.text
    desk.post("/operator/metrics/refresh")
    usd = desk.get("/operator/?currency=USD&first=2026-11&last=2026-11")
    pln = desk.get("/operator/?currency=PLN&first=2026-11&last=2026-11")
    # demo-pro: Pro x 3 at $15.99 = $47.97 a month; demo-business: Business x 12 at 89.99 zł + Large Meetings 500 x 2
    # at 199.00 zł = 1,079.88 + 398.00 = 1,477.88 zł
    assert "$47.97" in usd.text
    assert "1,477.88" in pln.text
    assert "1,477.88" not in usd.text  # never added across currencies
    months = rows(desk.get("/operator/dashboard.csv?currency=USD&first=2026-11&last=2026-11&table=months").text)
    assert [(r["currency"], r["month"], r["mrr"], r["new"], r["customers"]) for r in months] == [
        ("USD", "2026-11", "4797", "4797", "1")]  # fmt: skip
    products = rows(desk.get("/operator/dashboard.csv?currency=PLN&first=2026-11&last=2026-11&table=products").text)
    assert {(r["product"], r["mrr"], r["quantity"]) for r in products} == {
        ("business", "107988", "12"), ("large_meetings_500", "39800", "2")}  # fmt: skip
    with app.engine.connect() as conn:
        refreshed = conn.execute(select(audit_log.c.actor).where(audit_log.c.action == "metrics.refreshed"))
        assert refreshed.scalars().all() == ["operator:ops@example.test"]
    for picture in ("Monthly recurring revenue at each month", "MRR movements per month", "MRR by plan and add-on"):
        assert f'role="img" aria-label="{picture}' in pln.text


def test_dunning_shows_an_overdue_account_and_its_failed_attempts(app: App) -> None:
    make_overdue(app, "demo-pro")
    desk = operator(app)
    desk.post("/operator/metrics/refresh")
    page = desk.get("/operator/?currency=USD")
    assert "Demo Pro Studio" in page.text  # in the overdue accounts, with a link to it
    assert f'href="/operator/accounts/{account(app, "demo-pro")}"' in page.text
    funnel = rows(desk.get("/operator/dashboard.csv?currency=USD&table=funnel").text)
    assert [(r["failed_attempts"], r["invoices"]) for r in funnel] == [("5", "1")]
    months = rows(desk.get("/operator/dashboard.csv?currency=USD&first=2026-12&last=2026-12").text)
    assert int(months[0]["failed_payments"]) == 5


@pytest.mark.parametrize(
    ("language", "schedule", "cancelled", "cancels"),
    [
        ("en", "retried on days 2 and 4 after the issue date", "end 10 days after it became overdue", "Dec 30, 2026"),
        ("pl", "ponowne próby w dniach 2 i 4 po dacie wystawienia", "kończą się 10 dni po tym", "30 gru 2026"),
    ],
)
def test_the_dunning_funnel_and_its_legend_follow_the_configured_schedule(
    app: App, language: str, schedule: str, cancelled: str, cancels: str
) -> None:
    # rule I8 configured: three attempts (the issue date, days 2 and 4), cancelled 10 days overdue
    app.dunning = DunningPolicy(retry_after_days=(2, 4), cancel_after_overdue_days=10)
    make_overdue(app, "demo-pro")  # overdue since Dec 20, 12:00: the run that made the retry due on day 4
    desk = operator(app, language)
    desk.post("/operator/metrics/refresh")

    page = desk.get("/operator/?currency=USD")
    funnel = rows(desk.get("/operator/dashboard.csv?currency=USD&table=funnel").text)

    assert [(r["failed_attempts"], r["invoices"]) for r in funnel] == [("3", "1")]
    legend = page.text.split('id="dunning-schedule">')[1].split("</dd>")[0]
    assert schedule in legend
    assert cancelled in legend
    assert cancels in page.text  # the overdue account's row: when its subscriptions end


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("first=2026-13&last=2026-12", "first_month", "a month written YYYY-MM"),
        ("first=2026-12&last=2026-01", "last_month", "before the first month"),
        ("first=x&last=%00", "last_month", "a month written YYYY-MM"),
    ],
)
def test_a_wrong_range_is_refused_naming_its_field_and_the_page_still_shows(
    app: App, query: str, field: str, message: str
) -> None:
    desk = operator(app)
    page = desk.get(f"/operator/?{query}")
    assert page.status_code == 400
    assert f'id="{field}-error"' in page.text
    assert message in ERROR.findall(page.text)[0]
    assert desk.get(f"/operator/dashboard.csv?{query}").status_code == 400


def test_the_catalog_shows_prices_and_where_each_product_is_used(app: App) -> None:
    page = operator(app).get("/operator/catalog").text
    business_row = page[page.index("<code>business</code>") :].split("</tr>")[0]
    # Business: held by one account, 12 licenses
    assert business_row.count('<td class="num">1</td>') == 2
    assert '<td class="num">12</td>' in business_row
    assert "89.99" in business_row
    assert "23%" in page  # Poland's standard rate, as loaded


def test_billing_runs_are_listed_with_what_they_did_and_what_they_left(app: App) -> None:
    renewal = START + timedelta(days=30, hours=2)
    move_clock(app.engine, renewal)
    app.clock.refresh()
    run_billing(app, renewal, actor="prorata bill")
    desk = operator(app)
    listing = desk.get("/operator/billing-runs").text
    assert "prorata bill" in listing
    run = desk.get("/operator/billing-runs/1")
    assert run.status_code == 200
    assert "Accounts renewed" in run.text
    assert "INV-" in run.text  # the first and last invoice numbers it issued
    assert desk.get("/operator/billing-runs/99").status_code == 404


def test_a_running_billing_run_shows_its_progress(app: App) -> None:
    log = SqlBillingRunLog(app.engine)
    run_id = log.start(app.clock.now(), "prorata bill", app.clock.now())
    log.progress(run_id, 1200, 4800)
    listing = operator(app).get("/operator/billing-runs").text
    assert '<progress max="4800" value="1200"' in listing
    assert "1200 / 4800" in listing
    assert "Reload to see its progress" in listing
