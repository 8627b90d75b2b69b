"""Passwords: reset and invitation links (single-use, expiring, sent through the outbox, kept only as hashes), a
change that ends the person's other sessions, the policy, and the audit trail; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from prorata.adapters.db.schema import audit_log, outbox, person_tokens
from prorata.adapters.passwords import DUMMY, HASHER, Argon2Hasher
from prorata.bootstrap import App
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.cli.demo import DEMO_PASSWORD
from prorata.entrypoints.cli.mail import deliver
from prorata.entrypoints.portal.routes import auth
from prorata.services.passwords import check_policy
from prorata.services.ports import OutgoingMail
from tests.e2e.api_client import Api
from tests.e2e.conftest import account_id
from tests.security.conftest import Visitor

OWNER = "owner@demo-business.test"
NEW_PASSWORD = "copper kettle under the stairs"


def last_token(app: App, kind: str) -> str:
    with app.engine.connect() as conn:
        data = conn.execute(select(outbox.c.data).where(outbox.c.kind == kind).order_by(outbox.c.id.desc())).scalar()
    assert data is not None, f"no {kind} message in the outbox"
    token = json.loads(data)["token"]
    assert isinstance(token, str)
    return token


def set_with_link(visitor: Visitor, token: str, password: str, repeat: str | None = None) -> object:
    page = visitor.get(f"/password/set/{token}")
    if page.status_code != 200:
        return page
    return visitor.post(f"/password/set/{token}", {"password": password, "repeat": repeat or password})


class Recorder:
    def __init__(self, sent: list[OutgoingMail]) -> None:
        self.sent = sent

    def send(self, mail: OutgoingMail) -> None:
        self.sent.append(mail)


def test_a_forgotten_password_is_reset_once_through_the_e_mailed_link(visitor: Visitor) -> None:
    app = visitor.app
    other = TestClient(visitor.client.app)  # the owner signed in on another device
    visitor.sign_in(OWNER)
    other_cookies = dict(visitor.client.cookies)
    other.cookies.update(other_cookies)
    visitor.client.cookies.clear()

    page = visitor.get("/password/forgot")
    assert page.status_code == 200
    answered = visitor.post("/password/forgot", {"email": "Owner@Demo-Business.test"})
    unknown = visitor.post("/password/forgot", {"email": "nobody@example.test"})
    # the same answer whether or not the address is somebody's
    assert answered.status_code == unknown.status_code == 200
    assert "we have sent a link" in answered.text
    assert "we have sent a link" in unknown.text
    token = last_token(app, "password_reset")
    with app.engine.connect() as conn:
        stored = conn.execute(select(person_tokens.c.token_hash)).scalars().all()
    assert token not in stored  # only its hash is kept

    refused = set_with_link(visitor, token, "password123", "password123")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "too common" in refused.text  # type: ignore[attr-defined]
    mismatch = set_with_link(visitor, token, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert "The two passwords differ." in mismatch.text  # type: ignore[attr-defined]
    done = set_with_link(visitor, token, NEW_PASSWORD)
    assert done.status_code == 200  # type: ignore[attr-defined]
    assert "Your password is set" in done.text  # type: ignore[attr-defined]
    again = set_with_link(visitor, token, "another long passphrase here")
    assert again.status_code == 410  # type: ignore[attr-defined]  # single use

    assert other.get("/billing", follow_redirects=False).headers["location"] == "/signin"  # sessions ended
    assert visitor.sign_in(OWNER, DEMO_PASSWORD).status_code == 400
    assert str(visitor.sign_in(OWNER, NEW_PASSWORD).url).endswith("/billing")
    with app.engine.connect() as conn:
        actions = set(conn.execute(select(audit_log.c.action)).scalars())
        notices = conn.execute(select(outbox.c.recipients).where(outbox.c.kind == "password_changed")).scalars().all()
    assert {"password.reset", "sign_in.succeeded", "sign_in.failed"} <= actions
    assert notices == [json.dumps([OWNER])]


def test_a_link_expires_and_a_newer_one_replaces_it(visitor: Visitor, monkeypatch: pytest.MonkeyPatch) -> None:
    app = visitor.app
    visitor.get("/password/forgot")
    visitor.post("/password/forgot", {"email": OWNER})
    first = last_token(app, "password_reset")
    visitor.post("/password/forgot", {"email": OWNER})
    second = last_token(app, "password_reset")
    assert visitor.get(f"/password/set/{first}").status_code == 410
    assert visitor.get(f"/password/set/{second}").status_code == 200
    monkeypatch.setattr(auth, "wall_clock", lambda: datetime.now(UTC) + timedelta(hours=1, minutes=1))
    assert visitor.get(f"/password/set/{second}").status_code == 410
    assert set_with_link(visitor, second, NEW_PASSWORD).status_code == 410  # type: ignore[attr-defined]
    # a made-up link is no link, of any length
    assert visitor.get("/password/set/" + "x" * 43).status_code == 410
    assert visitor.get("/password/set/" + "x" * 5000).status_code in (404, 410)


def test_reset_links_asked_for_one_address_are_limited(visitor: Visitor) -> None:
    visitor.get("/password/forgot")
    for _ in range(6):
        assert visitor.post("/password/forgot", {"email": OWNER}).status_code == 200
    with visitor.app.engine.connect() as conn:
        sent = conn.execute(select(outbox.c.id).where(outbox.c.kind == "password_reset")).all()
    assert len(sent) == 3  # three an hour: nobody fills a mailbox through the portal


def test_the_outbox_keeps_no_link_once_it_is_sent(visitor: Visitor) -> None:
    app = visitor.app
    visitor.get("/password/forgot")
    visitor.post("/password/forgot", {"email": OWNER})
    token = last_token(app, "password_reset")
    sent: list[OutgoingMail] = []
    app.mailer = Recorder(sent)  # type: ignore[assignment]
    app.portal_url = "https://billing.example.test"
    report = deliver(app)
    assert report.sent
    with app.engine.connect() as conn:
        kept = conn.execute(select(outbox.c.data).where(outbox.c.kind == "password_reset")).scalar_one()
    assert token not in kept
    [reset] = [mail for mail in sent if mail.subject == "Set a new password"]
    assert reset.recipients == (OWNER,)
    assert f"https://billing.example.test/password/set/{token}" in reset.body


def test_a_user_added_by_the_owner_is_invited_to_set_a_password(api: Api) -> None:
    """Before, a new user had no password and no way to get one."""
    account = api.open_account("invite-co").id
    body = {"email": "New.Person@Invite.test", "name": "New Person", "role": "admin"}
    added = api.client.post(f"/api/v1/accounts/{account}/users", headers=api.key(None), json=body)
    assert added.status_code == 201
    assert added.json()["email"] == "new.person@invite.test"
    token = last_token(api.app, "invitation")
    guest = Visitor(api.app)
    page = guest.get(f"/password/set/{token}")
    assert "Set your password" in page.text
    assert set_with_link(guest, token, NEW_PASSWORD).status_code == 200  # type: ignore[attr-defined]
    assert str(guest.sign_in("new.person@invite.test", NEW_PASSWORD).url).endswith("/billing")
    # a person who already has a password is told, with no link
    other = api.open_account("invite-two").id
    api.client.post(f"/api/v1/accounts/{other}/users", headers=api.key(None),
                    json={"email": "new.person@invite.test", "name": "New Person", "role": "member"})  # fmt: skip
    with api.app.engine.connect() as conn:
        told = conn.execute(select(outbox.c.data).where(outbox.c.kind == "added_to_account")).scalars().all()
    assert len(told) == 1
    assert "token" not in json.loads(told[0])


def test_a_password_change_needs_the_current_one_and_ends_the_other_sessions(visitor: Visitor) -> None:
    app = visitor.app
    elsewhere = Visitor(app)
    elsewhere.sign_in(OWNER)
    visitor.sign_in(OWNER)
    page = visitor.get("/account/password")
    assert "Change your password" in page.text
    wrong = visitor.post("/account/password", {"current": "not it", "password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert wrong.status_code == 400
    assert "This is not your current password." in wrong.text
    short = visitor.post("/account/password", {"current": DEMO_PASSWORD, "password": "short", "repeat": "short"})
    assert "at least 10 characters" in short.text.lower()
    changed = visitor.post("/account/password",
                           {"current": DEMO_PASSWORD, "password": NEW_PASSWORD, "repeat": NEW_PASSWORD})  # fmt: skip
    assert changed.status_code == 200
    assert "Your password is changed" in changed.text
    assert visitor.get("/billing").status_code == 200  # this session stays
    assert elsewhere.client.get("/billing", follow_redirects=False).headers["location"] == "/signin"
    with app.engine.connect() as conn:
        changes = conn.execute(select(audit_log.c.account_id).where(audit_log.c.action == "password.changed")).all()
    assert [row[0] for row in changes] == [account_id(app, "demo-business")]


def test_the_pages_speak_polish(visitor: Visitor) -> None:
    visitor.get("/language/pl?next=/signin")
    assert "Nie pamiętasz hasła?" in visitor.get("/signin").text
    visitor.get("/password/forgot")
    sent = visitor.post("/password/forgot", {"email": OWNER})
    assert "wysłaliśmy na niego link" in sent.text
    token = last_token(visitor.app, "password_reset")
    refused = set_with_link(visitor, token, "qwertyuiop")
    assert "zbyt popularne" in refused.text  # type: ignore[attr-defined]
    with visitor.app.engine.connect() as conn:
        language = conn.execute(select(outbox.c.language).where(outbox.c.kind == "password_reset")).scalar_one()
    assert language == "pl"


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", "password.too_short"),
        ("x" * 257, "password.too_long"),
        ("password1234", "password.common"),
        ("qwertyuiop123", "password.common"),
        ("owner@demo-business.test", "password.common"),
        ("tab\there in it", "password.control_character"),
    ],
)
def test_the_policy_refuses_short_long_common_and_control_characters(password: str, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_policy(password, email=OWNER)
    assert refused.value.code == code


@pytest.mark.parametrize("password", [NEW_PASSWORD, "Zażółć gęślą jaźń 2026", "x7#Lq!9vR2&mZp"])
def test_the_policy_accepts_a_long_passphrase_in_any_script(password: str) -> None:
    check_policy(password, password, email=OWNER)  # raises if refused


def test_an_unknown_address_is_verified_against_a_hash_made_with_todays_parameters() -> None:
    """Sign-in costs one argon2 verification whether or not the address is known: the stored dummy hash is refused
    for every password and has the hasher's own parameters, and a hasher with others makes a dummy of its own."""
    assert not PasswordHasher().check_needs_rehash(DUMMY)
    assert HASHER.verify(None, "no password: an unknown e-mail costs as much as a known one") is False
    assert HASHER.verify(None, "") is False
    lighter = Argon2Hasher(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    assert lighter._dummy != DUMMY
    assert not lighter._hasher.check_needs_rehash(lighter._dummy)
    assert lighter.verify(None, "anything") is False
    assert lighter.verify(lighter.hash("pass phrase"), "pass phrase") is True
