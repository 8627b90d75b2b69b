"""Sign-in, the choice of account and the password pages in a real browser, in both languages, at 1280 and 390 px."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from prorata.adapters.db.schema import outbox
from prorata.entrypoints.cli.demo import DEMO_PASSWORD
from prorata.services.add_user import AddUser, add_user
from tests.browser.conftest import Walk
from tests.browser.test_order_pages_in_chromium import shots
from tests.e2e.conftest import account_id

OWNER = "owner@demo-business.test"


@pytest.mark.parametrize("language", ["en", "pl"])
def test_a_person_of_two_accounts_chooses_one_and_a_forgotten_password_is_set_by_link(
    walk: Walk, language: str
) -> None:
    app = walk.server.app
    add_user(AddUser(account_id(app, "demo-pro"), OWNER, "Owner", "admin", invite=False), uow=app.uow,
             clock=app.clock)  # fmt: skip
    walk.go(f"/language/{language}?next=/signin")
    walk.page.fill("input[name=email]", OWNER)
    walk.page.fill("input[name=password]", "not the password")
    walk.follow("button[type=submit]")
    expect(walk.page.locator("p.error")).to_be_visible()
    shots(walk, "wrong-password")

    walk.page.fill("input[name=password]", DEMO_PASSWORD)
    walk.follow("button[type=submit]")
    walk.page.wait_for_url("**/signin/account")
    expect(walk.page.locator(".accounts li")).to_have_count(2)
    shots(walk, "choose-account")
    walk.follow(".accounts li:last-child button")
    walk.page.wait_for_url("**/billing")
    expect(walk.page.locator("header.top")).to_contain_text("Switch account" if language == "en" else "Zmień konto")
    shots(walk, "chosen-account")

    walk.go("/account/password")
    walk.page.fill("input[name=current]", DEMO_PASSWORD)
    walk.page.fill("input[name=password]", "password123")
    walk.page.fill("input[name=repeat]", "password123")
    walk.follow("button.primary")
    expect(walk.page.locator("p.error")).to_be_visible()
    shots(walk, "change-password-refused")

    walk.follow("form[action='/signout'] button")
    walk.go("/password/forgot")
    walk.page.fill("input[name=email]", OWNER)
    walk.follow("button[type=submit]")
    expect(walk.page.locator("p.ok")).to_be_visible()
    shots(walk, "forgot-sent")
    with app.engine.connect() as conn:
        data = conn.execute(select(outbox.c.data).where(outbox.c.kind == "password_reset")).scalar_one()
    walk.go(f"/password/set/{json.loads(data)['token']}")
    walk.page.fill("input[name=password]", "copper kettle under the stairs")
    walk.page.fill("input[name=repeat]", "copper kettle under the stairs")
    shots(walk, "set-password")
    walk.follow("button[type=submit]")
    walk.page.wait_for_url("**/signin?done=password")
    expect(walk.page.locator("p.ok")).to_be_visible()
    shots(walk, "password-set")
