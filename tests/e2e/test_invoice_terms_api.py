"""Invoice terms and bank transfer through the API (rule NT1), on SQLite and PostgreSQL: an operator puts an
eligible account on terms, its order is invoiced open with a due date, a transfer is recorded against the invoice
number and a CAMT.053 statement imported; bad input and a customer's key change nothing."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from tests.e2e.api_client import Account, Api

SAMPLE = Path(__file__).parents[1] / "fixtures" / "camt" / "statement-2026-11-16.xml"


def eligible(api: Api, code: str = "bigco") -> Account:
    """Business x 12 monthly: 263.88 USD a month, over the default threshold of 250 USD."""
    account = api.open_account(code)
    placed = account.order({"type": "change_plan", "product": "business", "licenses": 12}, key="start")
    assert placed.status_code == 201, placed.text
    return account


def put_terms(api: Api, account: Account, days: int | None, headers: dict[str, str] | None = None) -> Any:
    return api.client.put(f"{account.url}/payment-terms", json={"days": days}, headers=headers or api.operator)


def record(api: Api, body: dict[str, Any], key: str = "t1") -> Any:
    return api.client.post("/api/v1/bank-payments", json=body, headers={**api.operator, "Idempotency-Key": key})


def test_an_order_on_terms_is_invoiced_open_and_a_bank_transfer_pays_it_once(api: Api) -> None:
    # rule NT1: terms by the operator; the transfer against the invoice number, the same reference booked once
    account = eligible(api)
    put = put_terms(api, account, 30)
    assert put.status_code == 200, put.text
    assert put.json()["terms_days"] == 30

    placed = account.order({"type": "set_licenses", "total": 15}, key="more")
    assert placed.status_code == 201, placed.text
    invoice = account.get(f"/invoices/{placed.json()['invoice_id']}").json()
    assert (invoice["status"], invoice["amount_due"]) == ("open", 6597)
    body = {"invoice_number": invoice["number"], "amount": 6597, "currency": "USD", "received_on": "2026-11-15",
            "bank_reference": "BANK-API-1"}  # fmt: skip

    first, again = record(api, body, "a"), record(api, body, "b")

    assert first.status_code == 201, first.text
    assert (first.json()["applied"], first.headers["Idempotent-Replayed"]) == (6597, "false")
    assert (again.json()["id"], again.headers["Idempotent-Replayed"]) == (first.json()["id"], "true")
    assert account.get(f"/invoices/{invoice['id']}").json()["status"] == "paid"
    other = record(api, {**body, "amount": 100}, "c")
    assert other.status_code == 409
    assert other.json()["code"] == "bank_payment.reference_used"
    assert [p["bank_reference"] for p in put_terms_view(api, account)["bank_payments"]] == ["BANK-API-1"]


def put_terms_view(api: Api, account: Account) -> Any:
    got = api.client.get(f"{account.url}/payment-terms", headers=api.operator)
    assert got.status_code == 200, got.text
    return got.json()


def test_a_bank_statement_imported_through_the_api_reports_each_entry(api: Api) -> None:
    # rule NT1: matched, then already recorded; the others unmatched, with why
    account = eligible(api)
    put_terms(api, account, 30)
    account.order({"type": "set_licenses", "total": 15}, key="more")
    body = {"content_base64": base64.b64encode(SAMPLE.read_bytes()).decode()}
    headers = {**api.operator, "Idempotency-Key": "statement-1"}

    first = api.client.post("/api/v1/bank-statements", json=body, headers=headers)
    again = api.client.post("/api/v1/bank-statements", json=body, headers={**headers, "Idempotency-Key": "s2"})

    assert first.status_code == 200, first.text
    assert (first.json()["matched"], first.json()["already"], first.json()["unmatched"]) == (1, 0, 2)
    assert (again.json()["matched"], again.json()["already"]) == (0, 1)


def test_bad_terms_or_payments_are_refused_naming_the_field_and_change_nothing(api: Api) -> None:
    # rules NT1, X4: a clear problem, never a 500, nothing changed
    account = eligible(api)
    small = api.open_account("small")
    small.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="start")
    before = api.snapshot()

    too_long = put_terms(api, account, 365)
    too_small = put_terms(api, small, 30)
    by_customer = put_terms(api, account, 30, headers=account.headers)
    evil = api.client.post(
        "/api/v1/bank-statements",
        headers={**api.operator, "Idempotency-Key": "x"},
        json={"content_base64": base64.b64encode(b'<!DOCTYPE a [<!ENTITY b "c">]><a/>').decode()},
    )
    unknown = record(api, {"invoice_number": "INV-2026-999999", "amount": 1, "currency": "USD",
                           "received_on": "2026-11-15", "bank_reference": "R"})  # fmt: skip
    no_key = api.client.post("/api/v1/bank-payments", headers=api.operator, json={})

    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"].endswith("days")
    assert (too_small.status_code, too_small.json()["code"]) == (422, "terms.below_threshold")
    assert by_customer.status_code == 403
    assert (evil.status_code, evil.json()["code"]) == (422, "bank_statement.invalid")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "bank_payment.invoice_unknown")
    assert no_key.status_code == 422
    assert api.snapshot() == before
