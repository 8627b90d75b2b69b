"""Placing an order takes a fixed number of SQL statements, whatever the account holds: what the transaction wrote
is told by its events without being read again (``adapters/db/event_store.py``), and nothing is read once per
subscription, line or license.

Counted with SQLAlchemy's ``before_cursor_execute`` on the engine, on SQLite and PostgreSQL, with the comparison the
test suite otherwise makes at every commit (``PRORATA_CHECK_EVENTS``) turned off, as in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event

from prorata.adapters.db import event_store
from prorata.domain.cart import AddAddon, ChangePlan, SetLicenses
from tests.integration.shop import Shop


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            statements.append(" ".join(statement.split())[:160])

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_store.CHECK_VARIABLE)


@pytest.mark.usefixtures("production")
def test_an_order_paid_from_the_balance_takes_the_same_few_statements_however_much_the_account_holds(
    engine: Engine,
) -> None:
    # rule K8: one transaction writes the order, its subscriptions, its invoice (numbered, paid), the credit used, the
    # confirmation e-mail, the audit line and the events
    small, large = Shop(engine, code="small"), Shop(engine, code="large")
    for shop in (small, large):
        shop.prepay()
    small.order(ChangePlan("pro", 1), key="first")
    large.order(ChangePlan("business", 12), AddAddon("large_meetings_500", 3), key="first")
    for user in range(12):
        large.add_user(f"user{user}@large.test")

    counts = {}
    for name, shop, cart in (
        ("small", small, (SetLicenses(2), AddAddon("cloud_recording_1tb", 1))),
        ("large", large, (SetLicenses(14), AddAddon("cloud_recording_1tb", 1))),
    ):
        with counted(engine) as statements:
            assert shop.order(*cart, key="second").status == "placed"
        counts[name] = len(statements)
        assert len(statements) <= 23, "\n".join(statements)

    assert counts["small"] == counts["large"], counts
