"""The portal through its ASGI application, on SQLite and on PostgreSQL: a migrated database with the demo accounts
at a fixed simulated instant, and a client that signs in and fills forms as a browser does (CSRF token included);
and for the REST API, ``api``: a migrated database without the demo and the API as an integrator sees it
(``api_client.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from prorata.adapters.db.clock import move_clock, start_simulation
from prorata.adapters.db.database import migrate
from prorata.adapters.db.queries import account_id_by_code
from prorata.adapters.db.schema import users
from prorata.adapters.db.web_sessions import set_password
from prorata.bootstrap import App, build
from prorata.entrypoints.cli.demo import DEMO_PASSWORD, load_demo
from prorata.entrypoints.web import create_app
from prorata.services.billing_information import AddCard, add_card
from prorata.services.renew_due import RenewDue, renew_due
from tests.conftest import PREPARED
from tests.e2e.api_client import NOW, Api

START = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PAY_KEY = re.compile(r'name="key" value="([^"]+)"')


def with_demo(url: str) -> None:
    """A migrated database holding the demo accounts at the simulated instant ``START``."""
    context = build(url)
    migrate(context.engine)
    start_simulation(context.engine, START)
    context.clock.refresh()
    load_demo(context)
    context.close()


def for_the_api(url: str) -> None:
    """A migrated database without the demo, its simulation clock at the API tests' ``NOW``."""
    context = build(url)
    migrate(context.engine)
    start_simulation(context.engine, NOW)
    context.close()


PREPARED["app"] = with_demo
PREPARED["api_app"] = for_the_api


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    """The demo installation (a copy of one made once per test session)."""
    context = build(database_url)
    context.clock.refresh()
    yield context
    context.close()


class Visitor:
    """A browser without JavaScript: follows redirects, keeps cookies, sends the page's CSRF token with its forms."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.client = TestClient(create_app(app))
        self.csrf = ""

    def get(self, url: str) -> httpx.Response:
        response = self.client.get(url)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, url: str, data: dict[str, str | list[str]] | None = None, *, csrf: bool = True) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form["csrf"] = self.csrf
        response = self.client.post(url, data=form)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def pay(self, data: dict[str, str | list[str]]) -> httpx.Response:
        """Submit Invoice History's pay form as shown now: with the key the page carries (rule X3)."""
        page = self.get("/billing/invoices")
        key = PAY_KEY.search(page.text)
        assert key is not None, "Invoice History shows no pay form"
        return self.post("/billing/invoices/pay", {**data, "key": key.group(1)})

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> httpx.Response:
        self.get("/signin")
        return self.post("/signin", {"email": email, "password": password})

    def language(self, code: str) -> None:
        self.get(f"/language/{code}?next=/billing")


@pytest.fixture
def visitor(app: App) -> Visitor:
    return Visitor(app)


def account_id(app: App, code: str) -> int:
    with app.engine.connect() as conn:
        found = account_id_by_code(conn, code)
    assert found is not None
    return found


def member_with_password(app: App, email: str) -> None:
    with app.engine.connect() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.email == email)).scalar_one()
    set_password(app.engine, int(user_id), DEMO_PASSWORD)


def make_overdue(app: App, code: str) -> None:
    """Rule I8: the account's card declines, its renewal fails on every retry and the account becomes overdue."""
    add_card(AddCard(account_id(app, code), "4000000000000002", 12, 2030), uow=app.uow, clock=app.clock,
             gateway=app.gateway)  # fmt: skip
    renewal = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
    for day in (0, 1, 3, 5, 7):
        at = renewal + timedelta(days=day)
        move_clock(app.engine, at)
        app.clock.refresh()
        renew_due(RenewDue(at), uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog,
                  dunning=app.dunning)  # fmt: skip


# ------------------------------------------------------------------------------------------------ the REST API
@pytest.fixture
def api_app(database_url: str) -> Iterator[App]:
    """A migrated database without the demo: the API tests open their accounts through the API."""
    context = build(database_url)
    context.clock.refresh()
    yield context
    context.close()


@pytest.fixture
def api(api_app: App) -> Iterator[Api]:
    with TestClient(create_app(api_app)) as client:
        yield Api(api_app, client)
