"""Operators of the console and their sessions.

``OperatorStore`` is the operators' part of ``SqlUnitOfWork`` (``services/operators.py`` reaches it). The console's
sessions are kept as the portal's are (``web_sessions.py``): the cookie carries a random token, the table its SHA-256
and the session's CSRF secret, so a copy of the database opens no session. They live in real time (``wall_clock``),
twelve hours at most, and end when their operator is disabled.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from prorata.adapters.db.schema import operator_sessions, operators
from prorata.adapters.db.web_sessions import SESSION_LIFETIME, digest
from prorata.services.operators import email_taken
from prorata.services.ports import Operator


def _operator(row: object) -> Operator:
    r = row._mapping  # type: ignore[attr-defined]
    return Operator(int(r["id"]), r["email"], r["name"], r["password_hash"], r["language"],
                    r["disabled_at"] is not None)  # fmt: skip


class OperatorStore:
    """The operators' part of the unit of work."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def operator_by_email(self, email: str) -> Operator | None:
        row = self.conn.execute(select(operators).where(operators.c.email == email)).first()
        return None if row is None else _operator(row)

    def insert_operator(self, email: str, name: str, password_hash: str, language: str, now: datetime) -> int:
        try:
            with self.conn.begin_nested():
                return int(self.conn.execute(
                    insert(operators).values(email=email, name=name, password_hash=password_hash, language=language,
                                             created_at=now).returning(operators.c.id)
                ).scalar_one())  # fmt: skip
        except IntegrityError:  # made by a request that raced this one
            raise email_taken(email) from None

    def operators(self) -> list[Operator]:
        return [_operator(row) for row in self.conn.execute(select(operators).order_by(operators.c.email))]


@dataclass
class OperatorSession:
    token_hash: str
    operator_id: int
    email: str
    name: str
    csrf_token: str
    language: str


def open_operator_session(engine: Engine, operator_id: int, language: str, now: datetime) -> str:
    """A new console session; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(delete(operator_sessions).where(operator_sessions.c.expires_at <= now))
        conn.execute(insert(operator_sessions).values(
            token_hash=digest(token), operator_id=operator_id, csrf_token=secrets.token_urlsafe(32),
            language=language, created_at=now, expires_at=now + SESSION_LIFETIME,
        ))  # fmt: skip
    return token


def find_operator_session(engine: Engine, token: str, now: datetime) -> OperatorSession | None:
    """The live session of an operator who is not disabled, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(operator_sessions.c.token_hash, operator_sessions.c.operator_id, operators.c.email,
                   operators.c.name, operator_sessions.c.csrf_token, operator_sessions.c.language)
            .join(operators, operators.c.id == operator_sessions.c.operator_id)
            .where(operator_sessions.c.token_hash == digest(token), operator_sessions.c.expires_at > now,
                   operators.c.disabled_at.is_(None))
        ).first()  # fmt: skip
    return None if row is None else OperatorSession(row[0], int(row[1]), row[2], row[3], row[4], row[5])


def close_operator_session(engine: Engine, token_hash: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(operator_sessions).where(operator_sessions.c.token_hash == token_hash))


def set_operator_language(engine: Engine, token_hash: str, language: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(operator_sessions).where(operator_sessions.c.token_hash == token_hash)
                     .values(language=language))  # fmt: skip
