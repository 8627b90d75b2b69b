"""What the vendor's product reads through the API: each user's entitlements, as the account holds them now (rules U1,
U2, A7, I6, I8), on SQLite and PostgreSQL; an account's key reads its own account only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from prorata.adapters.db.entitlements import load_entitlements
from prorata.adapters.db.schema import accounts
from tests.e2e.api_client import NOW, Account, Api
from tests.e2e.test_api_access import assert_problem

PRO_2 = {"type": "change_plan", "product": "pro", "licenses": 2}
MEETINGS = {"type": "add_addon", "product": "large_meetings_500", "quantity": 1}


def subscription_of(account: Account, product: str) -> int:
    listed = account.get("/subscriptions")
    assert listed.status_code == 200, listed.text
    return next(int(s["id"]) for s in listed.json() if s["product"] == product)


def assign(account: Account, product: str, user: int) -> None:
    url = f"{account.url}/subscriptions/{subscription_of(account, product)}/users/{user}"
    assigned = account.api.client.put(url, headers=account.headers)
    assert assigned.status_code == 204, assigned.text


def entitlements(account: Account, path: str = "/entitlements") -> dict[str, Any]:
    answer = account.get(path)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_after_a_license_and_a_seat_are_assigned_the_user_is_licensed_with_the_seat_until_the_term_end(
    api: Api,
) -> None:
    # rules U1, U2, A7
    acme = api.open_account("acme")
    assert acme.order(PRO_2, MEETINGS, key="buy").status_code == 201, "the order was refused"
    ada, bob = acme.add_user("ada@acme.test"), acme.add_user("bob@acme.test")
    before = entitlements(acme)

    assign(acme, "pro", ada)
    assign(acme, "large_meetings_500", ada)

    assert {u["id"]: u["type"] for u in before["users"]}[ada] == "basic"
    after = entitlements(acme)
    term_end = after["plan"]["valid_until"]
    assert (after["status"], after["plan"]["code"], after["plan"]["quantity"], after["plan"]["assigned"]) == (
        "active", "pro", 2, 1,
    )  # fmt: skip
    assert [(a["code"], a["capacity"], a["unit"], a["assigned"]) for a in after["addons"]] == [
        ("large_meetings_500", 500, "per_user", 1)
    ]
    users = {u["id"]: u for u in after["users"]}
    assert (users[ada]["type"], users[ada]["valid_until"]) == ("licensed", term_end)
    assert [(s["code"], s["capacity"]) for s in users[ada]["addons"]] == [("large_meetings_500", 500)]
    assert (users[bob]["type"], users[bob]["valid_until"], users[bob]["addons"]) == ("basic", None, [])
    one = entitlements(acme, f"/users/{ada}/entitlements")
    assert one["user"] == users[ada]
    assert (one["plan"], one["addons"]) == (after["plan"], after["addons"])


def test_the_api_answers_what_the_adapter_reads_and_reading_twice_gives_the_same_json(api: Api) -> None:
    # the JSON is a function of what is stored: an event compares it before and after a change
    acme = api.open_account("acme")
    assert acme.order(PRO_2, key="buy").status_code == 201
    assign(acme, "pro", acme.add_user("ada@acme.test"))

    with api.app.engine.connect() as conn:
        first = load_entitlements(conn, acme.id, api.app.catalog, api.app.dunning, api.app.catalog.granularity)
    api.at(NOW + timedelta(days=3))  # later, nothing changed
    with api.app.engine.connect() as conn:
        second = load_entitlements(conn, acme.id, api.app.catalog, api.app.dunning)
        missing = load_entitlements(conn, acme.id + 1000, api.app.catalog, api.app.dunning)

    assert first is not None
    assert second is not None
    assert first.to_json() == second.to_json()
    assert missing is None
    assert entitlements(acme) == first.as_dict()


def test_an_overdue_account_s_entitlements_end_with_its_30_days_when_they_come_first(api: Api) -> None:
    # rules I6, I8: the billing run marks an account overdue after the last failed attempt, from that instant
    acme = api.open_account("acme")
    assert acme.order({**PRO_2, "interval": "year"}, key="buy").status_code == 201
    with api.app.engine.begin() as conn:
        conn.execute(update(accounts).where(accounts.c.id == acme.id).values(status="overdue", overdue_since=NOW))

    found = entitlements(acme)

    assert (found["status"], found["overdue_since"], found["cancels_at"]) == (
        "overdue", "2026-11-15T10:00:00Z", "2026-12-15T10:00:00Z",
    )  # fmt: skip
    assert found["plan"]["valid_until"] == "2026-12-15T10:00:00Z"


def test_an_account_key_cannot_read_another_account_s_entitlements_or_users(api: Api) -> None:
    acme, other = api.open_account("acme"), api.open_account("other")
    stranger = other.add_user("eve@other.test")

    assert_problem(api.client.get(f"{other.url}/entitlements", headers=acme.headers), 404, "account.not_found")
    refused = assert_problem(acme.get(f"/users/{stranger}/entitlements"), 404, "user.not_found")
    assert refused["field"] == "user_id"
    assert api.client.get(f"{other.url}/entitlements", headers=api.operator).status_code == 200  # an operator may


def test_an_unknown_user_is_a_404_naming_user_id(api: Api) -> None:
    acme = api.open_account("acme", card=None)

    refused = assert_problem(acme.get("/users/999999/entitlements"), 404, "user.not_found")

    assert refused["field"] == "user_id"


def test_the_entitlement_routes_are_in_the_openapi_document_with_summaries(api: Api) -> None:
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]

    for path in (
        "/accounts/{account_id}/entitlements",
        "/accounts/{account_id}/users/{user_id}/entitlements",
    ):
        assert paths[path]["get"]["summary"], path
