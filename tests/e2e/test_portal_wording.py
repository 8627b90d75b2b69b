"""The portal's words for what a customer holds and buys, in both languages: the one-month Webinar says it does not
renew wherever it is shown (rule A8), the plan form gives the catalog's license range (rules P3, L1), an interval
switch explains its lines (rules C1, C2), a Polish seller's tax is named VAT (rule T1), add-on quantities carry
their unit and the Polish headings their question marks (rule X5).
"""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from pypdf import PdfReader

from prorata.adapters.db.queries import invoice_views
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.test_portal import checkout, text_of

LANGUAGES = pytest.mark.parametrize("language", ["en", "pl"])
WEBINAR = "webinar_500_one_month"
WORDS = {
    "en": {
        "not_renewing": "Does not renew — ends Dec 15, 2026",
        "offer": "Charged in full; does not renew.",
        "offer_step": "One calendar month, charged in full; does not renew.",
        "item": "Webinar 500, one month: 2 seats, one calendar month, does not renew",
        "to_assign": "Webinar 500, one month: 2 seats",
        "pdf_line": "Webinar 500, one month: 2 seats,",
        "panel": "Webinar 500, one month does not renew — it ends Dec 15, 2026.",
        "range": "1–9 licenses",
        "assigned": "enter 12 to add 2. Assigned: 2.",
        "switch": "The unused time of the current billing period is credited, and a new billing period starts now.",
        "tax": "VAT (23%)",
        "seats": "2 seats · 2 assigned",
        "addon_item": "Large Meetings 500: 1 seat, monthly",
        "products": "Interested in other products?",
        "plans": "Interested in other plans?",
    },
    "pl": {
        "not_renewing": "Nie odnawia się — kończy się 15 gru 2026",
        "offer": "Płatne w całości; nie odnawia się.",
        "offer_step": "Jeden miesiąc kalendarzowy, płatny w całości; nie odnawia się.",
        "item": "Webinar 500 na jeden miesiąc: 2 miejsca, jeden miesiąc kalendarzowy, nie odnawia się",
        "to_assign": "Webinar 500 na jeden miesiąc: 2 miejsca",
        "pdf_line": "Webinar 500 na jeden miesiąc: 2 miejsca,",
        "panel": "Webinar 500 na jeden miesiąc nie odnawia się — kończy się 15 gru 2026.",
        "range": "1–9 licencji",
        "assigned": "wprowadź 12. Przypisane: 2.",
        "switch": "Niewykorzystany czas bieżącego okresu rozliczeniowego zostaje zaliczony jako kredyt, a nowy okres "
        "rozliczeniowy zaczyna się teraz.",
        "tax": "VAT (23%)",
        "seats": "2 miejsca · przypisane: 2",
        "addon_item": "Duże spotkania 500: 1 miejsce, miesięcznie",
        "products": "Czy interesują Cię inne dostępne produkty?",
        "plans": "Czy interesują Cię inne dostępne plany?",
    },
}


def flat(html: str) -> str:
    """A page's text without its tags, its spaces made plain and single."""
    text = re.sub(r"<[^>]+>", " ", html).replace("\xa0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", text)


def signed_in(visitor: Visitor, email: str, language: str) -> Visitor:
    visitor.sign_in(email)
    visitor.language(language)
    return visitor


@LANGUAGES
def test_the_one_month_webinar_says_it_does_not_renew_from_its_offer_to_its_card(
    visitor: Visitor, language: str
) -> None:
    # rule A8: one calendar month, charged in full, never renews: said on the offer, the products step, the cart,
    # the summary, its card and the next-invoice panel, never with a next billing date
    words = WORDS[language]
    signed_in(visitor, "owner@demo-business.test", language)
    billing = visitor.get("/billing")
    assert words["offer"] in text_of(billing, f"offer-note-{WEBINAR}")

    visitor.post(f"/billing/addons/add/{WEBINAR}", {"quantity": "2", "interval": "month"})
    step = visitor.get("/checkout/products")
    assert words["item"] in flat(step.text)
    cart = visitor.get("/cart")
    assert words["item"] in flat(cart.text)
    assert words["not_renewing"] in flat(cart.text)

    summary, placed = checkout(visitor)
    assert words["item"] in flat(summary.text)
    assert words["not_renewing"] in flat(summary.text)
    assert placed.status_code == 200, placed.text
    # the confirmation counts the seats to assign, and the invoice's PDF its line's seats (rule I5)
    assert words["to_assign"] in flat(text_of(placed, "to-assign"))
    with visitor.app.engine.connect() as conn:
        issued = invoice_views(conn, account_id(visitor.app, "demo-business"))[0]
    pdf = visitor.get(f"/billing/invoices/{issued.id}/pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert words["pdf_line"] in text

    card = visitor.get("/billing")
    assert text_of(card, f"addon-ends-{WEBINAR}") == words["not_renewing"]
    section = re.search(rf'id="addon-{WEBINAR}".*?</section>', card.text, re.S)
    assert section is not None
    assert "Next billing date" not in section.group(0)
    assert "Następny termin rozliczenia" not in section.group(0)
    assert f'id="cancel-addon-{WEBINAR}"' not in card.text  # nothing to cancel: it ends by itself
    assert text_of(card, f"next-ends-{WEBINAR}") == words["panel"]


@LANGUAGES
def test_the_one_month_webinar_on_the_products_step_says_it_does_not_renew(visitor: Visitor, language: str) -> None:
    # rule A8, on "Interested in other products?" (its heading with its question mark, rule X5)
    signed_in(visitor, "owner@demo-business.test", language)
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    step = visitor.get("/checkout/products")
    assert f"<h1>{WORDS[language]['products']}</h1>" in step.text
    assert text_of(step, f"offer-note-{WEBINAR}") == WORDS[language]["offer_step"]


@LANGUAGES
def test_the_plan_form_gives_the_catalogs_license_range_and_the_input_keeps_to_it(
    visitor: Visitor, language: str
) -> None:
    # rules P3, L1: Pro allows 1 to 9 licenses (default.toml); the note reads "enter 12. Assigned: 2."
    signed_in(visitor, "owner@demo-pro.test", language)
    form = visitor.get("/billing/edit")
    assert text_of(form, "license-range") == WORDS[language]["range"]
    assert re.search(r'<input id="licenses"[^>]*min="1"[^>]*max="9"', form.text)
    assert flat(text_of(form, "license-total-note")).endswith(WORDS[language]["assigned"])


@LANGUAGES
def test_an_interval_switch_explains_its_lines_in_the_cart_and_the_summary(visitor: Visitor, language: str) -> None:
    # rules C1, C2: the unused time is credited and a new period starts now
    signed_in(visitor, "owner@demo-business.test", language)
    visitor.post("/billing/edit", {"licenses": "12", "interval": "year"})
    assert text_of(visitor.get("/cart"), "interval-switch-note") == WORDS[language]["switch"]
    summary, _ = checkout(visitor)
    assert text_of(summary, "interval-switch-note") == WORDS[language]["switch"]


@LANGUAGES
def test_a_licence_change_alone_has_no_interval_switch_note(visitor: Visitor, language: str) -> None:
    signed_in(visitor, "owner@demo-business.test", language)
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    assert 'id="interval-switch-note"' not in visitor.get("/cart").text


@LANGUAGES
def test_a_polish_sellers_tax_is_named_vat_in_the_cart_and_on_current_plans(visitor: Visitor, language: str) -> None:
    # rule T1: the built-in seller is Polish, so its tax is VAT, as its invoices print it
    signed_in(visitor, "owner@demo-business.test", language)
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    cart = flat(visitor.get("/cart").text)
    assert WORDS[language]["tax"] in cart
    assert "Podatek" not in cart
    assert "Tax (" not in cart
    assert WORDS[language]["tax"] in flat(visitor.get("/billing").text)


@LANGUAGES
def test_a_non_polish_sellers_tax_keeps_the_generic_word(
    visitor: Visitor, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a German seller's configuration: the same rates, another seller
    german = replace(visitor.app.tax, seller=replace(visitor.app.tax.seller, country="DE"))
    monkeypatch.setattr(visitor.app, "tax", german)
    signed_in(visitor, "owner@demo-business.test", language)
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    cart = flat(visitor.get("/cart").text)
    assert {"en": "Tax (", "pl": "Podatek ("}[language] in cart
    assert "VAT (" not in cart


@LANGUAGES
def test_add_on_seats_carry_their_unit_on_the_card_and_in_the_cart(visitor: Visitor, language: str) -> None:
    # Large Meetings 500 for two users (the demo): "2 seats", "2 miejsca"; one more in the cart: "1 seat"
    signed_in(visitor, "owner@demo-business.test", language)
    billing = visitor.get("/billing")
    assert flat(text_of(billing, "addon-seats-large_meetings_500")) == WORDS[language]["seats"]
    assert text_of(billing, "other-plans-heading") == WORDS[language]["plans"]

    visitor.get("/billing")
    signed_in(visitor, "owner@demo-pro.test", language)
    visitor.post("/billing/addons/add/large_meetings_500", {"quantity": "1", "interval": "month"})
    cart = flat(visitor.get("/cart").text)
    assert WORDS[language]["addon_item"] in cart
    # the line priced for it, as its invoice will show it (rule I5)
    assert {"en": "Large Meetings 500: 1 seat, ", "pl": "Duże spotkania 500: 1 miejsce, "}[language] in cart


@LANGUAGES
def test_a_reduction_below_the_assigned_licenses_names_the_total_entered_then_the_assigned(
    visitor: Visitor, language: str
) -> None:
    # rule L4: demo-pro holds 3 licenses, 2 assigned; 1 entered
    signed_in(visitor, "owner@demo-pro.test", language)
    refused = visitor.post("/billing/edit", {"licenses": "1", "interval": "month"})
    assert refused.status_code == 400
    assert (
        text_of(refused, "error-licenses")
        == {
            "en": "You entered 1. Assigned: 2. Unassign 1 user in User Management → Users before reducing.",
            "pl": "Wprowadzono 1. Przypisane: 2. Przed zmniejszeniem cofnij przypisanie 1 użytkownikowi w obszarze "
            "Zarządzanie użytkownikami → Użytkownicy.",
        }[language]
    )


@LANGUAGES
def test_user_management_counts_an_add_on_in_seats_and_the_plan_in_licenses(visitor: Visitor, language: str) -> None:
    # rules A7, L4: demo-business holds Business x 12 and Large Meetings 500 for two users
    signed_in(visitor, "owner@demo-business.test", language)
    page = visitor.get("/users")
    assert text_of(page, "licenses-large_meetings_500").startswith(
        {"en": "Large Meetings 500: 2 seats · ", "pl": "Duże spotkania 500: 2 miejsca · "}[language]
    )
    assert text_of(page, "licenses-business").startswith(
        {"en": "Business: 12 licenses · ", "pl": "Dla firm: 12 licencji · "}[language]
    )
