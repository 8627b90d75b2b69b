"""Who reaches what: bearer keys, problem+json refusals, and an account's key confined to its own account."""

from __future__ import annotations

import base64
import re
from typing import Any

from tests.e2e.api_client import Account, Api
from tests.helpers import price

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "rule", "field"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert (body["status"], body["code"], body["type"]) == (status, code, f"urn:prorata:problem:{code}")
    return body


def test_a_request_without_a_key_or_with_a_wrong_one_is_refused_as_a_problem(api: Api) -> None:
    assert_problem(api.client.get("/api/v1/catalog"), 401, "auth.invalid_key")
    for wrong in ("Bearer prk_nope_nope", "Bearer not-a-key", "Basic dXNlcjpwYXNz"):
        refused = assert_problem(api.client.get("/api/v1/catalog", headers={"Authorization": wrong}), 401,
                                 "auth.invalid_key")  # fmt: skip
        assert refused["field"] == "Authorization"
    secret = api.operator["Authorization"]
    tampered = secret[:-3] + ("aaa" if not secret.endswith("aaa") else "bbb")  # right prefix, wrong secret
    assert_problem(api.client.get("/api/v1/catalog", headers={"Authorization": tampered}), 401, "auth.invalid_key")
    assert api.client.get("/api/v1/catalog", headers=api.operator).status_code == 200


def test_a_rule_refusal_names_its_code_rule_and_field(api: Api) -> None:
    # rule X4 through the one error mapper: the engine's refusal keeps its code, its rule and the cart item's field
    acme = api.open_account("acme")
    assert acme.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="buy").status_code == 201
    refused = assert_problem(acme.post("/quote", {"changes": [{"type": "change_plan", "product": "business",
                                                               "licenses": 3}]}), 422, "plan.min_licenses")  # fmt: skip
    assert (refused["rule"], refused["field"]) == ("P3", "changes[0].licenses")


def test_a_malformed_request_lists_each_field_at_fault(api: Api) -> None:
    acme = api.open_account("acme")
    refused = assert_problem(acme.post("/users", {"email": "no-at-sign", "role": "boss"}), 422, "request.invalid")
    assert {e["field"] for e in refused["errors"]} == {"email", "name", "role"}
    assert refused["field"] in {"email", "name", "role"}


def test_an_unknown_path_is_a_problem_too(api: Api) -> None:
    assert_problem(api.client.get("/api/v1/nowhere", headers=api.operator), 404, "http.404")


def test_operator_routes_refuse_an_account_key(api: Api) -> None:
    acme = api.open_account("acme")
    body = {"code": "other", "name": "Other", "currency": "USD", "time_zone": "UTC", "country": "US"}
    assert_problem(api.client.post("/api/v1/accounts", json=body, headers=acme.headers), 403, "auth.operator_only")
    run = api.client.post("/api/v1/operator/billing-runs", json={"until": "2026-11-15T10:00:00Z"}, headers=acme.headers)
    assert_problem(run, 403, "auth.operator_only")
    # rule DC2: discount codes are the operator's to make
    code = {"code": "MINE", "duration": "forever", "percent": "100"}
    made = api.client.post("/api/v1/discount-codes", json=code, headers={**acme.headers, "Idempotency-Key": "mine"})
    assert_problem(made, 403, "auth.operator_only")


# ------------------------------------------------------------------------------------------- the foreign-key walk
def furnished(api: Api, code: str) -> tuple[Account, dict[str, Any]]:
    """An account with one row of every kind a path can name: a subscription, a user, an invoice, a card, a tax
    exemption certificate, a discount code it redeemed."""
    account = api.open_account(code)
    placed = account.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="buy")
    assert placed.status_code == 201, placed.text
    user = account.add_user(f"member@{code}.test")
    # a tax exemption certificate (rule TE1), sent by a customer in Texas
    texas = {"name": "Ada", "email": f"ada@{code}.test", "address_line1": "1 Congress Ave", "city": "Austin",
             "postal_code": "78701", "region": "TX", "country": "US"}  # fmt: skip
    assert (
        account.api.client.put(f"{account.url}/contacts", json={"sold_to": texas}, headers=account.headers).status_code
        == 200
    )
    pdf = base64.b64encode(b"%PDF-1.7\n%%EOF\n").decode()
    sent = account.api.client.put(f"{account.url}/tax-exemption/certificate", headers=account.headers,
                              json={"filename": "c.pdf", "content_base64": pdf})  # fmt: skip
    assert sent.status_code == 200, sent.text
    # a discount code of its own, entered for the next billing date (rules DC1, DC2)
    discount = f"WELCOME-{code.upper()}"
    created = api.client.post("/api/v1/discount-codes", headers={**api.operator, "Idempotency-Key": discount},
                              json={"code": discount, "duration": "once", "percent": "10"})  # fmt: skip
    assert created.status_code == 201, created.text
    assert account.post("/discount", {"code": discount}).status_code == 201
    rows = {
        "account_id": account.id,
        "subscription_id": account.get("/subscriptions").json()[0]["id"],
        "user_id": user,
        "invoice_id": placed.json()["invoice_id"],
        "payment_method_id": account.get("/payment-methods").json()[0]["id"],
        "number": placed.json()["invoice_number"],  # the operator's credit-note route names the invoice by number
        # the operator's refund routes: the id the account's first refund would get (the walks that name it are
        # refused before any row is read)
        "refund_id": 1,
        "exemption_id": sent.json()["exemption_id"],
        "code": discount,  # the operator's discount-code routes
    }
    return account, rows


def account_operations(api: Api) -> list[tuple[str, str]]:
    """Every operation of the served OpenAPI document whose path names an account: new routes are walked too."""
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]
    return [(method, path) for path, item in paths.items() if "{account_id}" in path for method in item]


def call(api: Api, account: Account, method: str, path: str, ids: dict[str, Any]) -> Any:
    url = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
    headers = {**account.headers, "Idempotency-Key": "walk"}
    body = {} if method in ("post", "put") else None
    return api.client.request(method.upper(), url, headers=headers, json=body)


def test_every_account_route_answers_404_to_another_accounts_key(api: Api) -> None:
    # an account's key never sees or changes another account: its id and its rows are as if they did not exist
    mine, my_rows = furnished(api, "mine")
    _, their_rows = furnished(api, "theirs")
    operations = account_operations(api)
    assert len(operations) >= 15
    assert ("post", "/accounts/{account_id}/orders") in operations
    before = api.snapshot()

    walked = []
    for method, path in operations:
        refused = call(api, mine, method, path, their_rows)
        assert refused.status_code == 404, (method, path, refused.text)
        assert refused.json()["code"] == "account.not_found"
        walked.append((method, path))
        # my own account with one row of theirs: each row parameter on its own
        for name in re.findall(r"\{(\w+)\}", path):
            if name == "account_id":
                continue
            refused = call(api, mine, method, path, {**my_rows, name: their_rows[name]})
            assert refused.status_code == 404, (method, path, name, refused.text)
            assert refused.json()["field"] == name

    assert walked == operations
    assert api.snapshot() == before  # nothing was read into a change, nothing was written


def test_an_account_key_knows_its_account(api: Api) -> None:
    acme = api.open_account("acme")
    assert api.client.get("/api/v1/key", headers=acme.headers).json()["account_id"] == acme.id
    assert api.client.get("/api/v1/key", headers=api.operator).json()["account_id"] is None


def test_an_account_key_lists_its_own_account_and_an_operator_key_every_one(api: Api) -> None:
    acme, other = api.open_account("acme"), api.open_account("other")
    listed = api.client.get("/api/v1/accounts", headers=acme.headers).json()
    assert [a["code"] for a in listed] == ["acme"]
    assert api.client.get("/api/v1/accounts?code=other", headers=acme.headers).json() == []
    everyone = api.client.get("/api/v1/accounts", headers=api.operator).json()
    assert [a["id"] for a in everyone] == [acme.id, other.id]
    by_code = api.client.get("/api/v1/accounts?code=other", headers=api.operator).json()
    assert [a["id"] for a in by_code] == [other.id]
    page = api.client.get(f"/api/v1/accounts?after={acme.id}&limit=1", headers=api.operator).json()
    assert [a["id"] for a in page] == [other.id]


def test_the_catalog_lists_products_with_prices_in_minor_units(api: Api) -> None:
    products = api.client.get("/api/v1/catalog", headers=api.operator).json()["products"]
    pro = next(p for p in products if p["code"] == "pro")
    assert {"interval": "month", "currency": "USD", "unit_amount": price("pro")} in pro["prices"]
    assert {p["code"] for p in products} >= {"basic", "pro", "business"}
