"""Passwords: the policy, a new one set through a single-use link sent by e-mail (a reset, or the invitation of a
user added by an owner), and a change by the signed-in person.

The policy (NIST SP 800-63B): at least ``MIN_LENGTH`` characters and at most ``MAX_LENGTH``, any characters but
control ones, and not a password that guessing tries early: one of the 30,000 most common passwords, or one that
zxcvbn's estimate finds weak (a keyboard walk, a name, the person's own e-mail). No rules of required character
classes, which make passwords harder to remember and no harder to guess.

A link is 32 random bytes; only its SHA-256 is stored. It works once, until it expires (a reset in an hour, an
invitation in 7 days), and a newer link of the same kind replaces it. Asking for a reset answers the same whether or
not the address belongs to anybody, and is throttled per address (3 an hour). A new password ends every other
session of the person, is audited in each of their accounts, and is told to the person by e-mail.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from zxcvbn import zxcvbn  # type: ignore[import-untyped]
from zxcvbn.matching import RANKED_DICTIONARIES  # type: ignore[import-untyped]

from prorata.domain import throttle
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.services.identity import could_be_an_address, email_key, normalise_email
from prorata.services.ports import PasswordHasher, UnitOfWork
from prorata.services.sign_in import count_attempt

MIN_LENGTH = 10
MAX_LENGTH = 256
RESET_LIFETIME = timedelta(hours=1)
INVITATION_LIFETIME = timedelta(days=7)
_COMMON = RANKED_DICTIONARIES["passwords"]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_policy(password: str, repeated: str | None = None, *, email: str = "") -> None:
    """Refuse a password that breaks the policy, naming the field ``password`` (or ``repeat``)."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput("password.too_short", f"password: at least {MIN_LENGTH} characters", field="password",
                           minimum=MIN_LENGTH)  # fmt: skip
    if len(password) > MAX_LENGTH:
        raise InvalidInput("password.too_long", f"password: at most {MAX_LENGTH} characters", field="password",
                           maximum=MAX_LENGTH)  # fmt: skip
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise InvalidInput("password.control_character", "password: no control characters", field="password")
    if password.lower() in _COMMON or zxcvbn(password[:100], user_inputs=[email, *email.split("@")])["score"] < 2:
        raise InvalidInput("password.common", "password: too common or too easy to guess; choose a longer one",
                           field="password")  # fmt: skip
    if repeated is not None and repeated != password:
        raise InvalidInput("password.mismatch", "repeat: the two passwords differ", field="repeat")


@dataclass(frozen=True, slots=True)
class RequestReset:
    email: str
    language: str = "en"


def request_reset(command: RequestReset, *, uow: Callable[[], UnitOfWork], now: datetime) -> None:
    """E-mail a reset link to the person of this address, if there is one; the caller says the same either way."""
    email = normalise_email(command.email)
    if not could_be_an_address(email):
        return
    with uow() as tx:
        if not count_attempt(tx, email_key(email, "reset"), now, throttle.RESET_PER_EMAIL).allowed:
            return
        person = tx.person_by_email(email)
        if person is None or not tx.memberships(person.id):
            return
        token = secrets.token_urlsafe(32)
        tx.insert_person_token(person.id, "reset", token_hash(token), now, now + RESET_LIFETIME)
        tx.enqueue_person_mail([person.email], "password_reset", command.language, now,
                               data={"email": person.email, "token": token})  # fmt: skip


def invite(tx: UnitOfWork, person_id: int, account_id: int, role: str, language: str, now: datetime) -> None:
    """Tell a person added to an account: with a link to set a password when they have none yet."""
    person = tx.person(person_id)
    if person is None:
        return
    account = next((m for m in tx.memberships(person_id) if m.account_id == account_id), None)
    data: dict[str, object] = {"email": person.email, "role": role,
                               "account": account.account_name if account else ""}  # fmt: skip
    if person.password_hash is None:
        token = secrets.token_urlsafe(32)
        tx.insert_person_token(person_id, "invitation", token_hash(token), now, now + INVITATION_LIFETIME)
        tx.enqueue_person_mail([person.email], "invitation", language, now, account_id=account_id,
                               data=data | {"token": token})  # fmt: skip
    else:
        tx.enqueue_person_mail([person.email], "added_to_account", language, now, account_id=account_id, data=data)


def link_purpose(token: str, *, uow: Callable[[], UnitOfWork], now: datetime) -> str | None:
    """``reset`` or ``invitation`` for a live link, None for one that is unknown, used or expired."""
    with uow() as tx:
        found = tx.peek_person_token(token_hash(token), now)
    return None if found is None else found[1]


@dataclass(frozen=True, slots=True)
class SetPassword:
    token: str
    password: str
    repeated: str
    language: str = "en"


def set_password_with_link(
    command: SetPassword, *, uow: Callable[[], UnitOfWork], hasher: PasswordHasher, now: datetime
) -> int:
    """Set the password a link was sent for; the person's id. The link is used even if another request races it."""
    with uow() as tx:
        found = tx.peek_person_token(token_hash(command.token), now)
        person = tx.person(found[0]) if found is not None else None
    if person is None:
        raise link_dead()
    check_policy(command.password, command.repeated, email=person.email)
    new_hash = hasher.hash(command.password)
    with uow() as tx:
        used = tx.use_person_token(token_hash(command.token), now)
        if used is None:
            raise link_dead()  # used by a request that raced this one
        _store(tx, person.id, person.email, new_hash, "password.set" if used[1] == "invitation" else
               "password.reset", command.language, now, keep=None)  # fmt: skip
        tx.clear_throttle(email_key(person.email))
    return person.id


@dataclass(frozen=True, slots=True)
class ChangePassword:
    person_id: int
    current: str
    password: str
    repeated: str
    session: str  # the hash of the session that asks: it stays signed in, the person's others end
    client_address: str = ""
    language: str = "en"


def change_password(
    command: ChangePassword, *, uow: Callable[[], UnitOfWork], hasher: PasswordHasher, now: datetime
) -> None:
    if not command.current:
        raise InvalidInput("password.wrong", "current: this is not your current password", field="current")
    with uow() as tx:
        person = tx.person(command.person_id)
        if person is None:
            raise link_dead()
        # a wrong current password counts like a wrong sign-in: a stolen session cannot guess it freely
        decision = count_attempt(tx, email_key(person.email), now, throttle.PER_EMAIL)
    if not decision.allowed:
        minutes = max(1, round(decision.retry_after.total_seconds() / 60))
        raise RuleViolation("password.locked", "current: too many wrong passwords; try again later",
                            field="current", minutes=minutes)  # fmt: skip
    if not hasher.verify(person.password_hash, command.current[:1024]):
        raise InvalidInput("password.wrong", "current: this is not your current password", field="current")
    check_policy(command.password, command.repeated, email=person.email)
    new_hash = hasher.hash(command.password)
    with uow() as tx:
        _store(tx, person.id, person.email, new_hash, "password.changed", command.language, now, keep=command.session)
        tx.clear_throttle(email_key(person.email))


def _store(
    tx: UnitOfWork, person_id: int, email: str, new_hash: str, action: str, language: str, now: datetime,
    *, keep: str | None,
) -> None:  # fmt: skip
    tx.set_password_hash(person_id, new_hash, now)
    ended = tx.end_sessions(person_id, keep=keep)
    for member in tx.memberships(person_id):
        tx.audit(member.account_id, f"portal:{email}", action, {"sessions_ended": ended}, now)
    tx.enqueue_person_mail([email], "password_changed", language, now, data={"email": email})


def link_dead() -> RuleViolation:
    return RuleViolation("password.link_invalid", "token: this link is used, expired or unknown; ask for a new one",
                         field="token")  # fmt: skip
