"""The portal and the API show how many licenses may still be assigned: never one that a change scheduled for the
term end takes away again (rules U1, L4, P5, L6, X5). On SQLite and PostgreSQL."""

from __future__ import annotations

import re

from prorata.adapters.db.queries import subscription_views, user_views
from tests.e2e.api_client import Api
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.test_api_access import assert_problem
from tests.e2e.test_portal import checkout, text_of

BUSINESS = "owner@demo-business.test"


def free_user(visitor: Visitor) -> int:
    with visitor.app.engine.connect() as conn:
        return next(u.id for u in user_views(conn, account_id(visitor.app, "demo-business")) if not u.subscriptions)


def assign(visitor: Visitor, product: str, user: int) -> int:
    page = visitor.get("/users")
    found = re.search(rf'name="subscription" value="(\d+)"><input type="hidden" name="user" value="{user}">'
                      rf'\s*<button type="submit" name="action" value="assign" class="assign" data-product="{product}"',
                      page.text)  # fmt: skip
    assert found is not None, f"no Assign button for user {user} on {product}"
    response = visitor.post("/users/assignments", {"subscription": found.group(1), "user": str(user),
                                                   "action": "assign"})  # fmt: skip
    return response.status_code


def test_the_users_page_counts_only_the_licenses_that_outlive_a_scheduled_downgrade(visitor: Visitor) -> None:
    # rules U1, L4, P5: Business x 12 with 7 assigned; Pro x 8 at the term end leaves one license to assign, not 5
    visitor.sign_in(BUSINESS)
    users = visitor.get("/users")
    assert text_of(users, "assignable-business") == "5 free to assign"
    visitor.post("/billing/upgrade/pro", {"licenses": "8", "interval": "month"})
    checkout(visitor)

    assert text_of(visitor.get("/billing"), "plan-assignable") == "1"
    assert text_of(visitor.get("/users"), "assignable-business") == (
        "1 free to assign (8 licenses remain after the change scheduled for Dec 15, 2026)"
    )
    visitor.language("pl")
    assert text_of(visitor.get("/users"), "assignable-business") == (
        "do przypisania: 1 (po zmianie zaplanowanej na 15 gru 2026 pozostanie 8 licencji)"
    )

    assert assign(visitor, "business", free_user(visitor)) == 200  # redirected back to the page
    assert text_of(visitor.get("/users"), "assignable-business").startswith("do przypisania: 0 ")
    # nothing is free to assign, so the page offers no Assign; a page from before is refused
    with visitor.app.engine.connect() as conn:
        plan = next(
            s.id for s in subscription_views(conn, account_id(visitor.app, "demo-business")) if s.product == "business"
        )
    refused = visitor.post("/users/assignments", {"subscription": str(plan), "user": str(free_user(visitor)),
                                                  "action": "assign"})  # fmt: skip
    assert refused.status_code == 400
    assert text_of(visitor.get("/users"), "licenses-business").startswith("Dla firm: 12 licencji · przypisane: 8")


def test_a_refused_assignment_reads_in_the_viewer_s_language(visitor: Visitor) -> None:
    # rules L4, X5: the Users page says why in Polish, naming what remains, never the service's English text
    visitor.sign_in(BUSINESS)
    visitor.post("/billing/upgrade/pro", {"licenses": "7", "interval": "month"})
    checkout(visitor)
    visitor.language("pl")
    page = visitor.get("/users")
    subscription = re.search(r'name="subscription" value="(\d+)"', page.text)
    assert subscription is not None

    refused = visitor.post("/users/assignments", {"subscription": subscription.group(1),
                                                  "user": str(free_user(visitor)), "action": "assign"})  # fmt: skip

    assert refused.status_code == 400
    assert text_of(refused, "assignment-error") == (
        "Po zmianie zaplanowanej na koniec okresu rozliczeniowego pozostanie 7 licencji i wszystkie są przypisane: "
        "wycofaj tę zmianę, aby przypisać więcej."
    )


def test_the_api_lists_what_may_be_assigned_and_refuses_a_license_the_downgrade_would_take(api: Api) -> None:
    # rules U1, L4, P5: Business x 12, 6 assigned, Pro x 6 scheduled: nothing left to assign until the term end
    acme = api.open_account("acme")
    assert acme.order({"type": "change_plan", "product": "business", "licenses": 12}, key="buy").status_code == 201
    plan = acme.get("/subscriptions").json()[0]["id"]
    users = [acme.add_user(f"u{n}@acme.test") for n in range(7)]
    for user in users[:6]:
        assert api.client.put(f"{acme.url}/subscriptions/{plan}/users/{user}", headers=acme.headers).status_code == 204
    assert acme.get("/subscriptions").json()[0]["assignable"] == 6

    assert acme.order({"type": "change_plan", "product": "pro", "licenses": 6}, key="down").status_code == 201

    listed = acme.get("/subscriptions").json()[0]
    assert (listed["quantity"], listed["assigned"], listed["assignable"]) == (12, 6, 0)
    assert listed["pending"][0]["quantity"] == 6
    refused = assert_problem(
        api.client.put(f"{acme.url}/subscriptions/{plan}/users/{users[6]}", headers=acme.headers), 422,
        "assignment.pending_reduction",
    )  # fmt: skip
    assert (refused["rule"], refused["field"]) == ("L4", "subscription")
