"""Quotes, orders and payments through the API (rules C6, I6, K7, K8, P6, X3), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from prorata.adapters.db.schema import payments
from prorata.entrypoints.quote_document import price_document
from tests.e2e.api_client import DECLINED_CARD, GOOD_CARD, Account, Api
from tests.e2e.test_api_access import assert_problem
from tests.helpers import price

PRO_2 = {"type": "change_plan", "product": "pro", "licenses": 2}
DEC_15 = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)


def succeeded_payments(api: Api) -> int:
    with api.app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(payments.c.status == "succeeded")).scalar_one())


def held(account: Account) -> list[tuple[str, int, list[Any]]]:
    return [(s["product"], s["quantity"], s["pending"]) for s in account.get("/subscriptions").json()]


def test_the_stateless_quote_is_the_quote_command_on_the_same_document(api: Api) -> None:
    # one engine and one format: POST /quote answers what `prorata quote` prints for the same document
    document = {
        "account": {"currency": "PLN", "time_zone": "Europe/Warsaw", "credit_balance": 1000},
        "subscriptions": [{"id": "plan", "product": "pro", "interval": "month", "quantity": 3,
                           "period_start": "2026-11-01T00:00:00+01:00", "period_end": "2026-12-01T00:00:00+01:00"}],
        "at": "2026-11-15T10:00:00Z",
        "changes": [{"type": "change_plan", "product": "business", "licenses": 10}],
    }  # fmt: skip
    answer = api.client.post("/api/v1/quote", json=document, headers=api.operator)
    assert answer.status_code == 200, answer.text
    assert answer.json() == price_document(document, catalog=api.app.catalog)


def test_the_stateless_quote_names_the_field_of_a_bad_document(api: Api) -> None:
    headers = {**api.operator, "Content-Type": "application/json"}
    broken = api.client.post("/api/v1/quote", content=b'{"account": ', headers=headers)
    assert assert_problem(broken, 422, "document.malformed_json")["field"] == "document"
    floats = {"account": {"currency": "USD", "credit_balance": 10.5}, "at": "2026-11-15T10:00:00Z", "changes": [PRO_2]}
    refused = assert_problem(api.client.post("/api/v1/quote", json=floats, headers=api.operator), 422,
                             "money.not_integer_minor_units")  # fmt: skip
    assert (refused["field"], refused["rule"]) == ("account.credit_balance", "X1")


def test_an_account_quote_shows_exactly_what_the_order_then_invoices(api: Api) -> None:
    # rule C6: preview equals charge
    acme = api.open_account("acme")
    assert acme.order(PRO_2, key="buy").status_code == 201
    cart = [{"type": "set_licenses", "total": 5}, {"type": "add_addon", "product": "large_meetings_500"}]

    quoted = acme.post("/quote", {"changes": cart})
    placed = acme.order(*cart, key="more")

    assert quoted.status_code == 200, quoted.text
    assert placed.status_code == 201, placed.text
    invoice = acme.get(f"/invoices/{placed.json()['invoice_id']}").json()
    assert [line["amount"] for line in invoice["lines"]] == [line["amount"] for line in quoted.json()["lines"]]
    # rules C6, I3: what was quoted as due is what paid the invoice, which owes nothing now
    assert placed.json()["amount_due"] == quoted.json()["amount_due"] == invoice["amount_paid"]
    assert (invoice["status"], invoice["amount_due"]) == ("paid", 0)
    assert quoted.json()["to_assign"]  # rule L5: the new licenses and seats wait to be assigned


def test_the_same_idempotency_key_answers_the_same_and_charges_once(api: Api) -> None:
    # rule X3
    acme = api.open_account("acme")
    first = acme.order(PRO_2, key="order-1")
    again = acme.order(PRO_2, key="order-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert {**first.json(), "replayed": True} == again.json()
    assert (first.headers["Idempotent-Replayed"], again.headers["Idempotent-Replayed"]) == ("false", "true")
    assert first.json()["amount_due"] == 2 * price("pro")
    assert succeeded_payments(api) == 1
    assert len(acme.get("/invoices").json()) == 1
    other_cart = acme.order({"type": "change_plan", "product": "pro", "licenses": 3}, key="order-1")
    assert assert_problem(other_cart, 409, "order.idempotency_conflict")["rule"] == "X3"


def test_an_order_needs_an_idempotency_key(api: Api) -> None:
    acme = api.open_account("acme")
    before = api.snapshot()
    refused = assert_problem(acme.post("/orders", {"changes": [PRO_2], "terms_accepted": True,
                                                   "terms_version": "2026-01"}), 422, "request.invalid")  # fmt: skip
    assert refused["field"] == "header.Idempotency-Key"
    assert api.snapshot() == before


def test_a_declined_card_answers_402_says_what_to_do_and_changes_nothing(api: Api) -> None:
    # rules K7, K8: card 4000 0000 0000 0002 is declined by the sandbox gateway
    acme = api.open_account("acme")
    assert acme.order(PRO_2, key="buy").status_code == 201
    acme.add_card(DECLINED_CARD)
    before_plans, before_account = held(acme), acme.get().json()
    invoices_before = acme.get("/invoices").json()

    failed = acme.order({"type": "set_licenses", "total": 5}, key="more")

    refused = assert_problem(failed, 402, "payment.card_declined")
    assert refused["rule"] == "K7"
    assert "Update your billing information, then your payment method" in refused["detail"]
    assert (held(acme), acme.get().json(), acme.get("/invoices").json()) == (before_plans, before_account,
                                                                               invoices_before)  # fmt: skip
    assert acme.order({"type": "set_licenses", "total": 5}, key="more").status_code == 402  # the same answer again


def test_a_member_may_not_buy_but_the_owner_may(api: Api) -> None:
    # rule P6
    acme = api.open_account("acme")
    member = acme.add_user("member@acme.test")
    owner = acme.add_user("boss@acme.test", role="owner")
    before = api.snapshot()

    refused = assert_problem(acme.order(PRO_2, key="by-member", user=member), 403, "account.forbidden_role")

    assert (refused["rule"], refused["field"]) == ("P6", "role")
    assert api.snapshot() == before
    assert acme.order(PRO_2, key="by-owner", user=owner).status_code == 201


def test_an_overdue_account_is_refused_then_buys_again_once_it_has_paid(api: Api) -> None:
    # rule I6: the Dec 15 renewal fails on every attempt (1, 3, 5, 7 days later), the account is overdue
    acme = api.open_account("acme")
    assert acme.order(PRO_2, key="buy").status_code == 201
    acme.add_card(DECLINED_CARD)
    api.bill_day_by_day(datetime(2026, 12, 15, tzinfo=UTC), 7)
    assert acme.get().json()["status"] == "overdue"

    refused = assert_problem(acme.order({"type": "set_licenses", "total": 3}, key="blocked"), 409,
                             "account.overdue_locked")  # fmt: skip
    assert refused["rule"] == "I6"
    declined = assert_problem(acme.post("/payments", {}, key="pay-1"), 402, "payment.card_declined")
    assert declined["paid"] == []

    acme.add_card(GOOD_CARD)
    paid = acme.post("/payments", {}, key="pay-2")

    assert paid.status_code == 200, paid.text
    assert paid.json()["account_status"] == "active"
    assert acme.post("/payments", {}, key="pay-2").json() == paid.json()  # rule X3: asked again, the same answer
    assert assert_problem(acme.post("/payments", {}, key="pay-1"), 402, "payment.card_declined")["failed"]
    assert [i["status"] for i in acme.get("/invoices").json()] == ["paid", "paid"]
    assert acme.order({"type": "set_licenses", "total": 3}, key="after").status_code == 201


def test_licenses_are_assigned_through_the_api_and_a_reduction_below_them_is_refused(api: Api) -> None:
    # rules U1, L4
    acme = api.open_account("acme")
    assert acme.order(PRO_2, key="buy").status_code == 201
    plan = acme.get("/subscriptions").json()[0]["id"]
    users = [acme.add_user(f"u{n}@acme.test") for n in range(2)]
    for user in users:
        assigned = api.client.put(f"{acme.url}/subscriptions/{plan}/users/{user}", headers=acme.headers)
        assert assigned.status_code == 204, assigned.text
    assert {u["type"] for u in acme.get("/users").json()} == {"licensed"}

    refused = assert_problem(acme.order({"type": "set_licenses", "total": 1}, key="fewer"), 422,
                             "licenses.below_assigned")  # fmt: skip
    assert refused["field"] == "changes[0].total"
    taken = api.client.delete(f"{acme.url}/subscriptions/{plan}/users/{users[1]}", headers=acme.headers)
    assert taken.status_code == 204
    reduced = acme.order({"type": "set_licenses", "total": 1}, key="fewer-again")
    assert reduced.status_code == 201, reduced.text
    assert held(acme)[0][2][0]["quantity"] == 1  # rule L3: pending until the term end, and listed (L6)
