"""Sign-in to the portal: one person per e-mail, one password check whatever the address, throttled per e-mail and
per client address in the database, so the limits hold across server processes and restarts.

The attempt is counted first (``domain/throttle.py``), in a transaction of its own that ends before the password is
checked: parallel guesses queue on the count, never on the slow hash. A key that is locked answers at once, with how
long until it may try again, and no password is checked. The check itself costs one argon2 verification whether or
not the address belongs to anybody, so the answer's time tells nothing.

The first lock of an e-mail's series tells that person and the owners of their accounts by e-mail. Sign-ins and
their failures are audited in each account of the person (an unknown address is audited without an account, with
the client address and no trace of what was typed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prorata.domain import throttle
from prorata.domain.throttle import ThrottlePolicy
from prorata.services.identity import address_key, could_be_an_address, email_key, normalise_email
from prorata.services.ports import Membership, PasswordHasher, Person, UnitOfWork

PASSWORD_LENGTH_CHECKED = 1024  # longer input is refused unchecked: a hash of megabytes is a denial of service


@dataclass(frozen=True, slots=True)
class SignIn:
    email: str
    password: str
    client_address: str
    language: str = "en"


@dataclass(frozen=True, slots=True)
class SignInResult:
    person_id: int | None = None  # signed in
    memberships: list[Membership] = field(default_factory=list)
    retry_after: timedelta | None = None  # refused unchecked: the e-mail or the client address is locked

    @property
    def locked(self) -> bool:
        return self.retry_after is not None


def count_attempt(tx: UnitOfWork, key: str, now: datetime, policy: ThrottlePolicy) -> throttle.Decision:
    decision = throttle.attempt(tx.throttle_state(key), now, policy)
    tx.save_throttle(key, decision.state)
    return decision


def sign_in(command: SignIn, *, uow: Callable[[], UnitOfWork], hasher: PasswordHasher, now: datetime) -> SignInResult:
    email = normalise_email(command.email)
    with uow() as tx:
        by_address = count_attempt(tx, address_key(command.client_address), now, throttle.PER_ADDRESS)
        if not by_address.allowed:
            return SignInResult(retry_after=by_address.retry_after)
        by_email = count_attempt(tx, email_key(email), now, throttle.PER_EMAIL)
        person = tx.person_by_email(email) if could_be_an_address(email) else None
        if not by_email.allowed:
            if by_email.locked_now and person is not None:
                _tell_of_lock(tx, person, by_email, command, now)
            return SignInResult(retry_after=by_email.retry_after)
    password = command.password if len(command.password) <= PASSWORD_LENGTH_CHECKED else ""
    stored = person.password_hash if person is not None else None
    good = hasher.verify(stored, password) and bool(password)
    with uow() as tx:
        memberships = tx.memberships(person.id) if person is not None else []
        if not good or person is None or not memberships:
            detail = {"client_address": command.client_address}
            if person is None:
                tx.audit(None, "sign-in", "sign_in.failed", detail, now)
            for member in memberships:
                tx.audit(member.account_id, f"portal:{person.email}" if person else "sign-in", "sign_in.failed",
                         detail, now)  # fmt: skip
            return SignInResult()
        tx.clear_throttle(email_key(email))
        if stored is not None and hasher.needs_rehash(stored):
            tx.set_password_hash(person.id, hasher.hash(password), now)  # parameters raised since it was made
        for member in memberships:
            tx.audit(member.account_id, f"portal:{person.email}", "sign_in.succeeded",
                     {"client_address": command.client_address}, now)  # fmt: skip
    return SignInResult(person.id, memberships)


def _tell_of_lock(tx: UnitOfWork, person: Person, decision: throttle.Decision, command: SignIn, now: datetime) -> None:
    """The first lock of a series: the person and the owners of each of their accounts hear of it, once."""
    minutes = max(1, round(decision.retry_after.total_seconds() / 60))
    data = {"email": person.email, "minutes": minutes, "attempts": throttle.PER_EMAIL.limit}
    if decision.state.locks == 1:
        tx.enqueue_person_mail([person.email], "sign_in_locked", command.language, now, data=data)
    for member in tx.memberships(person.id):
        detail = {"email": person.email, "client_address": command.client_address, "minutes": minutes}
        tx.audit(member.account_id, "sign-in", "sign_in.locked", detail, now)
        if decision.state.locks == 1:
            owners = [owner for owner in tx.owner_emails(member.account_id) if owner != person.email]
            tx.enqueue_person_mail(owners, "sign_in_locked", command.language, now, account_id=member.account_id,
                                   data=data)  # fmt: skip
