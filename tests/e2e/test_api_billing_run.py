"""The operator's billing run through the API (rules C7, X2, X4): the date forms of ``prorata bill --until``, the same
rule about the future, and the accounts it did not renew listed with their reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from prorata.adapters.db.schema import subscriptions
from tests.e2e.api_client import NOW, Api
from tests.e2e.test_api_access import assert_problem
from tests.races import Holder

RUNS = "/api/v1/operator/billing-runs"


def test_a_billing_run_takes_a_date_an_instant_with_its_offset_or_nothing(api: Api) -> None:
    # the forms `prorata bill --until` takes, read by the same function; nothing: the installation's time
    for body in ({"until": NOW.date().isoformat()}, {"until": "2026-11-15T11:00:00+01:00"}, {}):
        run = api.client.post(RUNS, json=body, headers=api.operator)
        assert run.status_code == 200, run.text
        assert run.json()["complete"] is True


def test_a_billing_run_after_the_installations_time_is_refused_unless_billing_in_advance(api: Api) -> None:
    # rule C7: periods renew when they end; renewing earlier is asked for by name, and changes nothing otherwise
    acme = api.open_account("acme")
    assert acme.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="buy").status_code == 201
    until = (NOW + timedelta(days=31)).isoformat()
    before = api.snapshot()

    refused = assert_problem(api.client.post(RUNS, json={"until": until}, headers=api.operator), 422,
                             "billing_run.in_advance")  # fmt: skip

    assert (refused["field"], refused["rule"]) == ("until", "C7")
    assert '"bill_in_advance": true' in refused["detail"]
    assert api.snapshot() == before
    run = api.client.post(RUNS, json={"until": until, "bill_in_advance": True}, headers=api.operator)
    assert run.status_code == 200, run.text
    assert (run.json()["accounts"], len(run.json()["invoices"])) == (1, 1)


def test_a_billing_run_lists_the_accounts_it_did_not_renew_with_their_reason(api: Api) -> None:
    # rule X4: the refused account is left as it was and named with the refusal's code and message
    good, retired = api.open_account("good"), api.open_account("retired")
    for account in (good, retired):
        assert account.order({"type": "change_plan", "product": "pro", "licenses": 1}, key="buy").status_code == 201
    with api.app.engine.begin() as conn:
        conn.execute(update(subscriptions).where(subscriptions.c.account_id == retired.id).values(product="legacy"))
    api.at(NOW + timedelta(days=31))

    run = api.client.post(RUNS, json={}, headers=api.operator)

    assert run.status_code == 200, run.text
    answer = run.json()
    assert answer["complete"] is False
    assert answer["accounts"] == 1
    assert [(r["account_id"], r["code"]) for r in answer["accounts_refused"]] == [(retired.id, "product.unknown")]
    assert "'legacy' is not a product" in answer["accounts_refused"][0]["message"]


def test_a_billing_run_lists_the_accounts_another_transaction_held_past_its_wait(api: Api) -> None:
    # rule C7: the run waits (a bounded time) for an account held by something else than a billing run, and lists
    # it with the reason when it is still held; the answer is then not complete
    if api.app.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: a transaction holding an account holds the whole database")
    held, other = api.open_account("held"), api.open_account("other")
    for account in (held, other):
        assert account.order({"type": "change_plan", "product": "pro", "licenses": 1}, key="buy").status_code == 201
    api.at(NOW + timedelta(days=31))

    with Holder(api.app.engine, held.id):
        run = api.client.post(RUNS, json={"wait": 0.5}, headers=api.operator)

    assert run.status_code == 200, run.text
    answer = run.json()
    assert (answer["complete"], answer["accounts"], answer["accounts_busy"]) == (False, 1, [held.id])
    assert [(r["account_id"], r["code"], r["rule"]) for r in answer["accounts_not_renewed"]] == [
        (held.id, "billing_run.account_locked", "C7")
    ]
    assert (answer["accounts_left_to_another_run"], answer["invoices_not_attempted"]) == ([], [])
    again = api.client.post(RUNS, json={"wait": 0.5}, headers=api.operator).json()
    assert (again["complete"], again["accounts"], again["accounts_not_renewed"]) == (True, 1, [])


def test_a_billing_runs_wait_is_a_number_of_seconds_up_to_ten_minutes(api: Api) -> None:
    # rule X4: refused by name, and nothing is billed
    for wait in (-1, 601, "5", None):
        refused = api.client.post(RUNS, json={"wait": wait}, headers=api.operator)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "wait"
