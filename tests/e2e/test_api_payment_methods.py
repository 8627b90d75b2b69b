"""Payment methods through the API: a card with its own billing address (rules K4, Y2), on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.e2e.api_client import Api


def test_a_card_is_added_with_its_own_billing_address_and_without_one(api: Api) -> None:
    acme = api.open_account("acme", card=None)
    own = {"address_line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}

    card = {"kind": "card", "card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031}
    with_address = acme.post("/payment-methods", {**card, "billing_address": own})
    without = acme.post("/payment-methods", {"kind": "card", "card_number": "5555555555554444", "exp_month": 1,
                                             "exp_year": 2032})  # fmt: skip

    assert with_address.status_code == without.status_code == 201, with_address.text
    assert with_address.json()["billing_address"] == ["Hauptstr. 1", "10115 Berlin", "DE"]
    assert without.json()["billing_address"] == []  # the Bill-To contact's address
    assert "4242424242424242" not in str(acme.get("/payment-methods").json())  # rule Y2: never the number


def test_a_billing_address_without_its_city_is_refused_at_the_field(api: Api) -> None:
    acme = api.open_account("acme", card=None)
    refused = acme.post("/payment-methods", {"kind": "card", "card_number": "4242424242424242", "exp_month": 12,
                                             "exp_year": 2031, "billing_address": {"address_line1": "Hauptstr. 1",
                                             "postal_code": "10115", "country": "DE"}})  # fmt: skip
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "billing_address.city" in refused.text
    assert acme.get("/payment-methods").json() == []
