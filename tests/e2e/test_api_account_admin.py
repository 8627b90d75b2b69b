"""What an operator changes on an account by hand through the REST API, on SQLite and PostgreSQL: credit added with
a reason, once per Idempotency-Key, and the managed-by-sales flag (rule I7), both operator-only and audited."""

from __future__ import annotations

import json

from sqlalchemy import select

from prorata.adapters.db.schema import audit_log
from tests.e2e.api_client import Api


def test_an_operator_adds_credit_once_per_key_and_the_balance_shows_it(api: Api) -> None:
    acme = api.open_account("acme")
    path = f"/api/v1/accounts/{acme.id}/credit-grants"
    body = {"amount": 1250, "reason": "Goodwill after the outage"}
    headers = {**api.operator, "Idempotency-Key": "grant-acme-1"}

    first = api.client.post(path, json=body, headers=headers)
    again = api.client.post(path, json=body, headers=headers)

    assert first.status_code == again.status_code == 201, first.text
    assert (first.headers["Idempotent-Replayed"], again.headers["Idempotent-Replayed"]) == ("false", "true")
    assert first.json() == again.json()
    assert (first.json()["amount"], first.json()["currency"], first.json()["credit_balance"]) == (1250, "USD", 1250)
    assert acme.get().json()["credit_balance"] == 1250
    other = api.client.post(path, json={**body, "amount": 99}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "credit_grant.key_reused"


def test_an_accounts_own_key_may_not_add_credit_or_change_who_manages_it(api: Api) -> None:
    acme = api.open_account("acme")
    grant = api.client.post(f"/api/v1/accounts/{acme.id}/credit-grants", json={"amount": 100, "reason": "x"},
                            headers={**acme.headers, "Idempotency-Key": "k"})  # fmt: skip
    sales = api.client.put(f"/api/v1/accounts/{acme.id}/managed-by-sales", json={"managed_by_sales": True},
                           headers=acme.headers)  # fmt: skip
    assert (grant.status_code, sales.status_code) == (403, 403)
    assert acme.get().json()["credit_balance"] == 0
    assert acme.get().json()["managed_by_sales"] is False


def test_bad_grants_name_their_field_and_book_nothing(api: Api) -> None:
    acme = api.open_account("acme")
    path = f"/api/v1/accounts/{acme.id}/credit-grants"
    for body, field in (({"amount": 0, "reason": "x"}, "amount"), ({"amount": 1.5, "reason": "x"}, "amount"),
                        ({"amount": 100, "reason": ""}, "reason"), ({"amount": 100}, "reason")):  # fmt: skip
        answer = api.client.post(path, json=body, headers={**api.operator, "Idempotency-Key": "k"})
        assert answer.status_code == 422, answer.text
        assert field in answer.text
    missing_key = api.client.post(path, json={"amount": 100, "reason": "x"}, headers=api.operator)
    assert missing_key.status_code == 422
    assert acme.get().json()["credit_balance"] == 0


def test_an_operator_marks_an_account_managed_by_sales_and_back_and_each_change_is_audited(api: Api) -> None:
    acme = api.open_account("acme")
    path = f"/api/v1/accounts/{acme.id}/managed-by-sales"
    marked = api.client.put(
        path, json={"managed_by_sales": True, "reason": "Enterprise contract"}, headers=api.operator
    )
    again = api.client.put(path, json={"managed_by_sales": True}, headers=api.operator)
    back = api.client.put(path, json={"managed_by_sales": False}, headers=api.operator)
    assert [r.json()["managed_by_sales"] for r in (marked, again, back)] == [True, True, False]
    with api.app.engine.connect() as conn:
        actions = conn.execute(
            select(audit_log.c.action, audit_log.c.detail)
            .where(audit_log.c.account_id == acme.id,
                   audit_log.c.action.in_(["account.managed_by_sales", "account.self_service"]))
            .order_by(audit_log.c.id)
        ).all()  # fmt: skip
    # setting it again changed nothing, and was not audited again
    assert [(a, json.loads(d)["reason"]) for a, d in actions] == [
        ("account.managed_by_sales", "Enterprise contract"), ("account.self_service", "")]  # fmt: skip


def test_a_bad_managed_by_sales_body_names_its_field_and_changes_nothing(api: Api) -> None:
    acme = api.open_account("acme")
    path = f"/api/v1/accounts/{acme.id}/managed-by-sales"
    for body, field in (({"managed_by_sales": "yes"}, "managed_by_sales"), ({}, "managed_by_sales"),
                        ({"managed_by_sales": True, "reason": "x" * 501}, "reason")):  # fmt: skip
        answer = api.client.put(path, json=body, headers=api.operator)
        assert answer.status_code == 422, answer.text
        assert field in answer.text
    assert acme.get().json()["managed_by_sales"] is False
