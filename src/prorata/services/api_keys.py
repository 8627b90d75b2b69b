"""API keys as the operator manages them: made, listed and revoked (``prorata apikey create|list|revoke`` and the
operator's ``/api/v1/operator/api-keys`` routes call these same functions); each change is an audit line.

A key is ``prk_<prefix>_<secret>``. Only the SHA-256 of the whole key is stored; its clear text is returned once, by
``create_api_key``, and is in no audit line. The prefix is stored in clear: it finds the key without a scan and names
it to people. A key belongs to an account (and reaches only that account) or to the operator (no account). Its scope
is ``full`` or ``read_only``; a read-only key may call only the operations that change nothing (the API's
``auth.py`` lists them). A revoked key stays listed, with when it was revoked, and is refused from its next request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.services.ports import ApiKeyRecord, Clock, UnitOfWork

SCHEME = "prk"
SCOPES = ("full", "read_only")
NAME_LENGTH = 100  # the column's
_PREFIX = re.compile(r"^[0-9a-f]{12}$")
_VISIBLE = re.compile(r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$")  # something to read, no control


@dataclass(frozen=True, slots=True)
class CreateApiKey:
    """A key of the account named by ``account_id`` or ``account_code``; neither: an operator key."""

    account_id: int | None = None
    account_code: str | None = None
    name: str | None = None  # default: the account's code, or "operator"
    scope: str = "full"
    actor: str = "operator"


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: ApiKeyRecord
    secret: str  # the whole key, in clear: shown once, kept nowhere


@dataclass(frozen=True, slots=True)
class ListApiKeys:
    """Every key, or those of one account (by id or by code)."""

    account_id: int | None = None
    account_code: str | None = None


@dataclass(frozen=True, slots=True)
class RevokeApiKey:
    prefix: str
    actor: str = "operator"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, None otherwise."""
    scheme, _, rest = key.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != SCHEME or not prefix or not secret:
        return None
    return prefix


def new_key() -> tuple[str, str]:
    """A fresh ``(prefix, key)``."""
    prefix = secrets.token_hex(6)
    return prefix, f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"


def create_api_key(command: CreateApiKey, *, uow: Callable[[], UnitOfWork], clock: Clock) -> NewApiKey:
    if command.scope not in SCOPES:
        raise InvalidInput("api_key.scope", "scope: full or read_only", field="scope")
    if command.name is not None and (len(command.name) > NAME_LENGTH or not _VISIBLE.fullmatch(command.name)):
        raise InvalidInput("api_key.name", f"name: a name to read, at most {NAME_LENGTH} characters", field="name")
    now = clock.now()
    prefix, secret = new_key()
    with uow() as tx:
        account_id, code = _account(tx, command.account_id, command.account_code)
        name = command.name or code or "operator"
        key = tx.insert_api_key(account_id, name, command.scope, prefix, hash_key(secret), now)
        tx.audit(account_id, command.actor, "api_key.created", _detail(key), now)
    return NewApiKey(key, secret)


def list_api_keys(command: ListApiKeys, *, uow: Callable[[], UnitOfWork]) -> list[ApiKeyRecord]:
    """The keys, oldest first, revoked ones included (with when)."""
    with uow() as tx:
        if command.account_id is None and command.account_code is None:
            return tx.api_keys(None)
        account_id, _ = _account(tx, command.account_id, command.account_code)
        return tx.api_keys(account_id)


def revoke_api_key(command: RevokeApiKey, *, uow: Callable[[], UnitOfWork], clock: Clock) -> ApiKeyRecord:
    """The key as revoked. An unknown prefix and a key already revoked are refusals naming ``prefix``."""
    if not _PREFIX.fullmatch(command.prefix):
        raise unknown_key(command.prefix)
    now = clock.now()
    with uow() as tx:
        key = tx.api_key(command.prefix)
        if key is None:
            raise unknown_key(command.prefix)
        # the update takes only a live key: of two revocations racing, the second is told the key was revoked
        if key.revoked_at is not None or not tx.revoke_api_key(key.id, now):
            raise RuleViolation(
                "api_key.revoked", f"prefix: the key {command.prefix} is already revoked", field="prefix"
            )
        tx.audit(key.account_id, command.actor, "api_key.revoked", _detail(key), now)
    return replace(key, revoked_at=now)


def unknown_key(prefix: str) -> InvalidInput:
    return InvalidInput("api_key.unknown", f"prefix: there is no API key {prefix!r}", field="prefix")


def _account(tx: UnitOfWork, account_id: int | None, code: str | None) -> tuple[int | None, str | None]:
    """The account's id and code, or (None, None) for the operator; an unknown account is refused."""
    if code is not None:
        found = tx.account_id_by_code(code)
        if found is None:
            raise InvalidInput("account.unknown", f"account: there is no account {code!r}", field="account")
        return found, code
    if account_id is not None:
        known = tx.account_code(account_id)
        if known is None:
            raise InvalidInput("account.unknown", f"account_id: there is no account {account_id}", field="account_id")
        return account_id, known
    return None, None


def _detail(key: ApiKeyRecord) -> dict[str, object]:
    # what tells the key apart, never its secret nor its hash
    return {"prefix": key.prefix, "name": key.name, "scope": key.scope, "account": key.account_code}
