"""Opening accounts and adding users through the API keeps its answers now that both go through the use cases the
CLI demo shares (rules U1, X4): the same statuses, codes and fields, and the key that did it in the audit trail."""

from __future__ import annotations

import json

from sqlalchemy import select

from prorata.adapters.db.schema import audit_log
from tests.e2e.api_client import Api
from tests.e2e.test_api_access import assert_problem

BODY = {"code": "acme", "name": "Acme", "currency": "USD", "time_zone": "UTC", "country": "US"}


def test_a_code_taken_is_a_conflict_at_the_code_and_changes_nothing(api: Api) -> None:
    api.open_account("acme")
    before = api.snapshot()

    taken = assert_problem(api.client.post("/api/v1/accounts", json=BODY, headers=api.operator), 409,
                           "account.code_taken")  # fmt: skip

    assert taken["field"] == "code"
    assert api.snapshot() == before


def test_the_audit_trail_names_the_key_that_opened_the_account_and_added_the_user(api: Api) -> None:
    acme = api.open_account("acme", card=None)
    user = acme.add_user("ada@acme.test", role="admin")

    with api.app.engine.connect() as conn:
        trail = conn.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.detail).where(audit_log.c.account_id == acme.id)
            .order_by(audit_log.c.id)
        ).all()  # fmt: skip
    assert [action for _, action, _ in trail] == ["account.opened", "user.added"]
    assert all(actor.startswith("api-key:") for actor, _, _ in trail)
    assert trail[1][0] != trail[0][0]  # the account's own key added the user, the operator's opened the account
    assert json.loads(trail[1][2]) == {"user": user, "email": "ada@acme.test", "role": "admin"}
