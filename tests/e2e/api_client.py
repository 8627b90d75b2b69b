"""The REST API as an integrator sees it, for the API tests: an ``Api`` with an operator key that opens accounts
through the API, and an ``Account`` with its own key. The fixtures (``api``) are in ``conftest.py``: a migrated
database, on SQLite and on PostgreSQL, with a simulation clock at ``NOW`` that a test moves forward like an operator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Column, Table, select

from prorata.adapters.db.api_keys import create_api_key
from prorata.adapters.db.clock import move_clock
from prorata.adapters.db.schema import api_keys, metadata
from prorata.bootstrap import App

NOW = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
TERMS = {"terms_accepted": True, "terms_version": "2026-01"}


class Api:
    """The API as an integrator sees it, plus the few things only the database can tell a test."""

    def __init__(self, app: App, client: TestClient) -> None:
        self.app = app
        self.client = client
        self.operator = self.key(None)

    def key(self, account_id: int | None) -> dict[str, str]:
        with self.app.engine.begin() as conn:
            _, secret = create_api_key(conn, account_id=account_id, name="test", now=NOW)
        return {"Authorization": f"Bearer {secret}"}

    def open_account(self, code: str, *, card: str | None = GOOD_CARD, currency: str = "USD") -> Account:
        body = {"code": code, "name": code.title(), "currency": currency, "time_zone": "UTC", "country": "US"}
        created = self.client.post("/api/v1/accounts", json=body, headers=self.operator)
        assert created.status_code == 201, created.text
        account = Account(self, created.json()["id"])
        if card is not None:
            account.add_card(card)
        return account

    def at(self, instant: datetime) -> None:
        """Move the simulation clock, as ``prorata clock advance`` does from another process: the server reads the
        new instant at its next request."""
        move_clock(self.app.engine, instant)

    def bill_day_by_day(self, start: datetime, days: int) -> None:
        for day in range(days + 1):
            self.at(start + timedelta(days=day))
            until = (start + timedelta(days=day)).isoformat()
            run = self.client.post("/api/v1/operator/billing-runs", json={"until": until}, headers=self.operator)
            assert run.status_code == 200, run.text

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table: what "nothing changed" is checked against (rule X4). When a key was last used
        is left out: using a key changes nothing, and that instant is written at most once a minute."""
        with self.app.engine.connect() as conn:
            return {
                table.name: sorted(tuple(map(repr, row)) for row in conn.execute(select(*_compared(table))))
                for table in metadata.sorted_tables
            }


def _compared(table: Table) -> list[Column[Any]]:
    return [column for column in table.columns if column is not api_keys.c.last_used_at]


class Account:
    def __init__(self, api: Api, account_id: int) -> None:
        self.api = api
        self.id = account_id
        self.headers = api.key(account_id)
        self.url = f"/api/v1/accounts/{account_id}"

    def get(self, path: str = "", **kwargs: Any) -> Any:
        return self.api.client.get(self.url + path, headers=self.headers, **kwargs)

    def post(self, path: str, body: Any, key: str | None = None) -> Any:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        return self.api.client.post(self.url + path, json=body, headers=headers)

    def add_card(self, number: str) -> int:
        added = self.post(
            "/payment-methods", {"kind": "card", "card_number": number, "exp_month": 12, "exp_year": 2030}
        )
        assert added.status_code == 201, added.text
        return int(added.json()["id"])

    def order(self, *changes: dict[str, Any], key: str, **extra: Any) -> Any:
        return self.post("/orders", {"changes": list(changes), **TERMS, **extra}, key=key)

    def add_user(self, email: str, role: str = "member") -> int:
        made = self.post("/users", {"email": email, "name": email.split("@")[0], "role": role})
        assert made.status_code == 201, made.text
        return int(made.json()["id"])
