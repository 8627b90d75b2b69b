"""Bearer API keys for the REST API: ``prk_<prefix>_<secret>``, per account or for the operator (no account).

Only the SHA-256 of the whole key is stored; the key is shown once, when it is made. The prefix is stored in clear
so that a key can be found without scanning, and so that people can tell their keys apart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from prorata.adapters.db.schema import api_keys

SCHEME = "prk"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    account_id: int | None  # None: an operator key
    name: str
    prefix: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(conn: Connection, *, account_id: int | None, name: str, now: datetime) -> tuple[ApiKey, str]:
    """A new key and its clear text, which is not kept anywhere."""
    prefix = secrets.token_hex(6)
    key = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    key_id = conn.execute(
        insert(api_keys)
        .values(account_id=account_id, name=name, prefix=prefix, secret_hash=hash_key(key), created_at=now)
        .returning(api_keys.c.id)
    ).scalar_one()
    return ApiKey(int(key_id), account_id, name, prefix), key


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, None otherwise."""
    scheme, _, rest = key.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != SCHEME or not prefix or not secret:
        return None
    return prefix


def find_api_key(conn: Connection, key: str) -> ApiKey | None:
    """The live key this text is, or None (malformed, unknown, wrong secret or revoked)."""
    prefix = key_prefix(key)
    if prefix is None:
        return None
    row = conn.execute(select(api_keys).where(api_keys.c.prefix == prefix)).mappings().one_or_none()
    if row is None or row["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(row["secret_hash"], hash_key(key)):
        return None
    account = row["account_id"]
    return ApiKey(int(row["id"]), None if account is None else int(account), row["name"], row["prefix"])
