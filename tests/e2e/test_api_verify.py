"""The operator's verification of the books through the API (``prorata verify``'s checks), on SQLite and PostgreSQL:
an operator key runs it and reads the last result; an account's key reaches neither."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from prorata.domain.invariants import BY_CODE
from tests.e2e.api_client import NOW, Api
from tests.e2e.test_api_access import assert_problem

RUNS = "/api/v1/operator/verifications"


def busy_books(api: Api) -> None:
    """Two accounts with orders and a renewal each, through the API; each has an owner, whom the billing e-mails
    reach (an account with no owner and no contacts gets none, and the verification says so, rule I4)."""
    for code in ("acme", "globex"):
        account = api.open_account(code)
        account.add_user(f"owner@{code}.test", "owner")
        assert account.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="buy").status_code == 201
    api.bill_day_by_day(NOW, 31)


def test_an_operator_proves_the_books_balance_and_reads_the_last_result(api: Api) -> None:
    busy_books(api)
    assert_problem(api.client.get(f"{RUNS}/latest", headers=api.operator), 404, "verification.not_found")

    run = api.client.post(RUNS, json={}, headers=api.operator)

    assert run.status_code == 200, run.text
    answer = run.json()
    assert (answer["ok"], answer["violation_count"], [v["message"] for v in answer["violations"]]) == (True, 0, [])
    assert {check["code"] for check in answer["checks"]} == set(BY_CODE)
    latest = api.client.get(f"{RUNS}/latest", headers=api.operator)
    assert latest.status_code == 200
    assert latest.json() == answer


def test_the_api_names_a_broken_invariant_with_the_rows_involved(api: Api) -> None:
    busy_books(api)
    with api.app.engine.begin() as conn:
        invoice_id = conn.execute(text("SELECT min(id) FROM invoices WHERE number IS NOT NULL")).scalar_one()
        conn.execute(text("DELETE FROM outbox WHERE invoice_id = :id"), {"id": invoice_id})

    answer = api.client.post(RUNS, json={"since": NOW.date().isoformat()}, headers=api.operator).json()

    assert answer["ok"] is False
    assert answer["counts"] == {"inv.invoice_email": 1}
    [violation] = answer["violations"]
    assert violation["rules"] == ["I4"]
    assert {"table": "invoices", "id": invoice_id} in [{k: r[k] for k in ("table", "id")} for r in violation["rows"]]
    assert api.client.get(f"{RUNS}/latest", headers=api.operator).json()["violation_count"] == 1
    # checked only from a later date, the invoice is out of scope
    later = (NOW + timedelta(days=20)).date().isoformat()
    assert api.client.post(RUNS, json={"since": later}, headers=api.operator).json()["ok"] is True


def test_verification_is_the_operators_alone_and_refuses_what_it_cannot_read(api: Api) -> None:
    acme = api.open_account("acme")
    assert_problem(api.client.post(RUNS, json={}, headers=acme.headers), 403, "auth.operator_only")
    assert_problem(api.client.get(f"{RUNS}/latest", headers=acme.headers), 403, "auth.operator_only")
    assert_problem(api.client.post(RUNS, json={"account": "nobody"}, headers=api.operator), 422, "account.unknown")
    assert_problem(api.client.post(RUNS, json={"since": "yesterday"}, headers=api.operator), 422,
                   "time.not_a_datetime")  # fmt: skip
    one = api.client.post(RUNS, json={"account": "acme"}, headers=api.operator).json()
    assert one["scope"] == {"account": "acme", "since": None}
    assert "inv.numbering" not in {check["code"] for check in one["checks"]}  # it spans every account
