"""One language per page (rule X5): every page a customer reaches, and every refusal the portal can show, reads
wholly in the language chosen: no English left on a Polish page, no Polish on an English one (``language_leaks``).

The pages are reached by their addresses, with the cart and the checkout's progress written into the session as the
portal's own forms would leave them, so that no page depends on the way a customer clicks to it: signed out (the first
page, sign-in, a forgotten password, a dead link), as the owner (Current Plans, Invoice History, an invoice, a credit
note, Billing information, contacts, payment, Users, the plan and add-on forms, the cart with items of every kind and
the checkout's steps to the confirmation of the orders placed, a payment that failed), as a member (the forbidden
page), as a person of two accounts (the account chooser) and as an admin; with the forms' validation errors. On
SQLite only: the words of a page do not depend on the database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from prorata.adapters.db.clock import move_clock
from prorata.adapters.db.queries import invoice_views, payment_method_views, subscription_views
from prorata.adapters.db.schema import users
from prorata.adapters.db.web_sessions import find_session, save_session, wall_clock
from prorata.bootstrap import App
from prorata.domain.cart import (
    AddAddon,
    Cancel,
    Change,
    ChangeAddon,
    ChangeInterval,
    ChangePlan,
    Reactivate,
    SetLicenses,
)
from prorata.domain.errors import FieldErrors, InvalidInput, RuleViolation
from prorata.domain.periods import Interval
from prorata.entrypoints.cli.demo import DEMO
from prorata.entrypoints.console.refusals import message_of  # the portal's words, and the console's own
from prorata.entrypoints.portal import basket, error_page
from prorata.entrypoints.portal.i18n import use_language
from prorata.entrypoints.portal.pages import LANGUAGE_COOKIE, SESSION_COOKIE
from prorata.entrypoints.portal.routes.checkout import TERMS_VERSION
from prorata.services.add_user import AddUser, add_user
from prorata.services.billing_information import AddCard, add_card
from prorata.services.credit_notes import credit_lines, void_invoice
from prorata.services.notice_addresses import SetNoticeAddresses, set_notice_addresses
from prorata.services.renew_due import RenewDue, renew_due
from tests.e2e.conftest import Visitor, account_id, member_with_password
from tests.e2e.language_leaks import leaks, visible_pieces
from tests.e2e.order_page import text_by_id
from tests.security.test_passwords import last_token
from tests.unit.test_every_refusal_translated import OPERATOR_ONLY, refusal_codes

BUSINESS, PRO, BASIC = "owner@demo-business.test", "owner@demo-pro.test", "owner@demo-basic.test"
# what the demo and this test put in the database: the customers' own words, in whichever language they wrote them
DEMO_NAMES = tuple(row[1] for row in DEMO)
DATA = (
    *DEMO_NAMES,
    "Demo Owner",
    "1 Demo Street",
    "Warsaw",
    "New York",
    "Owner",
    "R-42",
    *(f"User{n}" for n in range(1, 9)),
)
KEY = re.compile(r'name="key" value="([^"]+)"')
Page = tuple[str, httpx.Response]


# ------------------------------------------------------------------------------------------------------ helpers
def set_cart(visitor: Visitor, *changes: Change, terms: bool = False) -> None:
    """The cart as the portal's forms leave it, and the Terms of Service accepted on this visit when ``terms``."""
    session = find_session(visitor.app.engine, visitor.client.cookies[SESSION_COOKIE], wall_clock())
    assert session is not None
    session.state["cart"] = [basket.item_of(change) for change in changes]
    session.state.pop("summary", None)
    if terms:
        session.state["terms"] = TERMS_VERSION
    else:
        session.state.pop("terms", None)
    save_session(visitor.app.engine, session)


def subs(app: App, code: str) -> dict[str, str]:
    """product -> subscription id, as a cart names it."""
    with app.engine.connect() as conn:
        return {s.product: str(s.id) for s in subscription_views(conn, account_id(app, code))}


def invoices(app: App, code: str) -> list[tuple[int, str, str]]:
    with app.engine.connect() as conn:
        return [(i.id, i.number, i.status) for i in invoice_views(conn, account_id(app, code))]


def place(visitor: Visitor, label: str) -> Iterator[Page]:
    """The order summary of the cart, then the order placed from it: the confirmation, or the summary again."""
    summary = visitor.get("/checkout/summary")
    yield f"{label}: summary", summary
    key = KEY.search(summary.text)
    assert key is not None, f"{label}: the summary has no Place order form: {text_by_id(summary.text, 'cart-error')}"
    yield f"{label}: placed", visitor.post("/checkout/place", {"key": key.group(1)})


def sign_in(visitor: Visitor, email: str, language: str) -> None:
    visitor.get(f"/language/{language}?next=/signin")
    assert visitor.sign_in(email).status_code == 200


# ------------------------------------------------------------------------------------------------------- scenes
def signed_out(visitor: Visitor, language: str) -> Iterator[Page]:
    visitor.get(f"/language/{language}?next=/")
    for path in ("/", "/signin", "/signin?done=password", "/password/forgot", "/password/set/" + "x" * 43):
        yield path, visitor.get(path)
    yield "sign-in refused", visitor.post("/signin", {"email": BUSINESS, "password": "wrong password"})
    yield "forgot: no e-mail", visitor.post("/password/forgot", {"email": "nobody"})
    yield "forgot: sent", visitor.post("/password/forgot", {"email": "someone@example.test"})
    # a reset link sent to an owner, and an invitation to a new user: the pages that set a password with them
    visitor.post("/password/forgot", {"email": BUSINESS})
    add_user(AddUser(account_id(visitor.app, "demo-pro"), "new@demo-pro.test", "New", language=language, actor="test"),
             uow=visitor.app.uow, clock=visitor.app.clock)  # fmt: skip
    for kind in ("password_reset", "invitation"):
        link = f"/password/set/{last_token(visitor.app, kind)}"
        yield f"set: {kind}", visitor.get(link)
        yield f"set: {kind} too short", visitor.post(link, {"password": "short", "repeat": "short"})
    yield "set: refused", visitor.post("/password/set/" + "x" * 43, {"password": "a", "repeat": "b"})


def owner(visitor: Visitor, language: str) -> Iterator[Page]:
    app = visitor.app
    first_id, first_number, _status = invoices(app, "demo-business")[-1]
    note = credit_lines(first_number, [1], actor="operator", reason="R-42", uow=app.uow, clock=app.clock)
    sign_in(visitor, BUSINESS, language)
    addon = subs(app, "demo-business")["large_meetings_500"]
    note_id = next(i for i, number, _s in invoices(app, "demo-business") if number == note.number)
    for path in ("/billing", "/billing/upgrade", "/billing/upgrade/business_plus", "/billing/upgrade/enterprise",
                 "/billing/edit", "/billing/addons/add/webinar_500", "/billing/addons/add/webinar_500_one_month",
                 "/billing/addons/add/cloud_recording_1tb", f"/billing/addons/{addon}/edit", "/billing/invoices",
                 f"/billing/invoices/{first_id}", f"/billing/invoices/{note_id}", "/billing/information",
                 "/billing/contacts", "/billing/payment", "/users", "/account/password", "/account/password?done=1",
                 "/cart", "/billing/invoices/999999"):  # fmt: skip
        yield path, visitor.get(path)
    # the forms' validation errors
    yield "edit: not a number", visitor.post("/billing/edit", {"licenses": "many", "interval": "month"})
    yield "edit: below assigned", visitor.post("/billing/edit", {"licenses": "3", "interval": "month"})
    yield "upgrade: too few", visitor.post("/billing/upgrade/business_plus", {"licenses": "0", "interval": "month"})
    yield "add-on: no seats", visitor.post("/billing/addons/add/webinar_500", {"quantity": "0"})
    yield "add-on edit: too many", visitor.post(f"/billing/addons/{addon}/edit", {"quantity": "999"})
    empty = {f"{kind}.{name}": "" for kind in ("sold_to", "bill_to") for name in ("name", "email", "city")}
    yield "contacts: empty", visitor.post("/billing/contacts", {**empty, "sold_to.tax_id": "123"})
    contact = {"name": "Demo Owner", "company": "Demo Business Sp. z o.o.", "email": BUSINESS,
               "address_line1": "1 Demo Street", "city": "Warsaw", "postal_code": "00001", "country": "PL"}  # fmt: skip
    filled = {f"sold_to.{name}": value for name, value in contact.items()}
    yield "contacts: address suggestion", visitor.post("/billing/contacts", filled)
    yield "payment: bad card", visitor.post("/billing/payment", {"method": "card", "card_number": "1234",
                                                                  "exp_month": "13", "exp_year": "20"})  # fmt: skip
    yield "payment: no PayPal e-mail", visitor.post("/billing/payment", {"method": "paypal", "paypal_email": ""})
    # the backup payment method and the extra notice addresses, with their refusals (rules BM1, N1)
    business = account_id(app, "demo-business")
    add_card(AddCard(business, "5555555555554444", 11, 2031), uow=app.uow, clock=app.clock, gateway=app.gateway)
    with app.engine.connect() as conn:
        default, other = sorted(payment_method_views(conn, business), key=lambda m: not m.is_default)[:2]
    yield "backup: refused", visitor.post("/billing/backup", {"payment_method": str(default.id)})
    yield "backup: set", visitor.post("/billing/backup", {"payment_method": str(other.id)})
    yield "notices: not an address", visitor.post("/billing/notices", {"notice_address": "not an address"})
    set_notice_addresses(SetNoticeAddresses(business, tuple(f"n{n}@demo-business.test" for n in range(5))),
                         uow=app.uow, clock=app.clock)  # fmt: skip
    yield "notices: a sixth", visitor.post("/billing/notices", {"notice_address": "sixth@demo-business.test"})
    yield "password: wrong", visitor.post("/account/password", {"current": "x", "password": "y", "repeat": "z"})
    yield "stale form", visitor.post("/billing/edit", {"licenses": "13", "interval": "month"}, csrf=False)
    yield "users: refused", visitor.post("/users/assignments", {"user": "999999", "subscription": addon})


def checkout(visitor: Visitor, language: str) -> Iterator[Page]:
    app = visitor.app
    sign_in(visitor, BUSINESS, language)
    held = subs(app, "demo-business")
    plan, addon = held["business"], held["large_meetings_500"]
    # a cancellation at the term end with the add-ons, and its reactivation (rules D1, D2)
    set_cart(visitor, Cancel(with_addons=True), terms=True)
    yield "cancellation: /cart", visitor.get("/cart")
    yield from place(visitor, "cancellation")
    yield "cancelled: /billing", visitor.get("/billing")
    set_cart(visitor, Reactivate(), Reactivate(addon), terms=True)
    yield "reactivation: /cart", visitor.get("/cart")
    yield from place(visitor, "reactivation")
    # items of every kind that are bought now: more licenses, a new add-on, a one-month product, a bigger add-on
    month = Interval.MONTH
    purchase = (SetLicenses(14), AddAddon("webinar_500", 2, month), AddAddon("webinar_500_one_month", 1, month),
                ChangeAddon(addon, quantity=3), AddAddon("cloud_recording_1tb", 1, month))  # fmt: skip
    set_cart(visitor, *purchase)
    for path in ("/cart", "/checkout/products", "/checkout/contacts", "/checkout/payment", "/checkout/terms"):
        yield f"purchase: {path}", visitor.get(path)
    yield "purchase: terms not accepted", visitor.post("/checkout/terms", {})
    set_cart(visitor, *purchase, terms=True)
    yield from place(visitor, "purchase")
    # changes for the term end: fewer licenses, a smaller plan, a yearly plan, a cancellation with the add-ons
    set_cart(visitor, SetLicenses(10), terms=True)
    yield "reduction: /cart", visitor.get("/cart")
    yield from place(visitor, "reduction")
    set_cart(visitor, SetLicenses(14), terms=True)  # withdraws the reduction
    yield "withdrawal: /cart", visitor.get("/cart")
    yield from place(visitor, "withdrawal")
    yield "after: /billing", visitor.get("/billing")
    set_cart(visitor, ChangePlan("pro", 8), terms=True)
    yield "downgrade: /cart", visitor.get("/cart")
    yield from place(visitor, "downgrade")
    yield "downgrade scheduled: /billing", visitor.get("/billing")
    set_cart(visitor, ChangePlan("business"), terms=True)
    yield "downgrade withdrawn: /cart", visitor.get("/cart")
    yield from place(visitor, "downgrade withdrawn")
    set_cart(visitor, ChangeInterval(Interval.YEAR), ChangePlan("business_plus", 14, Interval.YEAR), terms=True)
    yield "yearly: /cart", visitor.get("/cart")
    # a returning buyer (rule K2): the Terms accepted with an earlier order, a count changed and refused in place
    set_cart(visitor, SetLicenses(15))
    yield "returning: products", visitor.get("/checkout/products")
    yield "returning: summary", visitor.get("/checkout/summary")
    yield "returning: count refused", visitor.post("/checkout/summary/quantity", {"item": "0", "value": "0"})
    # a cart the engine refuses: fewer licenses than are assigned, an add-on changed and cancelled
    set_cart(visitor, SetLicenses(2), Cancel(plan), terms=True)
    yield "refused: /cart", visitor.get("/cart")
    yield "refused: summary", visitor.get("/checkout/summary")


def payment_failed(visitor: Visitor, language: str) -> Iterator[Page]:
    # demo-basic upgrades from the free plan with a card that is declined (rule K7)
    app = visitor.app
    add_card(AddCard(account_id(app, "demo-basic"), "4000000000000002", 12, 2030), uow=app.uow, clock=app.clock,
             gateway=app.gateway)  # fmt: skip
    sign_in(visitor, BASIC, language)
    for path in ("/billing", "/billing/upgrade", "/billing/upgrade/pro", "/billing/payment"):
        yield f"free: {path}", visitor.get(path)
    yield "free: too many licenses", visitor.post("/billing/upgrade/pro", {"licenses": "99", "interval": "month"})
    set_cart(visitor, ChangePlan("pro", 2, Interval.MONTH, 1), AddAddon("webinar_500", 1, Interval.MONTH), terms=True)
    pages = dict(place(visitor, "declined"))
    yield from pages.items()
    assert pages["declined: placed"].status_code == 402


def roles(visitor: Visitor, language: str) -> Iterator[Page]:
    app = visitor.app
    # a member: what a member may read, and the forbidden page where only buyers go (rule P6)
    member_with_password(app, "user1@demo-business.test")
    sign_in(visitor, "user1@demo-business.test", language)
    for path in ("/billing", "/billing/invoices", "/users", "/account/password", "/cart", "/billing/upgrade"):
        yield f"member: {path}", visitor.get(path)
    assert visitor.get("/cart").status_code == 403
    # the owner of demo-pro is also an admin of demo-business: the account chooser, then the admin's pages
    add_user(AddUser(account_id(app, "demo-business"), PRO, "Owner", "admin", actor="test", invite=False),
             uow=app.uow, clock=app.clock)  # fmt: skip
    chooser = Visitor(app)
    sign_in_page = chooser.get(f"/language/{language}?next=/signin")
    assert sign_in_page.status_code == 200
    yield "chooser", chooser.sign_in(PRO)
    yield "chooser: none chosen", chooser.post("/signin/account", {"user": ""})
    with app.engine.connect() as conn:
        admin_id = conn.execute(
            select(users.c.id).where(users.c.email == PRO, users.c.account_id == account_id(app, "demo-business"))
        ).scalar_one()
    yield "admin: chosen", chooser.post("/signin/account", {"user": str(admin_id)})
    for path in ("/billing", "/users", "/billing/invoices", "/cart", "/billing/edit"):
        yield f"admin: {path}", chooser.get(path)


def overdue(visitor: Visitor, language: str) -> Iterator[Page]:
    # demo-pro's card declines at its renewal; its invoice is overdue and the account locked (rule I8); the
    # operator voids the overdue invoice: a credit note that the customer reads
    app = visitor.app
    add_card(AddCard(account_id(app, "demo-pro"), "4000000000000002", 12, 2030), uow=app.uow, clock=app.clock,
             gateway=app.gateway)  # fmt: skip
    renewal = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
    for days in (0, 1, 3, 5, 7):
        move_clock(app.engine, renewal + timedelta(days=days))
        app.clock.refresh()
        renew_due(RenewDue(renewal + timedelta(days=days)), uow=app.uow, clock=app.clock, gateway=app.gateway,
                  catalog=app.catalog, dunning=app.dunning)  # fmt: skip
    sign_in(visitor, PRO, language)
    owed = next((i, n) for i, n, status in invoices(app, "demo-pro") if status == "open")
    for path in ("/billing", "/billing/invoices", f"/billing/invoices/{owed[0]}", "/billing/upgrade"):
        yield f"overdue: {path}", visitor.get(path)
    set_cart(visitor, SetLicenses(4), terms=True)
    yield "overdue: /cart", visitor.get("/cart")
    yield "overdue: pay refused", visitor.post("/billing/invoices/pay", {"invoice": str(owed[0]), "key": "x"})
    void_invoice(owed[1], actor="operator", reason="R-42", uow=app.uow, clock=app.clock)
    yield "voided: /billing/invoices", visitor.get("/billing/invoices")


SCENES: dict[str, Callable[[Visitor, str], Iterator[Page]]] = {
    "signed out": signed_out,
    "owner": owner,
    "checkout": checkout,
    "payment failed": payment_failed,
    "roles": roles,
    "overdue": overdue,
}
DUMP = os.environ.get("PRORATA_DUMP_PAGES")  # a file to write each page's visible text to, for a reader
SHOWN = {200, 400, 402, 403, 404, 409, 410, 429}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["pl", "en"])
@pytest.mark.parametrize("scene", list(SCENES))
def test_every_page_reads_in_one_language(app: App, scene: str, language: str) -> None:
    found: dict[str, list[str]] = {}
    seen = 0
    for label, response in SCENES[scene](Visitor(app), language):
        assert response.status_code in SHOWN, f"{label}: {response.status_code} {response.text[:300]}"
        seen += 1
        if DUMP:
            with open(DUMP, "a", encoding="utf-8") as out:
                out.write(f"### {scene} {language} {label}: {response.status_code} {response.url.path}\n")
                out.write("\n".join(visible_pieces(response.text)) + "\n")
        shown = leaks(response.text, language, DATA)
        if shown:
            found[f"{label} ({response.url.path}, {response.status_code})"] = shown
    assert seen >= 4
    assert not found, "\n".join(f"{page}:\n    " + "\n    ".join(lines) for page, lines in found.items())


@pytest.mark.parametrize("language", ["pl", "en"])
def test_the_page_of_a_server_failure_reads_in_one_language(language: str) -> None:
    # read without the database: the language comes from the cookie the language switch leaves
    scope = {"type": "http", "method": "GET", "path": "/billing", "query_string": b"",
             "headers": [(b"cookie", f"{LANGUAGE_COOKIE}={language}".encode())]}  # fmt: skip
    page = error_page(scope, "req-1")
    assert 'id="request-id">req-1<' in page
    assert leaks(page, language) == []


# ------------------------------------------------------------------------------------------------------ refusals
# the values a refusal may carry, in the shapes the engine and the services give them, and the fields it names: a
# contact's or a card's field for the forms' field errors, the licenses field for the others
DATA_VARIANTS: tuple[dict[str, object], ...] = (
    {"minimum": 10, "maximum": 256, "assigned": 3, "must_unassign": 1, "remaining": 6, "minutes": 5, "limit": 80},
    {
        "limit": 1,
        "must_unassign": 2,
        "remaining": 1,
        "minimum": 1,
        "addons": ["large_meetings_500"],
        "addon": "large_meetings_500",
    },
    {"kind": "nip", "number": "123", "country": "PL", "prefix": "DE"},
    {"kind": "vat", "number": "DE1", "country": "PL", "prefix": "DE"},
)
FIELDS = {"contact": ("sold_to.name", "bill_to.city", "sold_to.tax_id", "bill_to.postal_code"),
          "card": ("card_number", "exp_month", "exp_year", "paypal_email"),
          "notice_address": ("notice_address",)}  # fmt: skip


@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_refusal_reads_in_one_language(language: str) -> None:
    codes = sorted(refusal_codes() - OPERATOR_ONLY)
    assert len(codes) > 60
    found: dict[str, list[str]] = {}
    use_language(language)
    try:
        for code in codes:
            for field in FIELDS.get(code.partition(".")[0], ("licenses",)):
                for data in DATA_VARIANTS:
                    message = message_of(RuleViolation(code, f"{field}: the engine's words", field=field, **data))
                    shown = leaks(message, language, html=False)
                    if shown:
                        found[f"{code} {field} {data}: {message}"] = shown
        several = FieldErrors([InvalidInput("contact.missing", "x", field="sold_to.name"),
                               InvalidInput("card.number_invalid", "x", field="card_number")])  # fmt: skip
        shown = leaks(message_of(several), language, html=False)
        if shown:
            found["FieldErrors"] = shown
    finally:
        use_language("en")
    assert not found, "\n".join(f"{code}:\n    " + "\n    ".join(lines) for code, lines in found.items())
