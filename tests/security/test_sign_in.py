"""Sign-in: throttled per e-mail and per client address in the database, one person per e-mail across accounts,
one password check whatever the address, audited; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from prorata.adapters.db.schema import audit_log, outbox, people, person_tokens, sign_in_throttle, users
from prorata.adapters.db.web_sessions import set_password
from prorata.adapters.passwords import Argon2Hasher
from prorata.bootstrap import App, build
from prorata.domain import throttle
from prorata.entrypoints.cli.demo import DEMO_PASSWORD
from prorata.entrypoints.portal.routes import auth
from prorata.services.add_user import AddUser, add_user
from prorata.services.sign_in import SignIn, sign_in
from tests.e2e.conftest import account_id
from tests.races import together
from tests.security.conftest import Visitor

OWNER = "owner@demo-business.test"


class Later:
    """The wall clock of the sign-in routes, moved forward at will."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta(0)
        monkeypatch.setattr(auth, "wall_clock", lambda: datetime.now(UTC) + self.offset)


def outbox_kinds(app: App, kind: str) -> list[dict[str, object]]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.recipients, outbox.c.data).where(outbox.c.kind == kind)).all()
    return [{"to": json.loads(r[0]), **json.loads(r[1])} for r in rows]


def audited(app: App, action: str) -> int:
    with app.engine.connect() as conn:
        return len(conn.execute(select(audit_log.c.id).where(audit_log.c.action == action)).all())


def test_fifty_wrong_passwords_are_throttled_and_even_the_right_one_waits_out_the_lock(
    visitor: Visitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five wrong passwords for one e-mail, then 429 with Retry-After for everything, the right password included;
    after the lock one attempt is allowed again, and a wrong one locks for twice as long. The owners hear of it once.
    (Before: 50 wrong passwords in 14 s were each answered normally and the right one worked at once.)"""
    later = Later(monkeypatch)
    visitor.get("/signin")
    # twelve guesses: fewer than the client address's own limit, so that only the e-mail's count answers here
    statuses = [visitor.post("/signin", {"email": OWNER, "password": f"guess-{n}"}).status_code for n in range(12)]
    assert statuses[:5] == [400] * 5
    assert set(statuses[5:]) == {429}
    right = visitor.post("/signin", {"email": OWNER, "password": DEMO_PASSWORD})
    assert right.status_code == 429
    assert 1 <= int(right.headers["Retry-After"]) <= 60
    assert "Too many sign-in attempts" in right.text
    assert "/billing" not in right.headers.get("location", "")

    later.offset = timedelta(seconds=61)  # the first lock (1 minute) is over: one attempt, which is wrong
    assert visitor.post("/signin", {"email": OWNER, "password": "wrong again"}).status_code == 400
    locked_again = visitor.post("/signin", {"email": OWNER, "password": DEMO_PASSWORD})
    assert locked_again.status_code == 429
    assert 60 < int(locked_again.headers["Retry-After"]) <= 120  # the delay grows: 2 minutes now

    later.offset = timedelta(seconds=61 + 121)
    signed_in = visitor.post("/signin", {"email": OWNER, "password": DEMO_PASSWORD})
    assert signed_in.status_code == 200
    assert str(signed_in.url).endswith("/billing")
    # told once, at the first lock of the series: the person (the owner of the account)
    told = outbox_kinds(visitor.app, "sign_in_locked")
    assert [m["to"] for m in told] == [[OWNER]]
    assert audited(visitor.app, "sign_in.failed") == 6
    assert audited(visitor.app, "sign_in.locked") == 2
    assert audited(visitor.app, "sign_in.succeeded") == 1


def test_a_member_under_attack_is_told_and_so_is_the_owner_of_the_account(visitor: Visitor) -> None:
    member = "user1@demo-business.test"
    for n in range(6):
        visitor.get("/signin")
        visitor.post("/signin", {"email": member, "password": f"guess-{n}"})
    told = outbox_kinds(visitor.app, "sign_in_locked")
    assert sorted(tuple(m["to"]) for m in told) == [(OWNER,), (member,)]  # type: ignore[arg-type]
    assert all(m["email"] == member for m in told)


def test_one_client_address_trying_many_e_mails_is_throttled_too(visitor: Visitor) -> None:
    """Fifty guesses from one client address, each at another e-mail: twenty are checked, thirty refused."""
    visitor.get("/signin")
    statuses = [
        visitor.post("/signin", {"email": f"nobody{n}@example.test", "password": "guess"}).status_code
        for n in range(50)
    ]
    assert statuses[: throttle.PER_ADDRESS.limit] == [400] * throttle.PER_ADDRESS.limit
    assert set(statuses[throttle.PER_ADDRESS.limit :]) == {429}
    # an unknown address is audited without an account, and nothing of what was typed is kept
    with visitor.app.engine.connect() as conn:
        details = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "sign_in.failed")).scalars()
        assert all("nobody" not in d and "guess" not in d for d in details)
        keys = conn.execute(select(sign_in_throttle.c.key)).scalars().all()
    assert keys
    assert all("nobody" not in key and "testclient" not in key for key in keys)


def test_the_count_holds_across_server_processes_and_parallel_guesses_cannot_outrun_it(app: App) -> None:
    """Twenty wrong passwords released together from twenty connections of two separate applications (as two server
    processes): exactly five are checked, the rest refused unchecked. Counted in the database, so a restart or
    another worker changes nothing."""
    other = build(str(app.engine.url.render_as_string(hide_password=False)))
    try:
        now = datetime.now(UTC)
        calls = [
            (lambda n=n: sign_in(SignIn(OWNER, f"guess-{n}", f"10.0.0.{n}"), uow=(app if n % 2 else other).uow,
                                 hasher=app.hasher, now=now))
            for n in range(20)
        ]  # fmt: skip
        results = together(calls)
    finally:
        other.close()
    assert not [r for r in results if isinstance(r, BaseException)]
    checked = [r for r in results if not r.locked]
    assert len(checked) == throttle.PER_EMAIL.limit
    assert all(r.person_id is None for r in checked)
    again = sign_in(SignIn(OWNER, DEMO_PASSWORD, "10.0.1.1"), uow=app.uow, hasher=app.hasher, now=now)
    assert again.locked


class CountingHasher(Argon2Hasher):
    def __init__(self) -> None:
        super().__init__()
        self.verified = 0

    def verify(self, stored: str | None, password: str) -> bool:
        self.verified += 1
        return super().verify(stored, password)


def test_the_password_check_costs_one_verification_whatever_the_e_mail(app: App) -> None:
    """An unknown e-mail, a known one and one that belongs to two accounts each cost exactly one argon2 verification
    (before: one per matching account, so a second account doubled the time and revealed itself)."""
    add_user(AddUser(account_id(app, "demo-pro"), OWNER, "Owner again", "admin", invite=False), uow=app.uow,
             clock=app.clock)  # fmt: skip
    hasher = CountingHasher()
    now = datetime.now(UTC)
    for n, email in enumerate(["nobody@example.test", "user1@demo-business.test", OWNER, OWNER.upper()]):
        before = hasher.verified
        sign_in(SignIn(email, "wrong password", f"10.0.2.{n}"), uow=app.uow, hasher=hasher, now=now)
        assert hasher.verified - before == 1, email


def test_one_e_mail_in_two_accounts_signs_in_once_and_chooses(visitor: Visitor) -> None:
    """The same person in demo-business and demo-pro: one sign-in, a choice, and a switch; before, the first account
    whose password matched won and the second could never be reached."""
    app = visitor.app
    add_user(AddUser(account_id(app, "demo-pro"), "Owner@Demo-Business.test ", "Owner", "admin", invite=False),
             uow=app.uow, clock=app.clock)  # fmt: skip
    with app.engine.connect() as conn:
        rows = conn.execute(select(users.c.email, users.c.person_id).where(users.c.email == OWNER)).all()
        assert len(rows) == 2
        assert len({r.person_id for r in rows}) == 1
    signed = visitor.sign_in("OWNER@demo-business.TEST")
    assert signed.status_code == 200
    assert "/signin/account" in str(signed.url)
    assert "Demo Business Sp. z o.o." in signed.text
    assert "Demo Pro Studio" in signed.text
    pro, business = account_id(app, "demo-pro"), account_id(app, "demo-business")
    with app.engine.connect() as conn:
        pro_user = conn.execute(
            select(users.c.id).where(users.c.email == OWNER, users.c.account_id == pro)
        ).scalar_one()
        someone = conn.execute(select(users.c.id).where(users.c.email == "user1@demo-business.test")).scalar_one()
    assert business != pro
    chosen = visitor.post("/signin/account", {"user": str(pro_user)})
    assert chosen.status_code == 200
    assert "Demo Pro Studio" in visitor.get("/billing/information").text
    assert "Switch account" in chosen.text
    # another person's user cannot be chosen
    assert visitor.post("/signin/account", {"user": str(someone)}).status_code == 400


def test_an_address_added_in_capitals_signs_in(visitor: Visitor) -> None:
    """Before, a user added as ``OWNER@x`` could never sign in: the sign-in looked up the lower-cased address."""
    app = visitor.app
    user_id = add_user(AddUser(account_id(app, "demo-pro"), "NEW.Admin@Example.TEST", "New", "admin", invite=False),
                       uow=app.uow, clock=app.clock)  # fmt: skip
    set_password(app.engine, user_id, "a long enough passphrase")
    answer = visitor.sign_in("new.admin@example.test", "a long enough passphrase")
    assert answer.status_code == 200
    assert str(answer.url).endswith("/billing")


def test_a_hash_made_with_weaker_argon2_parameters_is_remade_at_sign_in(visitor: Visitor) -> None:
    app = visitor.app
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(DEMO_PASSWORD)
    with app.engine.begin() as conn:
        conn.execute(update(people).where(people.c.email == OWNER).values(password_hash=weak))
    assert app.hasher.needs_rehash(weak)
    assert visitor.sign_in(OWNER).status_code == 200
    with app.engine.connect() as conn:
        stored = conn.execute(select(people.c.password_hash).where(people.c.email == OWNER)).scalar_one()
    assert stored != weak
    assert not app.hasher.needs_rehash(stored)
    assert visitor.client.post("/signout", data={"csrf": visitor.csrf}, follow_redirects=False).status_code == 303
    assert visitor.sign_in(OWNER).status_code == 200  # the new hash is of the same password


HOSTILE = ["", "\x00", "a\x00@b.test", "x" * 100_000, "owner@demo-business.test\n", "ä" * 400 + "@x.test",
           "' OR 1=1 --", "%00", "\ud7ff@x.test"]  # fmt: skip


def people_and_links(app: App) -> tuple[object, ...]:
    with app.engine.connect() as conn:
        made = tuple(tuple(conn.execute(select(table)).all()) for table in (people, users, person_tokens))
        # wrong passwords for one e-mail lock it, and its person hears of that: the one message they may cause
        messages = conn.execute(select(outbox).where(outbox.c.kind != "sign_in_locked")).all()
        return (*made, tuple(messages))


def test_hostile_values_in_the_sign_in_and_password_forms_are_refused_never_a_crash(visitor: Visitor) -> None:
    """Rule X4 for the forms before sign-in: whatever is sent, the answer is below 500, a wrong value is refused
    at its field, and no person, user, link or message is made (only the throttle counts and the audit records)."""
    app = visitor.app
    before = people_and_links(app)
    # the account choice with ids that are no user of the person's: refused at its field
    visitor.sign_in("owner@demo-pro.test")
    for value in ["abc", "-1", "0", "99999999999999999999", "\x00"]:
        chosen = visitor.post("/signin/account", {"user": value})
        assert chosen.status_code == 400, value
        assert "Choose one of your accounts." in chosen.text
    visitor.client.post("/signout", data={"csrf": visitor.csrf})
    visitor.get("/signin")
    for value in HOSTILE:
        for form in ({"email": value, "password": value}, {"email": OWNER, "password": value}):
            answer = visitor.post("/signin", form)
            assert answer.status_code in (400, 429), (form, answer.status_code)
        visitor.get("/password/forgot")
        forgot = visitor.post("/password/forgot", {"email": value})
        assert forgot.status_code in (200, 400), (value, forgot.status_code)
        path = f"/password/set/{quote(value[:200], safe='') or 'x'}"
        link = visitor.client.post(path, data={"password": value, "repeat": value, "csrf": visitor.csrf})
        assert link.status_code in (403, 404, 410), (value, link.status_code)
    assert people_and_links(app) == before
