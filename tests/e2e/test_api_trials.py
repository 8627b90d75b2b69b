"""Free trials through the API (rule TR1), on SQLite and PostgreSQL: the catalog says which plans offer one, an order
starts it (nothing charged, no invoice), GET /trial reads it, the billing run reminds and converts it, and a second
trial or a bad flag is a problem that names the field and the rule and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.api_client import Api
from tests.e2e.test_api_access import assert_problem
from tests.helpers import price

PRO_TRIAL = {"type": "change_plan", "product": "pro", "licenses": 3, "trial": True}
RUNS = "/api/v1/operator/billing-runs"


def test_the_catalog_says_which_plans_offer_a_trial(api: Api) -> None:
    # rule TR1
    products = {p["code"]: p for p in api.client.get("/api/v1/catalog", headers=api.operator).json()["products"]}
    assert (products["pro"]["trial_days"], products["pro"]["trial_requires_card"]) == (14, False)
    assert (products["business"]["trial_days"], products["business"]["trial_requires_card"]) == (14, True)
    assert products["business_plus"]["trial_days"] == 0


def test_an_order_starts_the_trial_charging_nothing_and_the_billing_run_converts_it(api: Api) -> None:
    # rule TR1: no invoice now; reminded 3 days before; the first invoice at the trial's end, charged to the card
    acme = api.open_account("acme")
    assert_problem(acme.get("/trial"), 404, "trial.not_found")

    quoted = acme.post("/quote", {"changes": [PRO_TRIAL]})
    placed = acme.order(PRO_TRIAL, key="trial")

    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["amount_due"] == 0
    assert placed.status_code == 201, placed.text
    assert (placed.json()["amount_due"], placed.json()["invoice_id"]) == (0, None)
    trial = acme.get("/trial").json()
    assert trial == {"product": "pro", "started_at": "2026-11-15T00:00:00Z", "ends_at": "2026-11-29T00:00:00Z",
                     "active": True, "reminded": False}  # fmt: skip

    api.at(datetime(2026, 11, 26, tzinfo=UTC))
    reminded = api.client.post(RUNS, json={}, headers=api.operator).json()
    api.at(datetime(2026, 11, 29, tzinfo=UTC))
    converted = api.client.post(RUNS, json={}, headers=api.operator).json()

    assert reminded["accounts_trial_reminded"] == [acme.id]
    assert acme.get("/trial").json()["reminded"] is True
    assert converted["payments_succeeded"] == 1
    (invoice,) = acme.get("/invoices").json()
    assert (invoice["status"], invoice["total"]) == ("paid", 3 * price("pro"))
    assert acme.get("/trial").json()["active"] is False


def test_a_second_trial_is_a_problem_naming_the_rule_and_nothing_changes(api: Api) -> None:
    # rules TR1, X4
    acme = api.open_account("acme")
    assert acme.order(PRO_TRIAL, key="trial").status_code == 201
    assert acme.order({"type": "cancel"}, key="cancel").status_code == 201
    api.at(datetime(2026, 11, 29, tzinfo=UTC))
    assert api.client.post(RUNS, json={}, headers=api.operator).status_code == 200
    before = api.snapshot()

    refused = assert_problem(acme.order(PRO_TRIAL, key="again"), 422, "trial.already_used")

    assert (refused["rule"], refused["field"]) == ("TR1", "changes[0].trial")
    assert api.snapshot() == before
    bought = acme.order({"type": "change_plan", "product": "pro", "licenses": 3}, key="bought")
    assert bought.status_code == 201, bought.text
    assert bought.json()["amount_due"] == 3 * price("pro")


def test_a_bad_trial_flag_or_a_trial_without_the_required_card_is_a_problem(api: Api) -> None:
    # rules TR1, X4
    cardless = api.open_account("cardless", card=None)
    before = api.snapshot()

    flag = assert_problem(cardless.order({**PRO_TRIAL, "trial": "yes"}, key="flag"), 422, "document.invalid_field")
    card = assert_problem(cardless.order({"type": "change_plan", "product": "business", "licenses": 10,
                                          "trial": True}, key="card"), 422, "trial.card_required")  # fmt: skip

    assert flag["field"] == "changes[0].trial"
    assert (card["rule"], card["field"]) == ("TR1", "payment_method")
    assert api.snapshot() == before
