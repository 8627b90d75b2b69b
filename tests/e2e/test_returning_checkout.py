"""A returning buyer reviews rather than walks (rules K2, K6, C6, X4): once an account has placed an order under the
current Terms of Service, with its contacts and a default payment method that can pay, a change goes from the cart to
the order summary. The summary shows contacts, payment and Terms read-only, each with "Edit" leading back to it, and
prices a count changed in place at once. Anything missing or no longer valid walks the steps of a first order. On
SQLite and PostgreSQL, through the portal's forms.
"""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select, update

from prorata.adapters.db.queries import subscription_views
from prorata.adapters.db.schema import orders, payment_methods, users
from prorata.bootstrap import App
from prorata.entrypoints.portal import returning
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.order_page import norm, order_page, text_by_id
from tests.e2e.test_portal import checkout

BUSINESS = "owner@demo-business.test"
PRO = "owner@demo-pro.test"
KEY = re.compile(r'name="key" value="([^"]+)"')


def become_returning(visitor: Visitor, email: str) -> None:
    """A first order through every step (the demo's own orders were accepted under an older version of the Terms)."""
    visitor.sign_in(email)
    edited = visitor.post("/billing/edit", {"licenses": "13" if email == BUSINESS else "4", "interval": "month"})
    assert edited.url.path == "/checkout/products"
    # the demo's own order accepted an older version of the Terms: those are asked, not contacts or card (K2)
    assert 'id="skip" href="/checkout/terms"' in visitor.get("/checkout/products").text
    _summary, placed = checkout(visitor)
    assert placed.url.path.startswith("/checkout/done/")


def steps_of(page: httpx.Response) -> list[str]:
    nav = re.search(r'<nav class="steps".*?</nav>', page.text, re.S)
    assert nav is not None
    return [norm(re.sub(r"<[^>]+>", "", item)) for item in re.findall(r"<li[^>]*>(.*?)</li>", nav.group(0), re.S)]


def plan_quantity(app: App, code: str) -> int:
    with app.engine.connect() as conn:
        subs = subscription_views(conn, account_id(app, code))
    return next(s.quantity for s in subs if app.catalog.products[s.product].is_plan)


def last_order(app: App) -> dict[str, object]:
    with app.engine.connect() as conn:
        row = conn.execute(select(orders).order_by(orders.c.id.desc()).limit(1)).mappings().one()
    return dict(row)


def test_a_returning_buyer_goes_from_the_change_to_the_summary_and_the_order_records_the_terms(
    visitor: Visitor,
) -> None:
    become_returning(visitor, BUSINESS)
    assert visitor.post("/billing/edit", {"licenses": "15", "interval": "month"}).url.path == "/checkout/products"

    products = visitor.get("/checkout/products")
    assert 'id="skip" href="/checkout/summary"' in products.text
    summary = visitor.get("/checkout/summary")

    assert summary.status_code == 200
    assert steps_of(summary) == ["Plan", "Other products", "Order summary"]
    for section in ("review-contacts", "review-payment", "review-terms"):
        assert text_by_id(summary.text, section) is not None
    assert (
        text_by_id(summary.text, "review-sold_to")
        == "Anna Nowak, Demo · anna@example.test · ul. Prosta 1, 00-001 Warszawa, PL"
    )
    assert "<dt>Sold-To contact</dt>" in summary.text
    assert "<dt>Bill-To contact</dt>" in summary.text
    assert 'href="/checkout/contacts">Edit' in summary.text
    assert 'href="/checkout/payment">Edit' in summary.text
    standing = text_by_id(summary.text, "terms-standing")
    assert standing == (
        f"Accepted with your order of Nov 15, 2026 (version {returning.TERMS_VERSION}). "
        "By placing this order you accept them again."
    )
    assert "Visa •••• 4242" in (text_by_id(summary.text, "review-payment") or "")

    key = KEY.search(summary.text)
    assert key is not None
    placed = visitor.post("/checkout/place", {"key": key.group(1)})

    assert placed.url.path.startswith("/checkout/done/")
    assert plan_quantity(visitor.app, "demo-business") == 15
    order = last_order(visitor.app)
    with visitor.app.engine.connect() as conn:
        owner = conn.execute(select(users.c.id).where(users.c.email == BUSINESS)).scalar_one()
    # rule K6: who, when and which version, for this order too
    assert (order["status"], order["tos_version"], order["tos_accepted_by"]) == (
        "placed",
        returning.TERMS_VERSION,
        owner,
    )
    assert order["tos_accepted_at"] is not None


def test_a_cancellation_by_a_returning_buyer_is_reviewed_on_the_summary_in_polish(visitor: Visitor) -> None:
    become_returning(visitor, BUSINESS)
    visitor.language("pl")

    cancelled = visitor.post("/billing/cancel", {"with_addons": "1"})

    assert cancelled.url.path == "/checkout/summary"
    assert steps_of(cancelled) == ["Plan", "Inne produkty", "Podsumowanie zamówienia"]
    standing = text_by_id(cancelled.text, "terms-standing") or ""
    assert standing == (
        f"Zaakceptowane przy zamówieniu z 15 lis 2026 (wersja {returning.TERMS_VERSION}). "
        "Składając to zamówienie, akceptujesz je ponownie."
    )


def test_an_edit_from_the_summary_comes_back_to_it(visitor: Visitor) -> None:
    become_returning(visitor, BUSINESS)
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})

    contacts = visitor.get("/checkout/contacts")
    payment = visitor.get("/checkout/payment")

    assert 'name="next" value="/checkout/summary"' in contacts.text
    assert 'name="next" value="/checkout/summary"' in payment.text
    kept = visitor.post("/billing/payment", {"method": "current", "next": "/checkout/summary"})
    assert kept.url.path == "/checkout/summary"


def test_a_payment_method_that_can_no_longer_pay_walks_the_steps_of_a_first_order(visitor: Visitor) -> None:
    become_returning(visitor, BUSINESS)
    business = account_id(visitor.app, "demo-business")
    with visitor.app.engine.begin() as conn:
        conn.execute(
            update(payment_methods)
            .where(payment_methods.c.account_id == business)
            .values(exp_month=10, exp_year=2026)  # the clock stands in November 2026
        )

    visitor.post("/billing/edit", {"licenses": "16", "interval": "month"})

    assert 'id="skip" href="/checkout/contacts"' in visitor.get("/checkout/products").text
    assert visitor.post("/billing/cancel", {"with_addons": "1"}).url.path == "/checkout/contacts"
    assert steps_of(visitor.get("/checkout/products"))[2:5] == ["Contacts", "Payment method", "Terms of Service"]


def test_a_first_order_walks_every_step(visitor: Visitor) -> None:
    # rule K1: an account that never placed an order (a free one upgrading), its card on file notwithstanding
    visitor.sign_in("owner@demo-basic.test")
    assert visitor.post("/billing/upgrade/pro", {"licenses": "2", "interval": "month"}).url.path == "/checkout/products"

    products = visitor.get("/checkout/products")

    assert 'id="skip" href="/checkout/contacts"' in products.text
    assert steps_of(products) == [
        "Plan", "Other products", "Contacts", "Payment method", "Terms of Service", "Order summary"
    ]  # fmt: skip
    assert visitor.get("/checkout/summary").url.path == "/checkout/terms"


@pytest.mark.parametrize("how", ["the demo's older Terms", "a new version"])
def test_terms_not_yet_accepted_are_the_one_step_a_returning_buyer_walks(
    visitor: Visitor, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rules K2, K6: contacts and card unchanged are not asked again; Terms the account has not accepted are
    if how == "a new version":
        become_returning(visitor, BUSINESS)
        monkeypatch.setattr(returning, "TERMS_VERSION", "2027-01")
        monkeypatch.setattr("prorata.entrypoints.portal.routes.checkout.TERMS_VERSION", "2027-01")
    else:
        visitor.sign_in(BUSINESS)  # its demo order accepted the demo's own version of the Terms
    visitor.post("/billing/edit", {"licenses": "16", "interval": "month"})

    products = visitor.get("/checkout/products")
    assert 'id="skip" href="/checkout/terms"' in products.text
    assert steps_of(products) == ["Plan", "Other products", "Terms of Service", "Order summary"]
    assert visitor.get("/checkout/summary").url.path == "/checkout/terms"
    terms = visitor.get("/checkout/terms")
    assert steps_of(terms) == ["Plan", "Other products", "Terms of Service", "Order summary"]

    summary = visitor.post("/checkout/terms", {"terms": "on"})

    assert summary.url.path == "/checkout/summary"
    assert text_by_id(summary.text, "terms-standing") is None
    key = KEY.search(summary.text)
    assert key is not None
    assert visitor.post("/checkout/place", {"key": key.group(1)}).url.path.startswith("/checkout/done/")
    assert last_order(visitor.app)["tos_version"] == returning.TERMS_VERSION


def summary_figures(page: httpx.Response) -> dict[str, str]:
    return order_page(page.text).figures


def test_a_count_changed_on_the_summary_is_priced_again_and_placed_as_shown(visitor: Visitor) -> None:
    # rule C6: the live preview saves the count; the order placed is the one on the screen, never the old one
    become_returning(visitor, BUSINESS)
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    before = visitor.get("/checkout/summary")
    old_key = KEY.search(before.text)
    assert old_key is not None
    assert re.search(r'<input type="number" name="value" value="14" min="10"', before.text)

    after = visitor.post("/checkout/summary/quantity", {"item": "0", "value": "16"})

    assert after.url.path == "/checkout/summary"
    assert text_by_id(after.text, "item-text-0") == "Licenses: new total 16 licenses"
    assert summary_figures(after)["amount-due"] != summary_figures(before)["amount-due"]
    new_key = KEY.search(after.text)
    assert new_key is not None
    assert new_key.group(1) != old_key.group(1)

    stale = visitor.post("/checkout/place", {"key": old_key.group(1)})
    assert stale.url.path == "/checkout/summary"  # the old figures are never placed
    assert plan_quantity(visitor.app, "demo-business") == 13

    placed = visitor.post("/checkout/place", {"key": new_key.group(1)})
    assert placed.url.path.startswith("/checkout/done/")
    assert plan_quantity(visitor.app, "demo-business") == 16
    assert text_by_id(placed.text, "amount-due") == summary_figures(after)["amount-due"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10", "This plan allows fewer licenses; choose a higher plan."),
        ("0", "Enter the new total number of licenses."),
        ("x", "Enter the new total number of licenses."),
        ("٣", "Enter the new total number of licenses."),
        ("9999999", "Enter the new total number of licenses."),
    ],
)
def test_a_count_refused_on_the_summary_leaves_the_cart_as_it_was_and_says_why(
    visitor: Visitor, value: str, message: str
) -> None:
    # rule X4: nothing changes, and the reason is beside the item
    become_returning(visitor, PRO)
    visitor.post("/billing/edit", {"licenses": "5", "interval": "month"})
    before = visitor.get("/checkout/summary")

    refused = visitor.post("/checkout/summary/quantity", {"item": "0", "value": value})

    assert refused.status_code == 400
    error = text_by_id(refused.text, "item-error-0") or ""
    assert error == message
    assert text_by_id(refused.text, "item-text-0") == "Licenses: new total 5 licenses"
    assert summary_figures(refused) == summary_figures(before)


def test_a_refused_count_is_explained_in_polish(visitor: Visitor) -> None:
    become_returning(visitor, PRO)
    visitor.language("pl")
    visitor.post("/billing/edit", {"licenses": "5", "interval": "month"})

    refused = visitor.post("/checkout/summary/quantity", {"item": "0", "value": "0"})

    assert refused.status_code == 400
    assert text_by_id(refused.text, "item-error-0") == "Wprowadź nową całkowitą liczbę licencji."


@pytest.mark.parametrize("item", ["the cancellation", "-1", "99", "", "abc", "1e0"])
def test_an_item_that_has_no_count_or_does_not_exist_changes_nothing(visitor: Visitor, item: str) -> None:
    become_returning(visitor, BUSINESS)
    visitor.post("/billing/cancel", {"with_addons": "1"})  # a cancellation has no count
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    before = visitor.get("/checkout/summary")
    if item == "the cancellation":
        texts = [text_by_id(before.text, f"item-text-{i}") or "" for i in range(2)]
        item = str(next(i for i, text in enumerate(texts) if text.startswith("Cancellation")))
        assert f'name="item" value="{item}"' not in before.text  # no count to change

    answer = visitor.post("/checkout/summary/quantity", {"item": item, "value": "15"})

    assert answer.status_code == 200
    assert answer.url.path == "/checkout/summary"
    assert summary_figures(answer) == summary_figures(before)
    assert [text_by_id(answer.text, f"item-text-{i}") for i in range(2)] == [
        text_by_id(before.text, f"item-text-{i}") for i in range(2)
    ]
