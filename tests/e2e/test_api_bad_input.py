"""Bad input (rule X4): a problem that names the field, and nothing changed in the database."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.api_client import Api
from tests.e2e.test_api_access import assert_problem

GOOD_CONTACT = {"name": "Ada", "email": "ada@acme.test", "address_line1": "1 Main St", "city": "Kraków",
                "postal_code": "30-001", "country": "PL"}  # fmt: skip
CASES: list[tuple[str, str, str, Any, str, str]] = [
    # (name, method, path, body, code, field)
    ("a float where minor units go", "post", "/orders",
     {"changes": [{"type": "set_licenses", "total": 1.5}], "terms_accepted": True, "terms_version": "1"},
     "licenses.invalid_total", "changes[0].total"),
    ("an unknown product in the cart", "post", "/orders",
     {"changes": [{"type": "add_addon", "product": "webinar_9000"}], "terms_accepted": True, "terms_version": "1"},
     "product.unknown", "changes[0].product"),
    ("an unknown change type", "post", "/quote", {"changes": [{"type": "upgrade_everything"}]},
     "change.unknown_type", "changes[0].type"),
    ("terms of service not accepted", "post", "/orders",
     {"changes": [{"type": "set_licenses", "total": 3}]}, "order.terms_not_accepted", "terms_accepted"),
    ("a Sold-To contact without an e-mail address", "put", "/contacts",
     {"sold_to": {**GOOD_CONTACT, "email": "ada-at-acme"}}, "request.invalid", "sold_to.email"),
    ("a Bill-To contact with a country that is not a code", "put", "/contacts",
     {"sold_to": GOOD_CONTACT, "bill_to": {**GOOD_CONTACT, "country": "Poland"}}, "request.invalid",
     "bill_to.country"),
    ("a card number that fails the Luhn check", "post", "/payment-methods",
     {"kind": "card", "card_number": "4242424242424241", "exp_month": 12, "exp_year": 2030}, "card.number_invalid",
     "card_number"),
    ("an expired card", "post", "/payment-methods",
     {"kind": "card", "card_number": "4242424242424242", "exp_month": 1, "exp_year": 2020}, "card.expired", "exp_year"),
    ("a user with an unknown role", "post", "/users", {"email": "x@acme.test", "name": "X", "role": "king"},
     "request.invalid", "role"),
    ("a user whose e-mail address is taken", "post", "/users", {"email": "owner@acme.test", "name": "Again"},
     "user.email_taken", "email"),
    ("an invoice that is not open", "post", "/payments", {"invoice_ids": [999999]}, "invoice.not_open",
     "invoice_ids"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "code", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_at_its_field_and_changes_nothing(
    api: Api, method: str, path: str, body: Any, code: str, field: str
) -> None:
    acme = api.open_account("acme")
    acme.add_user("owner@acme.test", role="owner")
    assert acme.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="buy").status_code == 201
    before = api.snapshot()

    headers = {**acme.headers, "Idempotency-Key": "bad-input"}
    answer = api.client.request(method.upper(), acme.url + path, json=body, headers=headers)

    refused = assert_problem(answer, 422 if code != "user.email_taken" else 409, code)
    assert refused["field"] == field
    assert refused["detail"]
    assert api.snapshot() == before


def test_a_new_account_with_an_unknown_currency_or_time_zone_is_not_opened(api: Api) -> None:
    before = api.snapshot()
    for field, value, code in (("currency", "XYZ", "currency.unknown"), ("time_zone", "Mars/Olympus",
                                                                         "time_zone.unknown")):  # fmt: skip
        body = {"code": "acme", "name": "Acme", "currency": "USD", "time_zone": "UTC", "country": "US", field: value}
        refused = assert_problem(api.client.post("/api/v1/accounts", json=body, headers=api.operator), 422, code)
        assert refused["field"] == field
    assert api.snapshot() == before


def test_a_billing_run_far_in_the_future_is_refused(api: Api) -> None:
    run = api.client.post("/api/v1/operator/billing-runs", json={"until": "2999-01-01T00:00:00Z"}, headers=api.operator)
    assert assert_problem(run, 422, "billing_run.too_far")["field"] == "until"
    naive = api.client.post("/api/v1/operator/billing-runs", json={"until": "2026-12-01T00:00:00"},
                            headers=api.operator)  # fmt: skip
    assert assert_problem(naive, 422, "time.naive")["field"] == "until"  # read as `prorata bill --until` reads it
