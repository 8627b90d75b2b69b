"""Current Plans at a glance, through the portal's forms in both languages: an add-on cancelled and reactivated on its
own card, the plan's cancel step naming its add-ons, a scheduled change shown with its date and withdrawn, the credit
balance wherever money is shown, and the next invoice exactly as the billing run then issues it (rules D1, D2, L3,
L6, P5, C6, C7, I5, X5).
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from prorata.adapters.db.clock import move_clock
from prorata.adapters.db.queries import invoice_views, subscription_views
from prorata.bootstrap import App
from prorata.entrypoints.portal.i18n import money
from prorata.services.credit_notes import credit_lines
from prorata.services.renew_due import RenewDue, renew_due
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.test_portal import checkout, review, text_of

LANGUAGES = pytest.mark.parametrize("language", ["en", "pl"])
WORDS = {
    "en": {
        "addon": "Large Meetings 500",
        "plan": "Business",
        "cancel_addon": "Cancellation at the end of the billing period: Large Meetings 500",
        "withdrawal": "Withdrawal of the scheduled change: Business",
        "refusal": "Tick “Cancel my add-ons too” to cancel the add-ons listed here with the plan, or cancel each "
        "add-on on its own card first.",
        "withdraw": "Withdraw",
        "pending": "Pending change",
    },
    "pl": {
        "addon": "Duże spotkania 500",
        "plan": "Dla firm",
        "cancel_addon": "Anulowanie z końcem okresu rozliczeniowego: Duże spotkania 500",
        "withdrawal": "Wycofanie zaplanowanej zmiany: Dla firm",
        "refusal": "Zaznacz „Anuluj również moje dodatki”, aby anulować wymienione tu dodatki razem z planem, albo "
        "najpierw anuluj każdy dodatek na jego karcie.",
        "withdraw": "Wycofaj",
        "pending": "Oczekująca zmiana",
    },
}


def minor(response: httpx.Response, element_id: str) -> int:
    """An amount as the page carries it, in integer minor units."""
    found = re.search(rf'id="{element_id}"[^>]*data-minor="(-?\d+)"', response.text)
    assert found is not None, f"no #{element_id} with an amount on {response.url}"
    return int(found.group(1))


def subs(app: App) -> dict[str, tuple[int, list[tuple[str, int | None]]]]:
    with app.engine.connect() as conn:
        views = subscription_views(conn, account_id(app, "demo-business"))
    return {s.product: (s.id, [(p.kind, p.quantity) for p in s.pending]) for s in views}


def signed_in(visitor: Visitor, language: str) -> None:
    visitor.sign_in("owner@demo-business.test")
    visitor.language(language)


def scheduled(summary: httpx.Response) -> list[tuple[str, str, str]]:
    """(action, kind, subscription) of each change the order summary lists."""
    return re.findall(
        r'data-action="(\w+)" data-kind="(\w+)"\s+data-subscription="(\d+)"', summary.text
    )  # fmt: skip


def credit_the_add_on(app: App) -> int:
    """The operator credits the paid Large Meetings line of the first invoice: its amount goes to the balance."""
    with app.engine.connect() as conn:
        first = invoice_views(conn, account_id(app, "demo-business"))[-1]
    note = credit_lines(first.number, [2], actor="operator", reason="not used", uow=app.uow, clock=app.clock)
    assert note.to_balance > 0
    return note.to_balance


@LANGUAGES
def test_an_add_on_is_cancelled_on_its_own_card_and_reactivated_through_the_order_summary(
    visitor: Visitor, language: str
) -> None:
    # rules D1, D2: the add-on goes, the plan stays; nothing is charged or refunded either way
    words = WORDS[language]
    signed_in(visitor, language)
    addon_id = subs(visitor.app)["large_meetings_500"][0]
    page = visitor.get("/billing")
    assert 'id="cancel-addon-large_meetings_500"' in page.text

    assert (
        visitor.post(f"/billing/addons/{addon_id}/cancel").url.path == "/checkout/terms"
    )  # contacts and card as they were (K2)
    summary, placed = checkout(visitor)

    assert placed.status_code == 200
    assert words["cancel_addon"] in summary.text
    assert scheduled(summary) == [("scheduled", "cancel", str(addon_id))]
    assert text_of(summary, "amount-due") == money(0, "PLN", language)
    assert subs(visitor.app) == {
        "business": (subs(visitor.app)["business"][0], []),
        "large_meetings_500": (addon_id, [("cancel", None)]),
    }
    card = visitor.get("/billing")
    assert words["pending"] in text_of(card, f"pending-{addon_id}-cancel")
    assert 'id="reactivate-addon-large_meetings_500"' in card.text
    assert 'id="with_addons"' not in card.text  # nothing left for the plan's cancellation to take along

    # the account placed an order under these Terms: it reviews rather than walks the steps (rule K2)
    assert visitor.post(f"/billing/addons/{addon_id}/reactivate").url.path == "/checkout/summary"
    summary, _placed = review(visitor)

    assert scheduled(summary) == [("withdrawn", "cancel", str(addon_id))]
    assert subs(visitor.app)["large_meetings_500"] == (addon_id, [])
    assert 'id="cancel-addon-large_meetings_500"' in visitor.get("/billing").text


@LANGUAGES
def test_the_plans_cancel_step_names_its_add_ons_and_says_in_the_page_language_what_to_do(
    visitor: Visitor, language: str
) -> None:
    # rule D2: cancelling the plan alone is refused; the buyer is told to tick the box or cancel each add-on
    words = WORDS[language]
    signed_in(visitor, language)
    page = visitor.get("/billing")
    assert words["addon"] in text_of(page, "cancelled-with-plan")

    refused = visitor.post("/billing/cancel", {})

    assert refused.status_code == 400
    assert text_of(refused, "error-with_addons") == words["refusal"]
    assert 'id="cancel-addon-large_meetings_500"' in refused.text  # the way out is on the same page
    assert all(pending == [] for _id, pending in subs(visitor.app).values())


@LANGUAGES
def test_a_scheduled_reduction_is_shown_with_its_date_and_withdrawn_from_current_plans(
    visitor: Visitor, language: str
) -> None:
    # rules L3, L6: 12 licenses reduced to 10 at the term end, then withdrawn from the plan card
    words = WORDS[language]
    signed_in(visitor, language)
    visitor.post("/billing/edit", {"licenses": "10", "interval": "month"})
    checkout(visitor)
    plan_id = subs(visitor.app)["business"][0]

    card = visitor.get("/billing")
    shown = text_of(card, f"pending-{plan_id}-quantity")
    assert words["pending"] in shown
    assert "10" in shown
    assert text_of(card, "next-date") in shown  # the date it takes effect is the next invoice's
    assert f'id="withdraw-{plan_id}-quantity"' in card.text
    assert words["withdraw"] in card.text
    assert 'data-kind="quantity"' in card.text.split('id="next-changes"')[1]  # what changes on that date

    withdrawn = visitor.post(f"/billing/withdraw/{plan_id}", {"kind": "quantity"})
    assert withdrawn.url.path == "/checkout/summary"  # a returning buyer (rule K2)
    summary, placed = review(visitor)

    assert placed.status_code == 200
    assert words["withdrawal"] in summary.text
    assert scheduled(summary) == [("withdrawn", "quantity", str(plan_id))]
    assert text_of(summary, "amount-due") == money(0, "PLN", language)
    assert subs(visitor.app)["business"] == (plan_id, [])
    after = visitor.get("/billing")
    assert f'id="pending-{plan_id}-quantity"' not in after.text
    assert 'id="next-changes"' not in after.text


@LANGUAGES
def test_a_downgrade_waiting_for_the_term_end_is_withdrawn_and_the_plan_renews_as_it_is(
    visitor: Visitor, language: str
) -> None:
    # rules P5, L6: Business -> Pro at the term end, withdrawn from the plan card
    words = WORDS[language]
    signed_in(visitor, language)
    visitor.post("/billing/upgrade/pro", {"licenses": "9", "interval": "month"})
    checkout(visitor)
    plan_id = subs(visitor.app)["business"][0]
    assert subs(visitor.app)["business"][1] == [("product", 9)]

    assert visitor.post(f"/billing/withdraw/{plan_id}", {"kind": "product"}).url.path == "/checkout/summary"
    summary, _placed = review(visitor)

    assert words["withdrawal"] in summary.text
    assert scheduled(summary) == [("withdrawn", "product", str(plan_id))]
    assert subs(visitor.app)["business"] == (plan_id, [])
    # a second click of the same button finds nothing left to withdraw and leaves the cart empty
    assert visitor.post(f"/billing/withdraw/{plan_id}", {"kind": "product"}).url.path == "/billing"
    assert visitor.get("/cart").text.count('action="/cart/remove"') == 0


@LANGUAGES
def test_the_credit_balance_is_shown_and_its_use_follows_the_order_to_the_invoice(
    visitor: Visitor, language: str
) -> None:
    # rules C6, I5: the balance on Current Plans and Billing information; what the order takes from it in the cart,
    # the order summary and on the invoice
    balance = credit_the_add_on(visitor.app)
    signed_in(visitor, language)
    for path in ("/billing", "/billing/information"):
        page = visitor.get(path)
        assert minor(page, "credit-balance") == balance
        assert text_of(page, "credit-balance") == money(balance, "PLN", language)

    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    cart = visitor.get("/cart")
    used = min(balance, minor_total(cart))
    assert text_of(cart, "credit-used") == money(-used, "PLN", language)
    summary, _placed = checkout(visitor)
    assert text_of(summary, "credit-used") == money(-used, "PLN", language)

    with visitor.app.engine.connect() as conn:
        issued = invoice_views(conn, account_id(visitor.app, "demo-business"))[0]
    invoice = visitor.get(f"/billing/invoices/{issued.id}")
    assert issued.credit_applied == used
    assert minor(invoice, "credit-applied") == used
    assert text_of(invoice, "credit-applied") == money(-used, "PLN", language)
    assert minor(visitor.get("/billing"), "credit-balance") == balance - used


def minor_total(page: httpx.Response) -> int:
    """The order's total with tax, from the quote the page shows (rule C6)."""
    found = re.search(r'id="total" class="num">([^<]+)<', page.text)
    assert found is not None
    digits = re.sub(r"\D", "", found.group(1))
    return int(digits)


@LANGUAGES
def test_the_next_invoice_panel_shows_to_the_grosz_what_the_billing_run_then_invoices(
    visitor: Visitor, language: str
) -> None:
    # rules C7, C6, L3: a reduction waits for the date and part of the renewal is paid from the credit balance
    app = visitor.app
    balance = credit_the_add_on(app)
    signed_in(visitor, language)
    visitor.post("/billing/edit", {"licenses": "10", "interval": "month"})
    checkout(visitor)

    panel = visitor.get("/billing")
    subtotal, total = minor(panel, "next-subtotal"), minor(panel, "next-total")
    credit, due = minor(panel, "next-credit"), minor(panel, "next-due")
    tax = int(re.search(r'id="next-figures" data-tax="(\d+)"', panel.text).group(1))  # type: ignore[union-attr]
    date = re.search(r'id="next-date" data-date="([^"]+)"', panel.text).group(1)  # type: ignore[union-attr]
    assert text_of(panel, "next-total") == money(total, "PLN", language)
    assert (subtotal + tax, credit, total - credit) == (total, min(balance, total), due)
    assert 0 < credit < total  # the balance pays part of it
    assert len(re.findall(r"<li data-kind=", panel.text.split('id="next-changes"')[1])) == 1

    account = account_id(app, "demo-business")
    with app.engine.connect() as conn:
        before = {i.id for i in invoice_views(conn, account)}
        period_end = subscription_views(conn, account)[0].period_end
    assert period_end.isoformat() == date
    run_at = period_end + timedelta(hours=2)
    move_clock(app.engine, run_at)
    app.clock.refresh()
    renew_due(RenewDue(run_at), uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog,
              tax=app.tax, dunning=app.dunning)  # fmt: skip

    with app.engine.connect() as conn:
        renewal = [i for i in invoice_views(conn, account) if i.id not in before]
    assert len(renewal) == 1
    issued = renewal[0]
    assert (issued.subtotal, issued.tax, issued.total, issued.credit_applied) == (subtotal, tax, total, credit)
    assert issued.amount_paid == due  # what the card was charged
    assert subs(app)["business"][1] == []  # the reduction took effect with it
