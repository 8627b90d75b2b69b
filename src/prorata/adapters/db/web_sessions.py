"""Portal sign-in and sessions: argon2 password hashes, session tokens kept only as hashes, a CSRF token per
session, and the session's cart and checkout progress (rule K3) as JSON.

The cookie carries a random token; the table keeps its SHA-256, so a copy of the database opens no session.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, insert, select, update

from prorata.adapters.db.schema import users, web_sessions

SESSION_LIFETIME = timedelta(hours=12)


def wall_clock() -> datetime:
    """Sessions live in real time, also on an installation whose billing runs on the simulation clock: moving the
    simulated time forward a month must neither sign everybody out nor keep a stolen cookie valid longer."""
    return datetime.now(UTC)


_HASHER = PasswordHasher()
# verified against when the e-mail is unknown, so that a wrong e-mail takes as long as a wrong password
_DUMMY_HASH = _HASHER.hash("not a password")


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


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def set_password(engine: Engine, user_id: int, password: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(password_hash=hash_password(password)))


def authenticate(engine: Engine, email: str, password: str) -> int | None:
    """The user whose e-mail and password these are, or None. An e-mail may belong to users of several accounts:
    the first whose password matches signs in."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(users.c.id, users.c.password_hash)
            .where(users.c.email == email.strip().lower(), users.c.password_hash.is_not(None))
            .order_by(users.c.id)
        ).all()
    for user_id, stored in rows:
        try:
            _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            continue
        return int(user_id)
    if not rows:
        with contextlib.suppress(VerificationError):
            _HASHER.verify(_DUMMY_HASH, password)
    return None


def open_session(engine: Engine, user_id: int, language: str, now: datetime) -> str:
    """A new session for the user; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))  # expired ones go at each sign-in
        conn.execute(
            insert(web_sessions).values(
                token_hash=_digest(token), user_id=user_id, csrf_token=secrets.token_urlsafe(32), language=language,
                created_at=now, expires_at=now + SESSION_LIFETIME, state="{}",
            )
        )  # fmt: skip
    return token


def find_session(engine: Engine, token: str, now: datetime) -> WebSession | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(web_sessions, users.c.account_id, users.c.email, users.c.name, users.c.role)
            .join(users, users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.token_hash == _digest(token), web_sessions.c.expires_at > now)
        ).mappings().first()  # fmt: skip
    if row is None:
        return None
    return WebSession(
        row["token_hash"], int(row["user_id"]), int(row["account_id"]), row["email"], row["name"], row["role"],
        row["csrf_token"], row["language"], json.loads(row["state"] or "{}"),
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
        conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == _digest(token)))
