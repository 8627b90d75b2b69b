"""The reads people and integrators wait for take a fixed, small number of SQL statements, whatever the account
holds: the Current Plans page and the API's account quote (no statement per subscription, license or add-on).

Counted with SQLAlchemy's ``before_cursor_execute`` on the application's engine, for one request after a first one
(which may renew nothing and leaves nothing to set up). Transaction control (``BEGIN``) is not a statement that reads.
The demo runs on a simulation clock, which each request reads once (a production installation does not).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from prorata.adapters.db.api_keys import create_api_key
from prorata.bootstrap import App
from prorata.entrypoints.web import create_app
from tests.e2e.conftest import Visitor, account_id


@contextmanager
def counted(app: App) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(" ".join(statement.split()))

    event.listen(app.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(app.engine, "before_cursor_execute", seen)


def statements_of(app: App, request: Callable[[], Any]) -> list[str]:
    request()  # the first request of a session may still renew or warm up
    with counted(app) as statements:
        answer = request()
    assert answer.status_code == 200, answer.text
    return statements


def test_current_plans_takes_four_statements_whatever_the_account_holds(app: App) -> None:
    # Pro with three licenses; Business with twelve and an add-on held by two users; Basic, free, four members
    counts = {}
    for owner in ("owner@demo-pro.test", "owner@demo-business.test", "owner@demo-basic.test"):
        visitor = Visitor(app)
        visitor.sign_in(owner)
        statements = statements_of(app, lambda v=visitor: v.get("/billing"))  # type: ignore[misc]
        assert len(statements) <= 4, "\n".join(statements)
        counts[owner] = len(statements)
    # the session, the simulated instant, the account as the engine sees it, its row with its tax buyer
    assert set(counts.values()) == {4}, counts


def test_the_api_account_quote_takes_four_statements_whatever_the_account_holds(app: App) -> None:
    client = TestClient(create_app(app))
    counts = {}
    for code, cart in (("demo-pro", {"changes": [{"type": "set_licenses", "total": 5}]}),
                       ("demo-business", {"changes": [{"type": "set_licenses", "total": 14}]})):  # fmt: skip
        account = account_id(app, code)
        with app.engine.begin() as conn:
            _, secret = create_api_key(conn, account_id=account, name="count", now=app.clock.now())
        headers = {"Authorization": f"Bearer {secret}"}
        url = f"/api/v1/accounts/{account}/quote"
        statements = statements_of(app, lambda u=url, c=cart, h=headers: client.post(u, json=c, headers=h))  # type: ignore[misc]
        # the key, the simulated instant, the account as the engine sees it, its tax decision
        counts[code] = len(statements)
        assert len(statements) <= 4, "\n".join(statements)
    assert set(counts.values()) == {4}, counts
