"""The people who run the installation in the operator console (``/operator``): making one, and their sign-in.

Operators are not any account's people: they have their own table and their own sessions, so no customer's password
ever opens the console, and an operator's opens no account's portal. Their passwords follow the customers' policy
(``services/passwords.py``), and their sign-in is throttled as the portal's is (``services/sign_in.py``): per e-mail
under a key of its own, and per client address under the same key as the portal's, so that an address guessing at
both doors is counted once. Every sign-in, failed or not, and every operator made is in the audit log, with no
account.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from prorata.domain import throttle
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.services.identity import address_key, could_be_an_address, email_key, normalise_email
from prorata.services.passwords import check_policy
from prorata.services.ports import Operator, PasswordHasher, UnitOfWork
from prorata.services.sign_in import PASSWORD_LENGTH_CHECKED, count_attempt

LANGUAGES = ("pl", "en")
THROTTLE_PURPOSE = "operator"  # the e-mail key's prefix: an operator's count is apart from a customer's


def actor(email: str) -> str:
    """How the audit log names an operator."""
    return f"operator:{email}"


@dataclass(frozen=True, slots=True)
class CreateOperator:
    email: str
    name: str
    password: str
    language: str = "en"
    by: str = "cli"  # who made it, for the audit log


def email_taken(email: str) -> RuleViolation:
    return RuleViolation("operator.email_taken", f"email: {email} is already an operator", field="email",
                         email=email)  # fmt: skip


def create_operator(command: CreateOperator, *, uow: Callable[[], UnitOfWork], hasher: PasswordHasher,
                    now: datetime) -> int:  # fmt: skip
    """A new operator's id, after every field is checked (each refusal names its field)."""
    email = normalise_email(command.email)
    if not could_be_an_address(email) or "@" not in email.strip("@"):
        raise InvalidInput("operator.email", "email: an e-mail address", field="email")
    name = command.name.strip()
    if not 0 < len(name) <= 200 or any(ord(c) < 32 for c in name):
        raise InvalidInput("operator.name", "name: 1 to 200 characters", field="name")
    if command.language not in LANGUAGES:
        raise InvalidInput("operator.language", f"language: one of {', '.join(LANGUAGES)}", field="language")
    check_policy(command.password, email=email)
    password_hash = hasher.hash(command.password)
    with uow() as tx:
        if tx.operator_by_email(email) is not None:
            raise email_taken(email)
        operator_id = tx.insert_operator(email, name, password_hash, command.language, now)
        tx.audit(None, command.by, "operator.created", {"email": email, "name": name}, now)
    return operator_id


@dataclass(frozen=True, slots=True)
class OperatorSignIn:
    email: str
    password: str
    client_address: str


@dataclass(frozen=True, slots=True)
class OperatorSignInResult:
    operator: Operator | None = None  # signed in
    retry_after: timedelta | None = None  # refused unchecked: the e-mail or the client address is locked


def operator_sign_in(command: OperatorSignIn, *, uow: Callable[[], UnitOfWork], hasher: PasswordHasher,
                     now: datetime) -> OperatorSignInResult:  # fmt: skip
    """One attempt, counted before the password is checked; one argon2 verification whatever the address."""
    email = normalise_email(command.email)
    with uow() as tx:
        by_address = count_attempt(tx, address_key(command.client_address), now, throttle.PER_ADDRESS)
        if not by_address.allowed:
            return OperatorSignInResult(retry_after=by_address.retry_after)
        key = email_key(email, THROTTLE_PURPOSE)
        by_email = count_attempt(tx, key, now, throttle.PER_EMAIL)
        operator = tx.operator_by_email(email) if could_be_an_address(email) else None
        if not by_email.allowed:
            if by_email.locked_now:
                tx.audit(None, "operator-sign-in", "operator.sign_in.locked",
                         {"email": email, "client_address": command.client_address}, now)  # fmt: skip
            return OperatorSignInResult(retry_after=by_email.retry_after)
    password = command.password if len(command.password) <= PASSWORD_LENGTH_CHECKED else ""
    good = hasher.verify(operator.password_hash if operator is not None else None, password) and bool(password)
    with uow() as tx:
        detail = {"client_address": command.client_address}
        if not good or operator is None or operator.disabled:
            tx.audit(None, actor(email) if operator is not None else "operator-sign-in", "operator.sign_in.failed",
                     detail, now)  # fmt: skip
            return OperatorSignInResult()
        tx.clear_throttle(key)
        tx.audit(None, actor(operator.email), "operator.sign_in.succeeded", detail, now)
    return OperatorSignInResult(operator)
