"""The operator's billing run through the API (rules C7, X2, X4): the date forms of ``prorata bill --until``, the same
rule about the future, and the accounts it did not renew listed with their reason."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from prorata.adapters.db.schema import subscriptions
from tests.e2e.api_client import NOW, Api
from tests.e2e.test_api_access import assert_problem

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
