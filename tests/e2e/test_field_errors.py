"""Every wrong field of a form is refused at once, each beside its field, named in words and in the page's language;
the API lists them all in one problem; nothing is written (rules X4, X5, K4, K5, T2, Y2).
"""

from __future__ import annotations

import httpx
import pytest

from prorata.adapters.db.queries import contact_views, payment_method_views
from tests.e2e.api_client import Api
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.test_api_access import assert_problem
from tests.e2e.test_portal import CONTACT, text_of

# three fields wrong at once: a required one left empty, one too long, and a NIP with a wrong check digit
THREE_WRONG = {"sold_to.city": "", "sold_to.postal_code": "0" * 21, "bill_to.tax_id": "1234567890"}
EXPECTED = {
    "en": {
        "error-sold_to-city": "City is required.",
        "error-sold_to-postal_code": "Postal code: at most 20 characters.",
        "error-bill_to-tax_id": "Tax ID: 1234567890 is not a valid NIP.",
    },
    "pl": {
        "error-sold_to-city": "Pole „Miasto” jest wymagane.",
        "error-sold_to-postal_code": "Pole „Kod pocztowy”: najwyżej 20 znaków.",
        "error-bill_to-tax_id": "Pole „NIP”: 1234567890 nie jest prawidłowym numerem NIP.",
    },
}
CARD = {"method": "card", "card_number": "4242424242424242", "exp_month": "11", "exp_year": "2031",
        "next": "/billing/information"}  # fmt: skip
# an address the checker writes differently (00950 -> 00-950): it would be offered as a suggestion (rule K5)
OWN_ADDRESS = {"card.address_line1": "ul. Prosta 1", "card.city": "Warszawa", "card.postal_code": "00950",
               "card.country": "PL"}  # fmt: skip


def contacts_form(**wrong: str) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {f"{kind}.{name}": value for kind in ("sold_to", "bill_to")
                                          for name, value in CONTACT.items()}  # fmt: skip
    return {**values, **wrong, "next": "/billing/information"}


def contacts(visitor: Visitor) -> object:
    with visitor.app.engine.connect() as conn:
        return contact_views(conn, account_id(visitor.app, "demo-business"))


def payment_methods(visitor: Visitor) -> list[object]:
    with visitor.app.engine.connect() as conn:
        return list(payment_method_views(conn, account_id(visitor.app, "demo-business")))


def errors_shown(page: httpx.Response) -> int:
    return page.text.count('class="error"')


@pytest.mark.parametrize("language", ["en", "pl"])
def test_a_contacts_form_with_three_wrong_fields_shows_the_three_at_once_in_words_and_saves_nothing(
    visitor: Visitor, language: str
) -> None:
    # rules X4, X5, T2: each message beside its field, naming it as the form does, in the page's language
    visitor.sign_in("owner@demo-business.test")
    visitor.language(language)
    before = contacts(visitor)

    refused = visitor.post("/billing/contacts", contacts_form(**THREE_WRONG))

    assert refused.status_code == 400
    assert {element: text_of(refused, element) for element in EXPECTED[language]} == EXPECTED[language]
    assert errors_shown(refused) == 3
    assert 'name="address_checked"' not in refused.text  # no address is suggested for a refused form (rule K5)
    assert contacts(visitor) == before


def test_the_api_answers_every_wrong_contact_field_in_one_problem_and_changes_nothing(api: Api) -> None:
    # rule X4: the first error stays the problem's own code and field, so a client reading only those still can
    acme = api.open_account("acme")
    good = {"name": "Ada", "email": "ada@acme.test", "address_line1": "1 Main St", "city": "Kraków",
            "postal_code": "30-001", "country": "PL"}  # fmt: skip
    body = {
        "sold_to": {**good, "tax_id": "1234567890"},  # a NIP with a wrong check digit
        "bill_to": {**good, "city": "\u3000", "country": "DE", "tax_id": "DE123456789"},  # a blank city, a bad VAT
    }
    before = api.snapshot()

    refused = assert_problem(api.client.put(f"{acme.url}/contacts", json=body, headers=acme.headers), 422,
                             "contact.tax_id")  # fmt: skip

    assert [(e["field"], e["code"]) for e in refused["errors"]] == [
        ("sold_to.tax_id", "contact.tax_id"), ("bill_to.city", "contact.missing"), ("bill_to.tax_id", "contact.tax_id")
    ]  # fmt: skip
    assert refused["field"] == "sold_to.tax_id"
    assert all(e["detail"].startswith(e["field"] + ": ") for e in refused["errors"])
    assert api.snapshot() == before


def test_the_api_refuses_a_bad_card_number_and_a_past_expiry_together(api: Api) -> None:
    acme = api.open_account("acme", card=None)
    before = api.snapshot()
    body = {"kind": "card", "card_number": "4242 4242 4242 4241", "exp_month": 1, "exp_year": 2000}

    refused = assert_problem(acme.post("/payment-methods", body), 422, "card.number_invalid")

    assert [(e["field"], e["code"]) for e in refused["errors"]] == [
        ("card_number", "card.number_invalid"), ("exp_year", "card.expired")
    ]  # fmt: skip
    assert api.snapshot() == before


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_card_form_shows_a_bad_number_and_a_bad_expiry_at_once(visitor: Visitor, language: str) -> None:
    visitor.sign_in("owner@demo-business.test")
    visitor.language(language)
    before = payment_methods(visitor)

    refused = visitor.post("/billing/payment", {**CARD, "card_number": "4242 4242 4242 4241", "exp_month": "13"})

    assert refused.status_code == 400
    shown = {element: text_of(refused, element) for element in ("error-card_number", "error-exp_month")}
    assert shown == {
        "en": {"error-card_number": "Card number: this is not a valid card number.",
               "error-exp_month": "Expiry month: a month from 1 to 12."},
        "pl": {"error-card_number": "Pole „Numer karty”: to nie jest prawidłowy numer karty.",
               "error-exp_month": "Pole „Miesiąc ważności”: podaj miesiąc od 1 do 12."},
    }[language]  # fmt: skip
    assert "4242 4242 4242 4241" not in refused.text  # rule Y2: never sent back
    assert payment_methods(visitor) == before


def test_a_card_address_is_suggested_only_once_the_card_itself_is_valid(visitor: Visitor) -> None:
    # rule K5: an address is suggested only for a form that would otherwise be accepted
    visitor.sign_in("owner@demo-business.test")
    card = {**CARD, **OWN_ADDRESS}

    refused = visitor.post("/billing/payment", {**card, "card_number": "4242 4242 4242 4241", "exp_year": "20x"})

    assert refused.status_code == 400
    assert 'name="address_checked"' not in refused.text
    assert text_of(refused, "error-card_number")
    assert text_of(refused, "error-exp_year")
    offered = visitor.post("/billing/payment", card)
    assert 'name="suggested.card.postal_code" value="00-950"' in offered.text


def test_an_empty_card_number_on_the_suggestion_page_is_asked_for_again_with_the_reason(visitor: Visitor) -> None:
    # rule Y2: the number is never sent back, so the suggestion page asks for it again and says why
    visitor.sign_in("owner@demo-business.test")
    before = payment_methods(visitor)
    offered = visitor.post("/billing/payment", {**CARD, **OWN_ADDRESS})
    assert "it is never kept or sent back to the browser" in offered.text
    taken = {**CARD, **OWN_ADDRESS, "card_number": "", "address_checked": "1", "choice.card": "take",
             "suggested.card.postal_code": "00-950"}  # fmt: skip

    again = visitor.post("/billing/payment", taken)

    assert again.status_code == 400
    assert 'name="address_checked"' in again.text  # still the suggestion page, the address choice kept
    assert text_of(again, "error-card_number") == (
        "Card number: enter the card number again. It is never kept or sent back to the browser, so no page can "
        "fill it in for you."
    )
    assert payment_methods(visitor) == before
    saved = visitor.post("/billing/payment", {**taken, "card_number": "4242 4242 4242 4242"})
    assert saved.url.path == "/billing/information"
    assert len(payment_methods(visitor)) == len(before) + 1
