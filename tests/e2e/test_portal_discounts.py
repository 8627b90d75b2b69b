"""Discounts in the portal (rules DC1, DC2), through its forms as a browser without JavaScript sends them, on SQLite
and PostgreSQL: "Add Discount" on the cart and the order summary applies a code to the order, whose discount lines
are shown before tax and invoiced as shown; a refused code is said beside the field in the page's language and
changes nothing; a code added on Current Plans applies from the next billing date; members see the discount but not
the form; a credit note reverses a discount line as a discount line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from prorata.adapters.db.clock import move_clock
from prorata.adapters.db.queries import invoice_view, invoice_views
from prorata.adapters.db.schema import discount_codes, discount_redemptions, invoice_lines, orders
from prorata.bootstrap import App
from prorata.domain.discounts import WHOLE_PERCENT
from prorata.domain.money import round_half_up
from prorata.domain.periods import Interval
from prorata.entrypoints.portal.i18n import money
from prorata.services.credit_notes import void_invoice
from prorata.services.discounts import CreateDiscountCode, create_discount_code, retire_discount_code
from prorata.services.renew_due import RenewDue, renew_due
from tests.e2e.conftest import START, Visitor, account_id, member_with_password
from tests.e2e.language_leaks import leaks
from tests.e2e.order_page import norm, order_page, parse, text_by_id
from tests.e2e.test_one_language_per_page import DATA
from tests.e2e.test_portal import CONTACT, checkout

BUSINESS = "owner@demo-business.test"
MEMBER = "user1@demo-business.test"
MID_PERIOD = START + timedelta(days=14)  # Nov 29: 16 of the period's 30 days left (Nov 29 - Dec 14)
RENEWAL = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)  # past demo-business's next billing date, Dec 15
TWENTY_PERCENT = 20 * WHOLE_PERCENT // 100


def new_code(app: App, name: str, **terms: object) -> None:
    """An operator's code (rule DC2): 20 % off the whole order for three billing periods unless told otherwise."""
    command = {"duration": "repeating", "periods": 3, "percent": TWENTY_PERCENT, **terms}
    create_discount_code(CreateDiscountCode(name, actor="operator", **command),  # type: ignore[arg-type]
                         uow=app.uow, clock=app.clock, catalog=app.catalog)  # fmt: skip


def at(app: App, instant: datetime) -> None:
    move_clock(app.engine, instant)
    app.clock.refresh()


def redeemed(app: App, name: str) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(discount_codes.c.redeemed).where(discount_codes.c.code == name)).scalar_one())


def redemptions(app: App) -> list[tuple[str, str]]:
    """(code, status) of demo-business's redemptions."""
    business = account_id(app, "demo-business")
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(discount_redemptions.c.code, discount_redemptions.c.status).where(
                discount_redemptions.c.account_id == business
            )
        )
        return [(r.code, r.status) for r in rows]


def order_count(app: App) -> int:
    with app.engine.connect() as conn:
        return len(conn.execute(select(orders.c.id)).all())


def newest_invoice(app: App) -> int:
    business = account_id(app, "demo-business")
    with app.engine.connect() as conn:
        return invoice_views(conn, business)[0].id


def lines_of(response: httpx.Response) -> list[tuple[str, str, str]]:
    """(kind, description, amount) of each line of the page's quote or invoice, as a reader sees them."""
    table = parse(response.text).find("lines")
    assert table is not None, f"no lines on {response.url}"
    found = []
    for row in table.all("tr"):
        cells = row.all("td")
        if cells:
            found.append((next(iter(row.classes), ""), cells[0].text, cells[-1].text))
    return found


def described(response: httpx.Response) -> list[tuple[str, str]]:
    return [(kind, text) for kind, text, _amount in lines_of(response)]


def summary_key(response: httpx.Response) -> str:
    key = re.search(r'name="key" value="([^"]+)"', response.text)
    assert key is not None, f"no order key on {response.url}"
    return key.group(1)


def two_more_licenses(visitor: Visitor) -> None:
    """demo-business (Business x 12, PLN, billed on the 15th) puts 2 more licenses in the cart mid-period."""
    at(visitor.app, MID_PERIOD)
    visitor.sign_in(BUSINESS)
    assert visitor.post("/billing/edit", {"licenses": "14", "interval": "month"}).status_code == 200


def to_summary(visitor: Visitor) -> httpx.Response:
    """The K1 steps after the cart (contacts, payment method, Terms of Service), up to the order summary."""
    contacts = {f"{kind}.{name}": value for kind in ("sold_to", "bill_to") for name, value in CONTACT.items()}
    visitor.post("/billing/contacts", {**contacts, "next": "/checkout/payment"})
    visitor.post("/billing/payment", {"method": "current", "next": "/checkout/terms"})
    summary = visitor.post("/checkout/terms", {"terms": "on"})
    assert summary.url.path == "/checkout/summary"
    return summary


# ------------------------------------------------------------------------------------------- a code with an order


def test_a_code_in_the_cart_shows_its_discount_line_before_tax_and_the_placed_order_invoices_it(
    visitor: Visitor,
) -> None:
    # rules DC1, DC2, C6: 20 % off the two licenses' 16 of 30 days, a line of its own right after the charge
    app = visitor.app
    new_code(app, "SAVE20")
    two_more_licenses(visitor)
    before = order_page(visitor.get("/cart").text)

    entered = visitor.post("/cart/discount", {"discount_code": " save20 ", "back": "cart"})

    assert entered.url.path == "/cart"
    assert text_by_id(entered.text, "discount-applied") == "The discount code SAVE20 applies to this order."
    lines = lines_of(entered)
    assert [(kind, text) for kind, text, _amount in lines] == [
        ("charge", "Business: 2 licenses, 16 of 30 days"),
        ("discount", "Discount SAVE20: Business, 2 licenses, 16 of 30 days"),
    ]
    assert lines[0][2] == before.figures["subtotal"]  # the charge as it was; the discount is a line of its own
    shown = order_page(entered.text)
    assert shown.figures["subtotal"] != before.figures["subtotal"]
    business = account_id(app, "demo-business")
    with app.uow() as tx:
        assert tx.load_account(business, lock=False).discount is None  # checked only: nothing redeemed yet
    assert redeemed(app, "SAVE20") == 0

    summary, placed = checkout(visitor)

    assert described(summary) == [(kind, text) for kind, text, _amount in lines]
    assert order_page(summary.text).figures == shown.figures  # the summary prices what the cart showed (C6)
    assert placed.url.path.startswith("/checkout/done/")
    with app.engine.connect() as conn:
        invoice = invoice_view(conn, business, invoice_views(conn, business)[0].id)
    assert invoice is not None
    discount_line = invoice.lines[1]
    assert (discount_line.kind, discount_line.product) == ("discount", "business")
    # 2 licenses x the monthly price x 16/30 x 20 %, exact and rounded once (rule C4)
    price = app.catalog.products["business"].prices[(Interval.MONTH, "PLN")]
    assert discount_line.amount == -round_half_up(2 * price * 16 * TWENTY_PERCENT, 30 * WHOLE_PERCENT)
    # before tax: the subtotal is the lines' sum, the tax (23 %) is taken on the discounted lines
    assert invoice.subtotal == invoice.lines[0].amount + discount_line.amount
    assert shown.figures["subtotal"] == norm(money(invoice.subtotal, "PLN"))
    assert shown.figures["tax"] == norm(money(invoice.tax, "PLN"))
    assert text_by_id(placed.text, "discount-taken-SAVE20") == (
        f"The discount code SAVE20 took {norm(money(-discount_line.amount, 'PLN'))} off this order, before tax."
    )
    page = visitor.get(f"/billing/invoices/{invoice.id}")
    assert lines_of(page)[1] == (
        "discount",
        "Discount SAVE20: Business, 2 licenses, 16 of 30 days",
        norm(money(discount_line.amount, "PLN")),
    )
    assert redeemed(app, "SAVE20") == 1
    assert redemptions(app) == [("SAVE20", "applied")]
    # the order took the code with it, and the account holds the discount: a later charge in its span gets it too
    visitor.post("/billing/edit", {"licenses": "15", "interval": "month"})
    later = visitor.get("/cart")
    assert 'id="discount-applied"' not in later.text
    assert 'id="discount_code"' in later.text
    assert described(later)[1] == ("discount", "Discount SAVE20: Business, 1 license, 16 of 30 days")


def test_a_code_entered_on_the_polish_summary_is_a_new_order_and_its_line_reads_rabat(visitor: Visitor) -> None:
    # rules DC1, DC2, C6, X3, X5: entered on the order summary itself, read in Polish; the summary shown before the
    # code places nothing, the one shown with it places the order with the discount
    app = visitor.app
    new_code(app, "RABAT10", percent=10 * WHOLE_PERCENT // 100)
    two_more_licenses(visitor)
    visitor.language("pl")
    without = to_summary(visitor)

    entered = visitor.post("/cart/discount", {"discount_code": "rabat10", "back": "summary"})

    assert entered.url.path == "/checkout/summary"
    assert text_by_id(entered.text, "discount-heading") == "Rabat"
    assert text_by_id(entered.text, "discount-applied") == "Kod rabatowy RABAT10 obowiązuje w tym zamówieniu."
    assert described(entered) == [
        ("charge", "Dla firm: 2 licencje, 16 z 30 dni"),
        ("discount", "Rabat RABAT10: Dla firm, 2 licencje, 16 z 30 dni"),
    ]
    assert summary_key(entered) != summary_key(without)
    stale = visitor.post("/checkout/place", {"key": summary_key(without)})
    assert stale.url.path == "/checkout/summary"
    assert order_count(app) == 2  # the demo's two orders only
    placed = visitor.post("/checkout/place", {"key": summary_key(entered)})
    assert placed.url.path.startswith("/checkout/done/")
    assert (text_by_id(placed.text, "discount-taken-RABAT10") or "").startswith("Kod rabatowy RABAT10 obniżył")
    page = visitor.get(f"/billing/invoices/{newest_invoice(app)}")
    assert described(page)[1] == ("discount", "Rabat RABAT10: Dla firm, 2 licencje, 16 z 30 dni")


def test_a_code_in_the_cart_can_be_removed_and_the_cart_is_priced_as_before(visitor: Visitor) -> None:
    # rule DC1: the code is shown with a way to remove it; removed, nothing of it is left
    new_code(visitor.app, "SAVE20")
    two_more_licenses(visitor)
    before = order_page(visitor.get("/cart").text)
    visitor.post("/cart/discount", {"discount_code": "SAVE20", "back": "cart"})

    removed = visitor.post("/cart/discount/remove", {"back": "cart"})

    assert removed.url.path == "/cart"
    assert order_page(removed.text).figures == before.figures
    assert described(removed) == [("charge", "Business: 2 licenses, 16 of 30 days")]
    assert 'id="discount_code"' in removed.text  # the field is back, empty
    assert visitor.post("/cart/discount/remove", {"back": "cart"}).status_code == 200  # a second click: no harm


# ------------------------------------------------------------------------------------------------ refused codes


def test_an_unknown_code_is_refused_beside_the_field_in_english_and_nothing_changes(visitor: Visitor) -> None:
    # rules DC1, X4: the refusal beside the field, what was typed kept in it, the cart priced as before
    two_more_licenses(visitor)
    before = visitor.get("/cart")

    refused = visitor.post("/cart/discount", {"discount_code": "NOSUCH", "back": "cart"})

    assert refused.status_code == 400
    assert text_by_id(refused.text, "error-discount_code") == (
        "There is no such discount code: check it and enter it again (rule DC1)."
    )
    field = parse(refused.text).find("discount_code")
    assert field is not None
    assert field.attrs["value"] == "NOSUCH"
    assert field.attrs["aria-invalid"] == "true"
    assert order_page(refused.text).figures == order_page(before.text).figures
    assert described(refused) == described(before)
    again = visitor.get("/cart")
    assert 'id="discount-applied"' not in again.text
    assert 'id="error-discount_code"' not in again.text


def test_an_expired_code_and_a_malformed_one_are_refused_in_polish_on_the_summary_and_nothing_changes(
    visitor: Visitor,
) -> None:
    # rules DC1, DC2, X4, X5: the summary keeps its order key (the order it would place is the same)
    app = visitor.app
    new_code(app, "LATE1", expires_at=MID_PERIOD - timedelta(days=1))
    two_more_licenses(visitor)
    visitor.language("pl")
    summary = to_summary(visitor)

    expired = visitor.post("/cart/discount", {"discount_code": "late1", "back": "summary"})
    malformed = visitor.post("/cart/discount", {"discount_code": "x!", "back": "summary"})

    assert expired.status_code == malformed.status_code == 400
    assert text_by_id(expired.text, "error-discount_code") == "Kod rabatowy LATE1 wygasł (zasada DC2)."
    assert text_by_id(malformed.text, "error-discount_code") == (
        "Kod rabatowy to od 3 do 32 liter, cyfr, łączników lub podkreśleń: sprawdź go i wpisz ponownie (zasada DC1)."
    )
    for page in (expired, malformed):
        assert summary_key(page) == summary_key(summary)
        assert order_page(page.text).figures == order_page(summary.text).figures
        assert [kind for kind, _text in described(page)] == ["charge"]
    assert redeemed(app, "LATE1") == 0
    assert redemptions(app) == []


def test_a_code_retired_while_in_the_cart_leaves_it_with_the_reason_and_the_order_is_placed_without_it(
    visitor: Visitor,
) -> None:
    # rules DC1, DC2, C6: the operator retires the code after it was entered; the cart says why it no longer applies
    # and prices without it, so the order placed is the one shown
    app = visitor.app
    new_code(app, "SAVE20")
    two_more_licenses(visitor)
    visitor.post("/cart/discount", {"discount_code": "SAVE20", "back": "cart"})
    retire_discount_code("SAVE20", "operator", uow=app.uow, clock=app.clock)

    cart = visitor.get("/cart")

    assert text_by_id(cart.text, "error-discount_code") == "The discount code SAVE20 is no longer offered (rule DC2)."
    assert described(cart) == [("charge", "Business: 2 licenses, 16 of 30 days")]
    summary, placed = checkout(visitor)
    assert 'id="discount-applied"' not in summary.text
    assert placed.url.path.startswith("/checkout/done/")
    assert [kind for kind, _text in described(visitor.get(f"/billing/invoices/{newest_invoice(app)}"))] == ["charge"]
    assert redeemed(app, "SAVE20") == 0


# ------------------------------------------------------------------------------- a code added on Current Plans


def test_a_code_added_on_current_plans_applies_from_the_next_billing_date(visitor: Visitor) -> None:
    # rule DC1: entered without an order, it changes nothing in the current period and discounts the renewal;
    # rule DC2: 10 zł off each Business license per billing period, for one period
    app = visitor.app
    new_code(app, "TEN-OFF", duration="once", periods=None, percent=None, amounts={"PLN": 1000},
             products=("business",))  # fmt: skip
    at(app, MID_PERIOD)
    visitor.sign_in(BUSINESS)
    before = parse(visitor.get("/billing").text)
    assert text_by_id(visitor.get("/billing").text, "discount-next") == (
        "A code added now applies from the next billing date, Dec 15, 2026; the current billing period is not changed."
    )

    added = visitor.post("/billing/discount", {"discount_code": "ten-off"})

    assert added.url.path == "/billing"
    page = added.text
    assert text_by_id(page, "discount-code") == "TEN-OFF"
    assert text_by_id(page, "discount-takes-off") == f"{norm(money(1000, 'PLN'))} off each license per billing period"
    assert text_by_id(page, "discount-applies-to") == "Business"
    assert (
        text_by_id(page, "discount-valid") == "from Dec 15, 2026 through Jan 14, 2027"
    )  # the last day it covers (rule C3)
    assert text_by_id(page, "discount-waiting") == (
        "It applies from the next billing date, Dec 15, 2026; the current billing period is not changed."
    )
    assert 'id="discount-form"' not in page  # one code at a time (rule DC2)
    assert text_by_id(page, "discount-one") == (
        "One discount code at a time: another can be added once this one has ended."
    )
    # the next invoice, priced as the billing run will price it: 12 licenses x 10 zł less
    subtotal = before.find("next-subtotal")
    assert subtotal is not None
    after = parse(page).find("next-subtotal")
    assert after is not None
    assert int(subtotal.attrs["data-minor"]) - int(after.attrs["data-minor"]) == 12 * 1000
    assert redemptions(app) == [("TEN-OFF", "applied")]
    # an order placed before that date is not discounted
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    assert [kind for kind, _text in described(visitor.get("/cart"))] == ["charge"]
    visitor.post("/cart/remove", {"item": "0"})

    at(app, RENEWAL)
    renew_due(RenewDue(RENEWAL), uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog,
              dunning=app.dunning)  # fmt: skip

    renewal = visitor.get(f"/billing/invoices/{newest_invoice(app)}")
    assert ("discount", "Discount TEN-OFF: Business, 12 licenses, 31 of 31 days", norm(money(-12000, "PLN"))) in (
        lines_of(renewal)
    )
    assert [kind for kind, _text in described(renewal)] == ["charge", "discount", "charge"]  # not on the add-on


def test_current_plans_says_a_percentage_for_ever_on_the_whole_invoice_in_polish(visitor: Visitor) -> None:
    # rules DC1, DC2, X5
    app = visitor.app
    new_code(app, "ZAWSZE", duration="forever", periods=None)
    at(app, MID_PERIOD)
    visitor.sign_in(BUSINESS)
    visitor.language("pl")
    shown = visitor.get("/billing")
    assert text_by_id(shown.text, "discount-heading") == "Rabat"
    assert 'for="discount_code">Kod rabatowy</label>' in shown.text
    assert text_by_id(shown.text, "discount-add") == "Dodaj rabat"

    page = visitor.post("/billing/discount", {"discount_code": "zawsze"}).text

    assert text_by_id(page, "discount-takes-off") == "20%"
    assert text_by_id(page, "discount-applies-to") == "całej faktury"
    assert text_by_id(page, "discount-valid") == "od 15 gru 2026, bezterminowo"
    assert text_by_id(page, "discount-waiting") == (
        "Obowiązuje od następnej daty rozliczenia, 15 gru 2026; bieżący okres rozliczeniowy się nie zmienia."
    )


def test_a_refused_code_on_current_plans_is_said_beside_the_field_in_english_and_polish_and_redeems_nothing(
    visitor: Visitor,
) -> None:
    # rules DC1, DC2, X4, X5: a code offered in dollars only, then one that does not exist
    app = visitor.app
    new_code(app, "DOLLARS", percent=None, amounts={"USD": 500})
    at(app, MID_PERIOD)
    visitor.sign_in(BUSINESS)
    before = parse(visitor.get("/billing").text).find("next-subtotal")

    in_english = visitor.post("/billing/discount", {"discount_code": "dollars"})
    visitor.language("pl")
    in_polish = visitor.post("/billing/discount", {"discount_code": "nosuch"})

    assert in_english.status_code == in_polish.status_code == 400
    assert text_by_id(in_english.text, "error-discount_code") == (
        "The discount code DOLLARS is not offered in PLN, the account's currency (rule DC2)."
    )
    assert text_by_id(in_polish.text, "error-discount_code") == (
        "Nie ma takiego kodu rabatowego: sprawdź go i wpisz ponownie (zasada DC1)."
    )
    for page, typed in ((in_english, "dollars"), (in_polish, "nosuch")):
        field = parse(page.text).find("discount_code")
        assert field is not None
        assert field.attrs["value"] == typed
        assert 'id="discount-held"' not in page.text
        shown = parse(page.text).find("next-subtotal")
        assert before is not None
        assert shown is not None
        assert shown.attrs == before.attrs
    assert redeemed(app, "DOLLARS") == 0
    assert redemptions(app) == []


def test_members_see_the_discount_held_but_never_the_form_and_cannot_post_it(visitor: Visitor) -> None:
    # rules DC1, P6: adding a discount is the owner's or an admin's; a member only reads it
    app = visitor.app
    new_code(app, "SAVE20")
    new_code(app, "OTHER")
    at(app, MID_PERIOD)
    member_with_password(app, MEMBER)
    member = Visitor(app)
    member.sign_in(MEMBER)

    bare = member.get("/billing")
    assert 'id="discount-form"' not in bare.text
    assert 'name="discount_code"' not in bare.text
    visitor.sign_in(BUSINESS)
    visitor.post("/billing/discount", {"discount_code": "SAVE20"})
    shown = member.get("/billing")
    forbidden = member.post("/billing/discount", {"discount_code": "OTHER"})
    in_cart = member.post("/cart/discount", {"discount_code": "OTHER", "back": "cart"})

    assert text_by_id(shown.text, "discount-code") == "SAVE20"
    assert 'id="discount-form"' not in shown.text
    assert 'name="discount_code"' not in shown.text
    assert 'id="discount-one"' not in shown.text  # nothing to say about adding one
    assert forbidden.status_code == in_cart.status_code == 403
    assert redeemed(app, "OTHER") == 0
    assert redemptions(app) == [("SAVE20", "applied")]


# ------------------------------------------------------------------------------------------------- credit notes


def test_a_credit_note_reverses_the_discount_line_as_a_discount_naming_its_code(visitor: Visitor) -> None:
    # rules DC2, I2: voided, the invoice's discount line is given back by a discount line of the opposite sign
    app = visitor.app
    new_code(app, "SAVE20")
    two_more_licenses(visitor)
    visitor.post("/cart/discount", {"discount_code": "SAVE20", "back": "cart"})
    checkout(visitor)
    business = account_id(app, "demo-business")
    with app.engine.connect() as conn:
        invoice = invoice_view(conn, business, invoice_views(conn, business)[0].id)
    assert invoice is not None

    note = void_invoice(invoice.number, actor="operator", reason="Ordered twice", uow=app.uow, clock=app.clock)

    page = visitor.get(f"/billing/invoices/{newest_invoice(app)}")
    assert f"Credit note {note.number}" in page.text
    assert lines_of(page) == [
        ("credit", "Reversal: Business: 2 licenses, 16 of 30 days", norm(money(-invoice.lines[0].amount, "PLN"))),
        (
            "discount",
            "Reversal: Discount SAVE20: Business, 2 licenses, 16 of 30 days",
            norm(money(-invoice.lines[1].amount, "PLN")),
        ),
    ]
    with app.engine.connect() as conn:
        stored = conn.execute(
            select(invoice_lines.c.kind, invoice_lines.c.amount, invoice_lines.c.discount_code)
            .where(invoice_lines.c.invoice_id == newest_invoice(app))
            .order_by(invoice_lines.c.position)
        ).all()
    assert [tuple(row) for row in stored] == [
        ("credit", -invoice.lines[0].amount, None),
        ("discount", -invoice.lines[1].amount, "SAVE20"),
    ]
    visitor.language("pl")
    polish = visitor.get(f"/billing/invoices/{newest_invoice(app)}")
    assert described(polish)[1] == ("discount", "Korekta: Rabat SAVE20: Dla firm, 2 licencje, 16 z 30 dni")


# ---------------------------------------------------------------------------------------------- one language


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_page_with_a_discount_reads_in_one_language(app: App, language: str) -> None:
    # rule X5: the cart, the summary, the confirmation, the invoice, its credit note and Current Plans, with a
    # discount and with a refused code, hold no word of the other language
    visitor = Visitor(app)
    new_code(app, "SAVE20")
    visitor.language(language)
    two_more_licenses(visitor)
    pages = {"refused in the cart": visitor.post("/cart/discount", {"discount_code": "NOSUCH", "back": "cart"}),
             "cart": visitor.post("/cart/discount", {"discount_code": "SAVE20", "back": "cart"})}  # fmt: skip
    pages["summary"], pages["confirmation"] = checkout(visitor)
    pages["invoice"] = visitor.get(f"/billing/invoices/{newest_invoice(app)}")
    business = account_id(app, "demo-business")
    with app.engine.connect() as conn:
        issued = invoice_views(conn, business)[0].number
    void_invoice(issued, actor="operator", reason="R-42", uow=app.uow, clock=app.clock)
    pages["credit note"] = visitor.get(f"/billing/invoices/{newest_invoice(app)}")
    pages["current plans, refused"] = visitor.post("/billing/discount", {"discount_code": "SAVE20"})
    pages["current plans"] = visitor.get("/billing")

    assert [page.status_code for page in pages.values()] == [400, 200, 200, 200, 200, 200, 400, 200]
    found = {label: shown for label, page in pages.items() if (shown := leaks(page.text, language, DATA))}
    assert found == {}
    assert 'id="discount-held"' in pages["current plans"].text  # SAVE20, held since the order
