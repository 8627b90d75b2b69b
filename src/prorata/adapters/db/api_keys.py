"""Bearer API keys for the REST API, ``prk_<prefix>_<secret>``: what the store keeps and what a request checks.

Only the SHA-256 of the whole key is stored; the key is shown once, when it is made (``services/api_keys.py`` makes,
lists and revokes keys through the unit of work, ``ApiKeyStore``). The prefix is stored in clear, unique and
indexed, so that a request finds its key with one indexed read (``check_api_key``), and people can tell keys apart.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, insert, or_, select, update

from prorata.adapters.db.database import READ_ONLY
from prorata.adapters.db.schema import accounts, api_keys
from prorata.services.api_keys import hash_key, key_prefix, new_key
from prorata.services.ports import ApiKeyRecord

# last_used_at is for people ("is this key still in use?"): a minute is precise enough, and a write per request is not
LAST_USED_EVERY = timedelta(minutes=1)

_RECORD = (
    api_keys.c.id, api_keys.c.prefix, api_keys.c.name, api_keys.c.scope, api_keys.c.account_id, accounts.c.code,
    api_keys.c.created_at, api_keys.c.last_used_at, api_keys.c.revoked_at,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A live key as a request sees it."""

    id: int
    account_id: int | None  # None: an operator key
    name: str
    prefix: str
    scope: Literal["full", "read_only"] = "full"

    @property
    def read_only(self) -> bool:
        return self.scope == "read_only"


def create_api_key(
    conn: Connection, *, account_id: int | None, name: str, now: datetime, scope: Literal["full", "read_only"] = "full"
) -> tuple[ApiKey, str]:
    """A new key and its clear text, written as it is, without an audit line (tests and fixtures; the operator's
    commands go through ``services/api_keys.py``)."""
    prefix, key = new_key()
    key_id = conn.execute(
        insert(api_keys)
        .values(account_id=account_id, name=name, prefix=prefix, secret_hash=hash_key(key), scope=scope,
                created_at=now)
        .returning(api_keys.c.id)
    ).scalar_one()  # fmt: skip
    return ApiKey(int(key_id), account_id, name, prefix, scope), key


def check_api_key(engine: Engine, key: str, now: datetime) -> ApiKey | None:
    """The live key this text is, or None (malformed, unknown, wrong secret or revoked), read on every request so
    that a key revoked by another process is refused at once: one read by the unique prefix, in a transaction that
    takes no write lock on SQLite. When the key was last marked used ``LAST_USED_EVERY`` or longer ago, it is marked
    used now, in a transaction of its own (at most one write a minute per key; of processes racing, one writes)."""
    prefix = key_prefix(key)
    if prefix is None:
        return None
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        row = conn.execute(
            select(api_keys.c.id, api_keys.c.account_id, api_keys.c.name, api_keys.c.scope, api_keys.c.secret_hash,
                   api_keys.c.revoked_at, api_keys.c.last_used_at).where(api_keys.c.prefix == prefix)
        ).one_or_none()  # fmt: skip
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_hash, hash_key(key)):
        return None
    if row.last_used_at is None or row.last_used_at <= now - LAST_USED_EVERY:
        with engine.begin() as conn:
            conn.execute(
                update(api_keys)
                .where(api_keys.c.id == row.id)
                .where(or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at <= now - LAST_USED_EVERY))
                .values(last_used_at=now)
            )
    account = row.account_id
    return ApiKey(int(row.id), None if account is None else int(account), row.name, prefix, row.scope)


def find_api_key(conn: Connection, key: str) -> ApiKey | None:
    """The live key this text is, or None; reads only."""
    prefix = key_prefix(key)
    if prefix is None:
        return None
    row = conn.execute(select(api_keys).where(api_keys.c.prefix == prefix)).mappings().one_or_none()
    if row is None or row["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(row["secret_hash"], hash_key(key)):
        return None
    account = row["account_id"]
    return ApiKey(int(row["id"]), None if account is None else int(account), row["name"], row["prefix"], row["scope"])


class ApiKeyStore:
    """The API keys' part of the unit of work (``services/api_keys.py``)."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def account_code(self, account_id: int) -> str | None:
        found = self.conn.execute(select(accounts.c.code).where(accounts.c.id == account_id)).scalar_one_or_none()
        return None if found is None else str(found)

    def insert_api_key(
        self, account_id: int | None, name: str, scope: str, prefix: str, secret_hash: str, now: datetime
    ) -> ApiKeyRecord:
        self.conn.execute(
            insert(api_keys).values(account_id=account_id, name=name, scope=scope, prefix=prefix,
                                    secret_hash=secret_hash, created_at=now)
        )  # fmt: skip
        made = self.api_key(prefix)
        if made is None:  # pragma: no cover - written just above, in this transaction
            raise RuntimeError(f"API key {prefix} not found after its insert")
        return made

    def api_keys(self, account_id: int | None) -> list[ApiKeyRecord]:
        query = select(*_RECORD).select_from(api_keys.outerjoin(accounts, accounts.c.id == api_keys.c.account_id))
        if account_id is not None:
            query = query.where(api_keys.c.account_id == account_id)
        return [_record(row) for row in self.conn.execute(query.order_by(api_keys.c.id))]

    def api_key(self, prefix: str) -> ApiKeyRecord | None:
        row = self.conn.execute(
            select(*_RECORD)
            .select_from(api_keys.outerjoin(accounts, accounts.c.id == api_keys.c.account_id))
            .where(api_keys.c.prefix == prefix)
        ).one_or_none()  # fmt: skip
        return None if row is None else _record(row)

    def revoke_api_key(self, key_id: int, now: datetime) -> bool:
        done = self.conn.execute(
            update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        return done.rowcount == 1


def _record(row: Any) -> ApiKeyRecord:
    account = row.account_id
    return ApiKeyRecord(
        id=int(row.id), prefix=row.prefix, name=row.name, scope=row.scope,
        account_id=None if account is None else int(account), account_code=row.code, created_at=row.created_at,
        last_used_at=row.last_used_at, revoked_at=row.revoked_at,
    )  # fmt: skip
