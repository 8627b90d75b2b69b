"""Discount codes through the API (rules DC1, DC2), on SQLite and PostgreSQL: an operator creates, lists, shows and
retires codes; a code entered with an order discounts its invoice on a line of its own and is redeemed with it; a code
entered later applies from the next billing date; every refusal is a problem naming its code, rule and field, and
changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from prorata.domain.errors import ProrataError
from prorata.services import discounts
from prorata.services.discounts import CreateDiscountCode
from tests.e2e.api_client import Account, Api
from tests.e2e.test_api_access import assert_problem
from tests.helpers import price
from tests.races import together

CODES = "/api/v1/discount-codes"
RUNS = "/api/v1/operator/billing-runs"
PRO_2 = {"type": "change_plan", "product": "pro", "licenses": 2}
SAVE20 = {"code": "save20", "duration": "repeating", "periods": 3, "percent": "20"}


def create(api: Api, body: dict[str, Any], key: str = "create") -> Any:
    return api.client.post(CODES, json=body, headers={**api.operator, "Idempotency-Key": key})


def made(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    created = create(api, body, key=body["code"])
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    return answer


def lines_of(account: Account, invoice_id: int) -> list[tuple[str, int, str | None]]:
    invoice = account.get(f"/invoices/{invoice_id}").json()
    return [(line["kind"], line["amount"], line["discount_code"]) for line in invoice["lines"]]


def test_an_operator_creates_lists_shows_and_retires_codes(api: Api) -> None:
    # rule DC2: a percentage for three periods, and fixed amounts per currency on one product with an expiry and a limit
    save20 = create(api, SAVE20)
    fixed = {"code": "FIVE-OFF", "duration": "forever", "amounts": {"USD": 500, "PLN": 2000}, "products": ["pro"],
             "expires_at": "2027-01-31", "max_redemptions": 10}  # fmt: skip
    five = made(api, fixed)

    assert save20.status_code == 201, save20.text
    assert save20.headers["Idempotent-Replayed"] == "false"
    assert save20.json() == {
        "code": "SAVE20", "duration": "repeating", "periods": 3, "percent": "20", "amounts": {}, "products": [],
        "expires_at": None, "max_redemptions": None, "redeemed": 0, "active": True,
        "created_at": "2026-11-15T10:00:00Z", "retired_at": None,
    }  # fmt: skip
    assert (five["percent"], five["amounts"], five["products"]) == (None, {"USD": 500, "PLN": 2000}, ["pro"])
    assert (five["expires_at"], five["max_redemptions"]) == ("2027-01-31T00:00:00Z", 10)
    listed = api.client.get(CODES, headers=api.operator).json()
    assert [c["code"] for c in listed] == ["FIVE-OFF", "SAVE20"]  # newest first
    shown = api.client.get(f"{CODES}/save20", headers=api.operator).json()
    assert (shown["code"], shown["redemptions"]) == ("SAVE20", [])

    # the same request again (a retry) answers the code as created; the code with other terms is refused
    again = create(api, SAVE20)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == save20.json()
    other = assert_problem(create(api, {**SAVE20, "percent": "25"}), 409, "discount.code_taken")
    assert (other["field"], other["rule"]) == ("code", "DC2")

    retired = api.client.post(f"{CODES}/SAVE20/retire", headers=api.operator)
    assert retired.status_code == 200, retired.text
    assert (retired.json()["active"], retired.json()["retired_at"]) == (False, "2026-11-15T10:00:00Z")
    assert api.client.post(f"{CODES}/SAVE20/retire", headers=api.operator).json() == retired.json()
    # a retired code is never offered again, not even by the request that created it
    assert_problem(create(api, SAVE20), 409, "discount.code_taken")


def test_an_order_with_a_code_has_the_discount_line_and_the_redemption(api: Api) -> None:
    # rules DC1, DC2: the quote and the invoice show the discount after the charge it discounts; the code is redeemed
    made(api, SAVE20)
    acme = api.open_account("acme")
    full, off = 2 * price("pro"), 640  # 2 x 15.99 x 20 % = 6.396, rounded once, half up
    assert full == 3198

    quoted = acme.post("/quote", {"changes": [PRO_2], "discount_code": " Save20 "})
    placed = acme.order(PRO_2, key="buy", discount_code="save20")

    assert quoted.status_code == 200, quoted.text
    quote = quoted.json()
    assert [(line["kind"], line["amount"], line["discount_code"]) for line in quote["lines"]] == [
        ("charge", full, None),
        ("discount", -off, "SAVE20"),
    ]
    assert quote["discount"]["code"] == "SAVE20"
    assert placed.status_code == 201, placed.text
    assert placed.json()["amount_due"] == quote["amount_due"]
    assert lines_of(acme, placed.json()["invoice_id"]) == [("charge", full, None), ("discount", -off, "SAVE20")]
    held = acme.get("/discount").json()
    assert (held["code"], held["status"], held["percent"], held["order_id"]) == (
        "SAVE20", "active", "20", placed.json()["order_id"]
    )  # fmt: skip
    assert (held["starts_at"], held["periods"]) == ("2026-11-15T00:00:00Z", 3)
    shown = api.client.get(f"{CODES}/SAVE20", headers=api.operator).json()
    assert shown["redeemed"] == 1
    assert [(r["account_code"], r["status"], r["starts_at"], r["ends_at"]) for r in shown["redemptions"]] == [
        ("acme", "applied", held["starts_at"], held["ends_at"])
    ]


def test_a_code_entered_later_applies_from_the_next_billing_date(api: Api) -> None:
    # rule DC1: nothing of the current period changes; the renewal it covers is discounted
    made(api, {"code": "HALF", "duration": "once", "percent": "50"})
    acme = api.open_account("acme")
    assert acme.order(PRO_2, key="buy").status_code == 201
    assert_problem(acme.get("/discount"), 404, "discount.not_found")
    period_end = acme.get("/subscriptions").json()[0]["period_end"]

    entered = acme.post("/discount", {"code": "half"})

    assert entered.status_code == 201, entered.text
    assert (entered.json()["status"], entered.json()["starts_at"]) == ("scheduled", period_end)
    assert entered.json()["order_id"] is None
    api.at(datetime(2026, 12, 15, tzinfo=UTC))
    assert api.client.post(RUNS, json={}, headers=api.operator).status_code == 200
    renewal, _first = acme.get("/invoices").json()  # newest first
    assert lines_of(acme, renewal["id"]) == [("charge", 2 * price("pro"), None), ("discount", -price("pro"), "HALF")]
    assert acme.get("/discount").json()["status"] == "active"

    api.at(datetime(2027, 1, 15, tzinfo=UTC))
    assert api.client.post(RUNS, json={}, headers=api.operator).status_code == 200
    latest = acme.get("/invoices").json()[0]
    assert lines_of(acme, latest["id"]) == [("charge", 2 * price("pro"), None)]  # once: one period only
    assert acme.get("/discount").json()["status"] == "ended"  # a new code may be entered


def test_an_operator_takes_a_discount_away_and_the_next_renewal_is_at_full_price(api: Api) -> None:
    # rule DC2
    made(api, {"code": "FOREVER10", "duration": "forever", "percent": "10"})
    acme = api.open_account("acme")
    assert acme.order(PRO_2, key="buy", discount_code="FOREVER10").status_code == 201

    taken = api.client.delete(f"{acme.url}/discount", headers=api.operator)

    assert taken.status_code == 204, taken.text
    assert_problem(acme.get("/discount"), 404, "discount.not_found")
    assert_problem(api.client.delete(f"{acme.url}/discount", headers=api.operator), 404, "discount.not_found")
    api.at(datetime(2026, 12, 15, tzinfo=UTC))
    assert api.client.post(RUNS, json={}, headers=api.operator).status_code == 200
    renewal, _first = acme.get("/invoices").json()  # newest first
    assert lines_of(acme, renewal["id"]) == [("charge", 2 * price("pro"), None)]
    shown = api.client.get(f"{CODES}/FOREVER10", headers=api.operator).json()
    assert [r["status"] for r in shown["redemptions"]] == ["removed"]


def test_bad_terms_and_unusable_codes_are_problems_naming_the_field_and_nothing_changes(api: Api) -> None:
    # rules DC1, DC2, X4
    made(api, SAVE20)
    acme = api.open_account("acme")
    assert acme.order(PRO_2, key="buy").status_code == 201
    before = api.snapshot()

    bad_percent = assert_problem(create(api, {**SAVE20, "code": "OTHER", "percent": "12.555"}), 422,
                                 "discount.percent")  # fmt: skip
    currency = assert_problem(create(api, {"code": "OTHER", "duration": "once", "amounts": {"XYZ": 500}}), 422,
                              "currency.unknown")  # fmt: skip
    both = assert_problem(create(api, {**SAVE20, "code": "OTHER", "amounts": {"USD": 5}}), 422, "discount.terms")
    periods = assert_problem(create(api, {**SAVE20, "code": "OTHER", "periods": 0}), 422, "discount.periods")
    product = assert_problem(create(api, {**SAVE20, "code": "OTHER", "products": ["nope"]}), 422,
                             "discount.products")  # fmt: skip
    expired = assert_problem(create(api, {**SAVE20, "code": "OTHER", "expires_at": "2026-11-01"}), 422,
                             "discount.expires_at")  # fmt: skip
    shape = assert_problem(create(api, {**SAVE20, "code": "no spaces"}), 422, "discount.invalid_code")
    duration = create(api, {**SAVE20, "code": "OTHER", "duration": "weekly"})
    limit = create(api, {**SAVE20, "code": "OTHER", "max_redemptions": 0})
    zero = create(api, {"code": "OTHER", "duration": "once", "amounts": {"USD": 0}})
    no_code = acme.post("/discount", {"code": 20})
    unknown_in_order = assert_problem(acme.order({"type": "set_licenses", "total": 3}, key="more",
                                                 discount_code="NOPE"), 422, "discount.unknown")  # fmt: skip
    unknown_later = assert_problem(acme.post("/discount", {"code": "NOPE"}), 422, "discount.unknown")
    unknown_path = assert_problem(api.client.get(f"{CODES}/NOPE", headers=api.operator), 404,
                                  "discount_code.not_found")  # fmt: skip

    assert (bad_percent["field"], bad_percent["rule"]) == ("percent", "DC2")
    assert '"12.5"' in bad_percent["detail"]
    assert (currency["field"], currency["rule"]) == ("amounts", "X1")
    assert "XYZ" in currency["detail"]
    assert (both["field"], periods["field"], product["field"]) == ("percent", "periods", "products")
    assert (expired["field"], shape["field"]) == ("expires_at", "code")
    assert (unknown_in_order["field"], unknown_in_order["rule"]) == ("discount_code", "DC1")
    assert (unknown_later["field"], unknown_later["detail"]) == ("code", "code: there is no such discount code")
    assert unknown_path["field"] == "code"
    for answer, field in ((duration, "duration"), (limit, "max_redemptions"), (zero, "amounts"), (no_code, "code")):
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"].endswith(field), answer.json()
    assert api.snapshot() == before


def test_a_code_is_redeemed_once_per_account_one_at_a_time(api: Api) -> None:
    # rule DC2: both refusals are the account's state (409), naming the field the caller sent
    made(api, SAVE20)
    made(api, {"code": "OTHER", "duration": "forever", "percent": "5"})
    acme = api.open_account("acme")
    assert acme.order(PRO_2, key="buy", discount_code="SAVE20").status_code == 201

    again = assert_problem(acme.post("/discount", {"code": "SAVE20"}), 409, "discount.already_redeemed")
    second = assert_problem(acme.order({"type": "set_licenses", "total": 3}, key="more", discount_code="OTHER"), 409,
                            "discount.one_at_a_time")  # fmt: skip

    assert (again["field"], second["field"]) == ("code", "discount_code")


def test_an_account_key_cannot_create_list_retire_or_take_away_codes(api: Api) -> None:
    # rule DC2: codes are the operator's; an account reads and enters its own discount only
    made(api, SAVE20)
    acme = api.open_account("acme")
    key = {**acme.headers, "Idempotency-Key": "mine"}
    for method, url in (("POST", CODES), ("GET", CODES), ("GET", f"{CODES}/SAVE20"),
                        ("POST", f"{CODES}/SAVE20/retire"), ("DELETE", f"{acme.url}/discount")):  # fmt: skip
        body = {**SAVE20, "code": "MINE"} if (method, url) == ("POST", CODES) else None
        refused = assert_problem(api.client.request(method, url, headers=key, json=body), 403, "auth.operator_only")
        assert refused["field"] == "Authorization"
    assert [c["code"] for c in api.client.get(CODES, headers=api.operator).json()] == ["SAVE20"]


def test_the_stateless_quote_prices_a_discounted_account(api: Api) -> None:
    # rules DC1, DC2: an integrator gives the discount the account holds; the answer gives it back for the next quote
    document = {
        "account": {"currency": "USD", "discount": {"code": "SAVE20", "percent": "12.5", "products": ["business"],
                                                    "start": "2026-11-01T00:00:00Z"}},
        "subscriptions": [{"id": "plan", "product": "pro", "interval": "month", "quantity": 3,
                           "period_start": "2026-11-01T00:00:00Z", "period_end": "2026-12-01T00:00:00Z"}],
        "at": "2026-11-01T00:00:00Z",
        "changes": [{"type": "change_plan", "product": "business", "licenses": 10}],
    }  # fmt: skip

    quoted = api.client.post("/api/v1/quote", json=document, headers=api.operator)

    assert quoted.status_code == 200, quoted.text
    kinds = [(line["kind"], line["product"], line["discount_code"]) for line in quoted.json()["lines"]]
    assert ("discount", "business", "SAVE20") in kinds
    assert all(product == "business" for kind, product, _ in kinds if kind == "discount")  # pro is not covered
    discount = next(line for line in quoted.json()["lines"] if line["kind"] == "discount")
    assert discount["amount"] == -2749  # 10 x 21.99 x 12.5 % = 27.4875, rounded once, half up (2199 = Business)
    assert price("business") == 2199
    assert quoted.json()["discount"] == document["account"]["discount"]  # type: ignore[index]


def test_the_same_code_created_twice_at_once_is_created_once_and_both_are_answered(api: Api) -> None:
    # rules DC2, X3: a request and its retry racing (real concurrent connections on PostgreSQL): one inserts, the
    # other finds the unique code taken after it looked and answers the code as created, never a server error
    if api.app.engine.dialect.name != "postgresql":
        pytest.skip("concurrent connections: PostgreSQL")
    command = CreateDiscountCode(code="RACE10", duration="forever", actor="test", percent=1000)

    def create_or_replay() -> str:
        try:
            discounts.create_discount_code(command, uow=api.app.uow, clock=api.app.clock, catalog=api.app.catalog)
            return "created"
        except ProrataError as error:
            again = discounts.created_before(command, uow=api.app.uow, catalog=api.app.catalog)
            return "replayed" if error.code == "discount.code_taken" and again is not None else error.code

    outcomes = together([create_or_replay] * 4)

    assert all(isinstance(outcome, str) for outcome in outcomes), outcomes  # no database error escaped
    assert sorted(outcomes) == ["created"] + ["replayed"] * 3
    assert [c["code"] for c in api.client.get(CODES, headers=api.operator).json()] == ["RACE10"]
