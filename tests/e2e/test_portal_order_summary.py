"""The cart, the order summary and the confirmation say exactly what an order does (rules C6, T3, L3, L4, L6, P5,
D1): one block of figures on every page (tax with its rate, the credit balance used or added, the amount due), each
change left for the term end as what it is and with its date, each withdrawn one as withdrawn, and a confirmation
that never calls a change for the term end a purchase. On SQLite and PostgreSQL, through the portal's forms.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from prorata.adapters.db.queries import invoice_view, invoice_views, subscription_views, user_views
from prorata.adapters.db.schema import orders
from prorata.bootstrap import App
from prorata.domain.cart import Cancel
from prorata.domain.errors import ProrataError
from prorata.entrypoints.portal.i18n import money
from prorata.services.assign_license import Assignment, assign_license
from prorata.services.credit_notes import void_invoice
from prorata.services.place_order import PlaceOrder, place_order
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.order_page import norm, order_page, text_by_id
from tests.e2e.test_portal import checkout

BUSINESS = "owner@demo-business.test"


def pending(app: App) -> list[tuple[str, str, int | None, str | None]]:
    with app.engine.connect() as conn:
        subs = subscription_views(conn, account_id(app, "demo-business"))
    return [(s.product, p.kind, p.quantity, p.product) for s in subs for p in s.pending]


def last_order(app: App) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(orders.c.id).order_by(orders.c.id.desc())).scalars().first() or 0)


def test_a_reduction_is_summarised_with_its_date_and_no_refund_and_confirmed_as_scheduled_not_purchased(
    visitor: Visitor,
) -> None:
    # rules L3, L4: Business x 12, 7 assigned, reduced to 10 at the term end (December 15)
    visitor.sign_in(BUSINESS)
    visitor.post("/billing/edit", {"licenses": "10", "interval": "month"})

    summary, placed = checkout(visitor)

    shown = order_page(summary.text)
    assert [(c.action, c.kind, c.quantity) for c in shown.changes] == [("scheduled", "quantity", 10)]
    assert shown.changes[0].text == (
        "Scheduled Business: reduced to 10 licenses on Dec 15, 2026. No refund: all 12 licenses can be used until then."
    )
    assert shown.lines == []
    assert shown.figures["amount-due"] == norm(money(0, "PLN"))
    title = text_by_id(placed.text, "confirmation-title")
    assert title == "Your change is scheduled for the end of the billing period"
    assert "Your purchase is complete" not in placed.text
    assert text_by_id(placed.text, "nothing-charged") == "Nothing was charged and no invoice was issued."
    assert order_page(placed.text).changes == shown.changes  # confirmed as summarised
    plan_id = order_page(placed.text).changes[0].subscription
    assert text_by_id(placed.text, f"unassign-{plan_id}") == (
        "Nobody needs to be unassigned: 7 assigned, 10 licenses remain."
    )
    assert pending(visitor.app) == [("business", "quantity", 10, None)]


def test_an_increase_above_a_scheduled_reduction_shows_the_reduction_withdrawn_never_pending(visitor: Visitor) -> None:
    # rule L6: the order withdraws the reduction to 10 and buys two licenses; both are said
    visitor.sign_in(BUSINESS)
    visitor.post("/billing/edit", {"licenses": "10", "interval": "month"})
    checkout(visitor)
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})

    cart = order_page(visitor.get("/cart").text)
    summary, placed = checkout(visitor)

    shown = order_page(summary.text)
    assert [(c.action, c.kind, c.quantity) for c in shown.changes] == [("withdrawn", "quantity", 10)]
    assert shown.changes[0].text == ("Withdrawn Business: the reduction to 10 licenses on Dec 15, 2026 is withdrawn.")
    assert "Pending change" not in summary.text
    assert cart.changes == shown.changes
    assert text_by_id(placed.text, "confirmation-title") == (
        "Your purchase is complete, and a scheduled change is withdrawn"
    )
    assert pending(visitor.app) == []


def test_entering_the_current_total_withdraws_the_reduction_and_is_confirmed_as_withdrawn_in_polish(
    visitor: Visitor,
) -> None:
    # rules L6, X5: nothing charged; the Polish customer reads that the change was withdrawn
    visitor.sign_in(BUSINESS)
    visitor.post("/billing/edit", {"licenses": "10", "interval": "month"})
    checkout(visitor)
    visitor.language("pl")
    visitor.post("/billing/edit", {"licenses": "12", "interval": "month"})

    summary, placed = checkout(visitor)

    shown = order_page(summary.text)
    assert [c.text for c in shown.changes] == [
        "Wycofana Dla firm: wycofano zmniejszenie do 10 licencji zaplanowane na 15 gru 2026."
    ]
    assert text_by_id(placed.text, "confirmation-title") == "Zaplanowana zmiana została wycofana"
    assert pending(visitor.app) == []


def test_a_downgrade_is_confirmed_with_its_date_no_refund_and_who_may_still_be_assigned(visitor: Visitor) -> None:
    # rules P5, L4: Business x 12 (7 assigned) -> Pro x 8 at the term end: one more user may get a license meanwhile,
    # a second one may not (8 remain), and the confirmation says nobody needs to be unassigned
    visitor.sign_in(BUSINESS)
    visitor.post("/billing/upgrade/pro", {"licenses": "8", "interval": "month"})

    summary, placed = checkout(visitor)

    shown = order_page(summary.text)
    assert [(c.action, c.kind, c.target, c.quantity) for c in shown.changes] == [("scheduled", "product", "pro", 8)]
    assert shown.changes[0].text == (
        "Scheduled Business: downgrade to Pro with 8 licenses on Dec 15, 2026. "
        "No refund: all 12 licenses can be used until then."
    )
    plan = shown.changes[0].subscription
    assert text_by_id(placed.text, f"unassign-{plan}") == (
        "Nobody needs to be unassigned: 7 assigned, 8 licenses remain."
    )
    app, business = visitor.app, account_id(visitor.app, "demo-business")
    with app.engine.connect() as conn:
        free = [u.id for u in user_views(conn, business) if not u.subscriptions]
    assign_license(Assignment(business, int(plan), free[0]), uow=app.uow, clock=app.clock, catalog=app.catalog,
                   actor=BUSINESS)  # fmt: skip
    with pytest.raises(ProrataError) as refused:
        assign_license(Assignment(business, int(plan), free[1]), uow=app.uow, clock=app.clock, catalog=app.catalog,
                       actor=BUSINESS)  # fmt: skip
    assert (refused.value.code, refused.value.rule) == ("assignment.pending_reduction", "L4")

    again = visitor.get(placed.url.path)

    assert text_by_id(again.text, f"unassign-{plan}") == "Nobody needs to be unassigned: 8 assigned, 8 licenses remain."


def test_a_cancellation_is_confirmed_with_its_date_and_a_reactivation_as_withdrawn(visitor: Visitor) -> None:
    # rules D1, D2: the plan and its add-on, both on December 15
    visitor.sign_in(BUSINESS)
    visitor.post("/billing/cancel", {"with_addons": "1"})

    summary, placed = checkout(visitor)

    assert "Cancellation at the end of the billing period: Business and its add-ons" in summary.text
    shown = order_page(summary.text)
    assert [(c.action, c.kind, c.product) for c in shown.changes] == [
        ("scheduled", "cancel", "large_meetings_500"),
        ("scheduled", "cancel", "business"),
    ]
    assert shown.changes[1].text == (
        "Scheduled Business: cancelled on Dec 15, 2026. "
        "Until then nothing changes; you can reactivate it before that date."
    )
    assert text_by_id(placed.text, "confirmation-title") == "Your change is scheduled for the end of the billing period"

    visitor.post("/billing/reactivate", {})
    summary, placed = checkout(visitor)

    assert "Reactivation: Business" in summary.text
    assert {(c.action, c.kind) for c in order_page(summary.text).changes} == {("withdrawn", "cancel")}
    assert text_by_id(placed.text, "confirmation-title") == "Your scheduled change is withdrawn"
    assert pending(visitor.app) == []


def test_an_order_that_charges_and_schedules_is_confirmed_as_both(visitor: Visitor) -> None:
    # rules K3, L3: one cart buys Webinar 500 now and reduces the licenses at the term end
    visitor.sign_in(BUSINESS)
    visitor.post("/billing/addons/add/webinar_500", {"quantity": "1", "interval": "month"})
    visitor.post("/billing/edit", {"licenses": "10", "interval": "month"})

    summary, placed = checkout(visitor)

    title = text_by_id(placed.text, "confirmation-title")
    assert title == "Your purchase is complete, and a change is scheduled for the end of the billing period"
    with visitor.app.engine.connect() as conn:
        invoice = invoice_views(conn, account_id(visitor.app, "demo-business"))[0]
    assert invoice.number in (text_by_id(placed.text, "confirmation-invoice") or "")
    assert f'href="/billing/invoices/{invoice.id}"' in placed.text
    assert order_page(placed.text).figures == order_page(summary.text).figures
    assert [c.kind for c in order_page(placed.text).changes] == ["quantity"]


def test_the_cart_and_the_summary_show_one_block_of_figures_with_tax_and_the_credit_used(visitor: Visitor) -> None:
    # rules C6, T1, T3: a Polish buyer pays 23 %; a credit note on the paid first invoice left a credit balance
    app = visitor.app
    with app.engine.connect() as conn:
        first = invoice_views(conn, account_id(app, "demo-business"))[0]
    void_invoice(first.number, actor="operator", reason="goodwill", uow=app.uow, clock=app.clock)
    visitor.sign_in(BUSINESS)
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})

    cart = order_page(visitor.get("/cart").text)
    summary, _placed = checkout(visitor)

    shown = order_page(summary.text)
    assert cart.figures == shown.figures
    assert cart.lines == shown.lines
    business = account_id(app, "demo-business")
    with app.engine.connect() as conn:
        invoice = invoice_view(conn, business, invoice_views(conn, business)[0].id)
    assert invoice is not None
    assert invoice.tax > 0
    assert shown.lines == [(line.kind, norm(money(line.amount, "PLN"))) for line in invoice.lines]
    assert shown.figures["subtotal"] == norm(money(invoice.subtotal, "PLN"))
    assert shown.figures["tax"] == norm(money(invoice.tax, "PLN"))
    assert "VAT (23%)" in summary.text  # rule T1: the seller is Polish, its tax is VAT
    assert shown.figures["total"] == norm(money(invoice.total, "PLN"))
    assert shown.figures["credit-used"] == norm(money(-invoice.total, "PLN"))  # the balance pays all of it
    assert shown.figures["amount-due"] == norm(money(0, "PLN"))
    assert re.match(r"Credit balance: .+ before this order, .+ after it\.", shown.figures["credit-balance"])


def test_a_cart_the_account_outgrew_is_refused_in_polish_on_the_cart_and_the_summary_and_places_nothing(
    visitor: Visitor,
) -> None:
    # rules X4, X5, D1: a reduction waits in the cart while another admin cancels the plan at the period end
    app = visitor.app
    visitor.sign_in(BUSINESS)
    visitor.language("pl")
    visitor.post("/billing/edit", {"licenses": "10", "interval": "month"})
    business = account_id(app, "demo-business")
    place_order(PlaceOrder(business, (Cancel(with_addons=True),), "elsewhere", actor="admin@demo-business.test",
                           terms_version="2026-01", terms_accepted=True),
                uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, tax=app.tax)  # fmt: skip
    orders_before = last_order(app)

    cart = visitor.get("/cart")
    summary = visitor.post("/checkout/terms", {"terms": "on"})

    reason = "Ta subskrypcja zostanie anulowana z końcem okresu rozliczeniowego: najpierw ją reaktywuj."
    assert order_page(cart.text).error == reason
    assert summary.status_code == 400
    assert order_page(summary.text).error == reason
    assert "Licencje: łącznie 10 licencji" in summary.text  # the cart as it is, not "empty"
    assert not visitor.post("/checkout/place", {"key": "any"}).url.path.startswith("/checkout/done")
    assert last_order(app) == orders_before
