"""Portal sessions: session tokens kept only as hashes, a CSRF token per session, and the session's cart and
checkout progress (rule K3) as JSON.

A session belongs to a person (one e-mail across the installation) and names the account they chose: a person of
several accounts signs in once, then chooses (and may switch). The cookie carries a random token; the table keeps its
SHA-256, so a copy of the database opens no session. Passwords are ``services/sign_in.py`` and
``services/passwords.py``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from prorata.adapters.db.schema import people, users, web_sessions
from prorata.adapters.passwords import HASHER
from prorata.services.identity import normalise_email

SESSION_LIFETIME = timedelta(hours=12)


def wall_clock() -> datetime:
    """Sessions live in real time, also on an installation whose billing runs on the simulation clock: moving the
    simulated time forward a month must neither sign everybody out nor keep a stolen cookie valid longer."""
    return datetime.now(UTC)


@dataclass
class WebSession:
    token_hash: str
    user_id: int
    account_id: int
    email: str
    name: str
    role: str
    csrf_token: str
    language: str
    state: dict[str, Any] = field(default_factory=dict)
    person_id: int = 0
    accounts: int = 1  # how many accounts the person belongs to (more than one: they may switch)


@dataclass(frozen=True, slots=True)
class PersonSession:
    """A session as its person holds it, whether or not an account is chosen yet."""

    token_hash: str
    person_id: int
    user_id: int | None
    csrf_token: str
    language: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def person_of_user(engine: Engine, user_id: int) -> int:
    """The person who signs in as this user, linked now if the user had none (a user written by an import)."""
    with engine.begin() as conn:
        email, linked = conn.execute(select(users.c.email, users.c.person_id).where(users.c.id == user_id)).one()
        if linked is not None:
            return int(linked)
        address = normalise_email(email)
        person_id = conn.execute(select(people.c.id).where(people.c.email == address)).scalar_one_or_none()
        if person_id is None:
            person_id = conn.execute(
                insert(people).values(email=address, created_at=wall_clock()).returning(people.c.id)
            ).scalar_one()
        conn.execute(update(users).where(users.c.id == user_id).values(person_id=person_id))
        return int(person_id)


def set_password(engine: Engine, user_id: int, password: str) -> None:
    """Give the person of a user this password, no questions asked (the demo installation and tests; people set
    theirs through ``services/passwords.py``, which holds them to the policy)."""
    person_id = person_of_user(engine, user_id)
    with engine.begin() as conn:
        conn.execute(update(people).where(people.c.id == person_id).values(
            password_hash=HASHER.hash(password), password_changed_at=wall_clock()))  # fmt: skip


def open_session(engine: Engine, person_id: int, user_id: int | None, language: str, now: datetime) -> str:
    """A new session for the person, in the account of ``user_id`` (None: to be chosen); returns the token for the
    cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))  # expired ones go at each sign-in
        conn.execute(
            insert(web_sessions).values(
                token_hash=digest(token), person_id=person_id, user_id=user_id,
                csrf_token=secrets.token_urlsafe(32), language=language, created_at=now,
                expires_at=now + SESSION_LIFETIME, state="{}",
            )
        )  # fmt: skip
    return token


def find_person_session(engine: Engine, token: str, now: datetime) -> PersonSession | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(web_sessions.c.token_hash, web_sessions.c.person_id, web_sessions.c.user_id,
                   web_sessions.c.csrf_token, web_sessions.c.language)
            .where(web_sessions.c.token_hash == digest(token), web_sessions.c.expires_at > now)
        ).first()  # fmt: skip
    if row is None:
        return None
    return PersonSession(row[0], int(row[1]), None if row[2] is None else int(row[2]), row[3], row[4])


def choose_account(engine: Engine, token_hash: str, person_id: int, user_id: int) -> bool:
    """Point the session at the person's user ``user_id`` (an account they belong to); False if it is not theirs.
    The cart belongs to the account it was filled in, so it is emptied."""
    with engine.begin() as conn:
        mine = conn.execute(
            select(users.c.id).where(users.c.id == user_id, users.c.person_id == person_id)
        ).first()  # fmt: skip
        if mine is None:
            return False
        conn.execute(
            update(web_sessions)
            .where(web_sessions.c.token_hash == token_hash, web_sessions.c.person_id == person_id)
            .values(user_id=user_id, state="{}")
        )
    return True


_others = users.alias("others")


def find_session(engine: Engine, token: str, now: datetime) -> WebSession | None:
    """The session with its chosen account; None without one (signed out, or still choosing)."""
    memberships = (
        select(func.count()).where(_others.c.person_id == web_sessions.c.person_id).scalar_subquery().label("accounts")
    )
    with engine.connect() as conn:
        row = conn.execute(
            select(web_sessions, users.c.account_id, users.c.email, users.c.name, users.c.role, memberships)
            .join(users, users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.token_hash == digest(token), web_sessions.c.expires_at > now)
        ).mappings().first()  # fmt: skip
    if row is None:
        return None
    return WebSession(
        row["token_hash"], int(row["user_id"]), int(row["account_id"]), row["email"], row["name"], row["role"],
        row["csrf_token"], row["language"], json.loads(row["state"] or "{}"), int(row["person_id"]),
        int(row["accounts"]),
    )  # fmt: skip


def save_session(engine: Engine, session: WebSession) -> None:
    """Write the session's language and state (the cart and the checkout progress)."""
    with engine.begin() as conn:
        conn.execute(
            update(web_sessions)
            .where(web_sessions.c.token_hash == session.token_hash)
            .values(language=session.language, state=json.dumps(session.state, sort_keys=True))
        )


def close_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == digest(token)))
