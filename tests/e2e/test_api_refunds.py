"""Credit notes and their refunds through the REST API, on SQLite and PostgreSQL (rules I2, R1, R2, X4)."""

from __future__ import annotations

from datetime import timedelta

from prorata.adapters.db.queries import invoice_views
from tests.e2e.api_client import NOW, Api

PRO_2 = {"type": "change_plan", "product": "pro", "licenses": 2}
NO_REFUND_CARD = "4000000000005126"  # the sandbox pays with it but cannot refund it


def test_an_operator_voids_a_paid_invoice_to_the_card_and_reads_the_refund_everywhere(api: Api) -> None:
    # rules I2, R2: the answer names the credit note and its refund; the refund is listed, read and on the note
    acme = api.open_account("acme")
    placed = acme.order(PRO_2, key="buy").json()
    paid = acme.get(f"/invoices/{placed['invoice_id']}").json()["amount_paid"]

    made = api.client.post(
        f"/api/v1/invoices/{placed['invoice_number']}/credit-notes",
        json={"void": True, "reason": "Ordered twice", "refund": "original_method", "requested_by": "customer"},
        headers=api.operator,
    )

    assert made.status_code == 201, made.text
    body = made.json()
    refund = body["refund"]
    assert (body["corrects"], body["invoice_status"], body["to_balance"]) == (placed["invoice_number"], "void", 0)
    assert (refund["status"], refund["amount"], refund["requested_by"]) == ("succeeded", paid, "customer")
    assert refund["method"] == "Visa •••• 4242"
    assert acme.get("/refunds").json() == [refund]
    assert api.client.get(f"/api/v1/refunds/{refund['id']}", headers=acme.headers).json() == refund
    with api.app.engine.connect() as conn:
        note_id = next(v.id for v in invoice_views(conn, acme.id) if v.number == body["number"])
    note = acme.get(f"/invoices/{note_id}").json()
    assert (note["refund"], note["to_balance"]) == (refund, 0)
    # another account's key does not find it
    other = api.open_account("other")
    assert api.client.get(f"/api/v1/refunds/{refund['id']}", headers=other.headers).status_code == 404


def test_only_an_operator_issues_credit_notes_and_bad_requests_are_refused_with_the_field(api: Api) -> None:
    # rule X4: the field and the rule named, nothing changed, never a server error
    acme = api.open_account("acme")
    number = acme.order(PRO_2, key="buy").json()["invoice_number"]
    url = f"/api/v1/invoices/{number}/credit-notes"
    before = api.snapshot()

    by_account = api.client.post(url, json={"void": True}, headers=acme.headers)
    both = api.client.post(url, json={"void": True, "lines": [1]}, headers=api.operator)
    where = api.client.post(url, json={"void": True, "refund": "cash"}, headers=api.operator)
    unknown = api.client.post("/api/v1/invoices/INV-2026-999999/credit-notes", json={"void": True},
                              headers=api.operator)  # fmt: skip

    assert by_account.status_code == 403
    assert (both.status_code, both.json()["code"], both.json()["field"]) == (422, "credit_note.lines", "lines")
    assert (where.status_code, where.json()["field"]) == (422, "refund")
    assert (unknown.status_code, unknown.json()["field"]) == (404, "number")
    assert api.snapshot() == before


def test_after_30_days_the_api_refuses_a_refund_naming_rule_r1_unless_the_operator_overrides(api: Api) -> None:
    # rule R1
    acme = api.open_account("acme")
    number = acme.order(PRO_2, key="buy").json()["invoice_number"]
    api.at(NOW + timedelta(days=40))
    url = f"/api/v1/invoices/{number}/credit-notes"

    refused = api.client.post(url, json={"void": True, "refund": "original_method"}, headers=api.operator)
    overridden = api.client.post(url, json={"void": True, "refund": "original_method",
                                            "override_reason": "Service outage"}, headers=api.operator)  # fmt: skip

    assert refused.status_code == 422
    assert (refused.json()["code"], refused.json()["rule"], refused.json()["field"]) == (
        "refund.window_closed", "R1", "refund",
    )  # fmt: skip
    assert overridden.status_code == 201, overridden.text
    assert overridden.json()["refund"]["override_reason"] == "Service outage"


def test_a_failed_refund_is_retried_and_then_sent_to_the_balance_through_the_api(api: Api) -> None:
    # rule R2: the refund fails at the gateway; the credit note stays issued
    acme = api.open_account("acme", card=NO_REFUND_CARD)
    number = acme.order(PRO_2, key="buy").json()["invoice_number"]
    made = api.client.post(f"/api/v1/invoices/{number}/credit-notes",
                           json={"void": True, "refund": "original_method"}, headers=api.operator).json()  # fmt: skip
    refund_id = made["refund"]["id"]
    assert (made["refund"]["status"], made["refund"]["failure_code"]) == ("failed", "refund_failed")
    url = f"/api/v1/refunds/{refund_id}/retry"

    again = api.client.post(url, json={}, headers=api.operator)
    by_account = api.client.post(url, json={}, headers=acme.headers)
    moved = api.client.post(url, json={"to": "credit_balance"}, headers=api.operator)
    done = api.client.post(url, json={}, headers=api.operator)

    assert (again.json()["status"], again.json()["attempt"]) == ("failed", 2)
    assert by_account.status_code == 403
    assert moved.json()["status"] == "credited"
    assert (done.status_code, done.json()["code"]) == (409, "refund.not_failed")
    assert api.client.post("/api/v1/refunds/999999/retry", json={}, headers=api.operator).status_code == 404
