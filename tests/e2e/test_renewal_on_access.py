"""Renewal on access through the API and the portal (rules C7, X4, X5): between the end of a period and the next
billing run, quotes, orders, the plan forms and every view are answered on the renewed account, on a simulation
clock and on the real one; the run then finds nothing to renew. An account that cannot be renewed on the spot is
refused with the reason, about the account, never a field the request does not have.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from prorata.adapters.db.clock import move_clock
from prorata.adapters.db.database import migrate
from prorata.adapters.db.schema import invoices, subscriptions
from prorata.bootstrap import App, build
from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.entrypoints.web import create_app
from prorata.services.place_order import PlaceOrder, place_order
from tests.e2e.api_client import NOW, Api
from tests.e2e.conftest import START, Visitor, account_id
from tests.e2e.test_api_access import assert_problem
from tests.integration.shop import FixedClock
from tests.races import HeldGateway, in_flight

RUNS = "/api/v1/operator/billing-runs"
MORE = {"changes": [{"type": "set_licenses", "total": 4}]}


def renewal_dates(app: App, account: int) -> list[datetime]:
    with app.engine.connect() as conn:
        return list(
            conn.execute(
                select(invoices.c.billing_date).where(
                    invoices.c.account_id == account, invoices.c.billing_date.is_not(None)
                )
            ).scalars()
        )


def test_after_the_period_end_quotes_and_orders_are_answered_and_the_run_finds_nothing(api: Api) -> None:
    # rule C7: no 422 subscription.period_not_current ("renew it first") while the run has not come
    acme = api.open_account("acme")
    assert acme.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="buy").status_code == 201
    api.at(NOW + timedelta(days=31))  # the period ended on Dec 15; no billing run since

    quoted = acme.post("/quote", MORE)
    placed = acme.order(*MORE["changes"], key="more")

    assert quoted.status_code == 200, quoted.text
    assert placed.status_code == 201, placed.text
    assert quoted.json()["amount_due"] == placed.json()["amount_due"]  # rule C6
    assert renewal_dates(api.app, acme.id) == [datetime(2026, 12, 15, tzinfo=UTC)]
    run = api.client.post(RUNS, json={}, headers=api.operator).json()
    assert (run["complete"], run["accounts"], run["invoices"]) == (True, 0, [])
    assert run["payments_succeeded"] == 1  # the renewal's invoice, collected on its issue date like any other


def test_an_api_view_renews_an_account_whose_period_ended(api: Api) -> None:
    acme = api.open_account("acme")
    assert acme.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="buy").status_code == 201
    api.at(NOW + timedelta(days=31))

    subs = acme.get("/subscriptions")

    assert subs.status_code == 200, subs.text
    assert [s["period_end"] for s in subs.json()] == ["2027-01-15T00:00:00Z"]
    assert len(acme.get("/invoices").json()) == 2


def test_an_account_that_cannot_be_renewed_is_refused_quotes_and_orders_with_the_reason(api: Api) -> None:
    # rule X4: 409, the account's state; the code and the rule say what, no field of the request is blamed
    acme = api.open_account("acme")
    assert acme.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="buy").status_code == 201
    with api.app.engine.begin() as conn:
        conn.execute(update(subscriptions).where(subscriptions.c.account_id == acme.id).values(product="legacy"))
    api.at(NOW + timedelta(days=31))
    before = api.snapshot()

    for refused in (acme.post("/quote", MORE), acme.order(*MORE["changes"], key="more")):
        problem = assert_problem(refused, 409, "account.renewal_refused")
        assert (problem["rule"], problem["field"]) == ("C7", None)
        assert "'legacy' is not a product" in problem["detail"]

    assert api.snapshot() == before
    assert acme.get("/subscriptions").status_code == 200  # shown as it is


# ------------------------------------------------------------------------------------------------ the real clock
@pytest.fixture
def real_api(database_url: str) -> Iterator[Api]:
    """An installation on the real clock, as in production: time passes, nobody moves it."""
    context = build(database_url)
    migrate(context.engine)
    context.clock.refresh()
    assert not context.clock.simulated
    with TestClient(create_app(context)) as client:
        yield Api(context, client)
    context.close()


def test_on_the_real_clock_an_account_behind_the_run_is_renewed_when_touched(real_api: Api) -> None:
    # bought 40 days ago, its month ended some days ago, and no `prorata bill` has run since
    api = real_api
    acme = api.open_account("acme")
    bought = datetime.now(UTC) - timedelta(days=40)
    place_order(
        PlaceOrder(acme.id, (ChangePlan("pro", 2),), "buy", actor="test", terms_version="2026-01", terms_accepted=True),
        uow=api.app.uow, clock=FixedClock(bought), gateway=api.app.gateway, catalog=api.app.catalog, tax=api.app.tax,
    )  # fmt: skip
    with api.app.engine.connect() as conn:
        ended = conn.execute(select(subscriptions.c.period_end)).scalar_one()
    assert bought < ended < datetime.now(UTC)

    quoted = acme.post("/quote", MORE)
    placed = acme.order(*MORE["changes"], key="more")

    assert quoted.status_code == 200, quoted.text
    assert placed.status_code == 201, placed.text
    assert renewal_dates(api.app, acme.id) == [ended]
    [plan] = acme.get("/subscriptions").json()
    assert datetime.fromisoformat(plan["period_end"]) > datetime.now(UTC)
    assert plan["quantity"] == 4
    run = api.client.post(RUNS, json={}, headers=api.operator).json()
    assert (run["complete"], run["accounts"], run["invoices"]) == (True, 0, [])


# ------------------------------------------------------------------------------------------------ the portal
def test_the_plan_form_after_the_period_end_is_answered_on_the_renewed_account(visitor: Visitor) -> None:
    # it answered 400 with no message at all: the engine's "renew it first" named a field no form has
    move_clock(visitor.app.engine, START + timedelta(days=35))
    visitor.sign_in("owner@demo-pro.test")

    page = visitor.get("/billing")
    form = visitor.post("/billing/upgrade/business", {"licenses": "10", "interval": "month"})

    assert 'id="plan-next">Jan 15, 2027<' in page.text
    assert form.url.path == "/checkout/products", form.text
    assert len(renewal_dates(visitor.app, account_id(visitor.app, "demo-pro"))) == 1


def test_the_plan_form_says_why_when_the_renewal_waits_for_an_order_being_paid(visitor: Visitor) -> None:
    # rules C7, X5: the reason above the form, in the buyer's language; once the order is paid the form goes on
    app = visitor.app
    demo_pro = account_id(app, "demo-pro")
    gateway = HeldGateway("order-")
    order = PlaceOrder(demo_pro, (SetLicenses(4),), "more", actor="owner@demo-pro.test", terms_version="2026-01",
                       terms_accepted=True)  # fmt: skip
    day_before = FixedClock(START + timedelta(days=29))
    thread = in_flight(gateway, lambda: place_order(order, uow=app.uow, clock=day_before, gateway=gateway,
                                                    catalog=app.catalog, tax=app.tax))  # fmt: skip
    try:
        move_clock(app.engine, START + timedelta(days=35))
        visitor.sign_in("owner@demo-pro.test")
        english = visitor.post("/billing/upgrade/business", {"licenses": "10", "interval": "month"})
        visitor.language("pl")
        polish = visitor.post("/billing/upgrade/business", {"licenses": "10", "interval": "month"})
    finally:
        gateway.release.set()
        thread.join(timeout=30)

    assert english.status_code == 400
    assert "The billing period has ended and its renewal is waiting for another change of the account" in english.text
    assert polish.status_code == 400
    assert "Okres rozliczeniowy się zakończył, a jego odnowienie czeka na inną zmianę konta" in polish.text
    assert 'id="error-form"' in polish.text
    form = visitor.post("/billing/upgrade/business", {"licenses": "10", "interval": "month"})
    assert form.url.path == "/checkout/products", form.text
    assert len(renewal_dates(app, demo_pro)) == 1
