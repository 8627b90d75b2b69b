"""Extra notice addresses (rule N1): up to 5 e-mail addresses of an account, beside its Sold-To and Bill-To contacts,
that receive its new-invoice e-mails only (which e-mails those are is the outbox's: ``adapters/db/outbox.NEW_INVOICE``).

Addresses are stored normalised (trimmed, NFC, lower case, as people's addresses are), each once per account. Every
change is made under the account's lock, so two requests at once never take an account past 5; a refusal names the
field at fault and the rule, all fields at once (rule X4), and changes nothing. Each change is an audit line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prorata.domain.errors import InvalidInput, refuse_all
from prorata.services.identity import normalise_email
from prorata.services.ports import Clock, UnitOfWork

MAX_NOTICE_ADDRESSES = 5  # rule N1
LONGEST = 320  # the column's length, an e-mail address's longest (RFC 5321)
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


@dataclass(frozen=True, slots=True)
class AddNoticeAddress:
    account_id: int
    email: str
    actor: str = "billing"


@dataclass(frozen=True, slots=True)
class RemoveNoticeAddress:
    account_id: int
    email: str
    actor: str = "billing"


@dataclass(frozen=True, slots=True)
class SetNoticeAddresses:
    """The whole list at once (the API's ``PUT``): the account's addresses become these, in this order."""

    account_id: int
    addresses: tuple[str, ...]
    actor: str = "billing"


def add_notice_address(command: AddNoticeAddress, *, uow: Callable[[], UnitOfWork], clock: Clock) -> str:
    """The address as stored. One the account has already, or a sixth, is refused (rule N1)."""
    email = _checked(command.email, "notice_address")
    with uow() as tx:
        _lock(tx, command.account_id)
        kept = tx.notice_addresses(command.account_id)
        if email in kept:
            raise _duplicate(email, "notice_address")
        if len(kept) >= MAX_NOTICE_ADDRESSES:
            raise _limit(len(kept) + 1, "notice_address")
        tx.add_notice_address(command.account_id, email, clock.now())
        tx.audit(command.account_id, command.actor, "notice_address.added", {"email": email}, clock.now())
    return email


def remove_notice_address(command: RemoveNoticeAddress, *, uow: Callable[[], UnitOfWork], clock: Clock) -> None:
    email = normalise_email(command.email)
    with uow() as tx:
        _lock(tx, command.account_id)
        if not tx.remove_notice_address(command.account_id, email):
            raise InvalidInput(
                "notice_address.unknown",
                f"notice_address: {email} is not one of the account's notice addresses",
                rule="N1",
                field="notice_address",
            )
        tx.audit(command.account_id, command.actor, "notice_address.removed", {"email": email}, clock.now())


def set_notice_addresses(
    command: SetNoticeAddresses, *, uow: Callable[[], UnitOfWork], clock: Clock
) -> tuple[str, ...]:
    """The addresses as stored. Every address wrong, repeated, or beyond the fifth is refused at once (rule N1)."""
    wanted, errors = _check_all(command.addresses)
    refuse_all(errors)
    with uow() as tx:
        _lock(tx, command.account_id)
        if tx.notice_addresses(command.account_id) != list(wanted):
            tx.replace_notice_addresses(command.account_id, wanted, clock.now())
            tx.audit(command.account_id, command.actor, "notice_addresses.replaced", {"emails": list(wanted)},
                     clock.now())  # fmt: skip
    return wanted


def _check_all(addresses: Sequence[str]) -> tuple[tuple[str, ...], list[InvalidInput]]:
    wanted: list[str] = []
    errors: list[InvalidInput] = []
    for position, text in enumerate(addresses):
        field = f"addresses[{position}]"
        try:
            email = _checked(text, field)
        except InvalidInput as error:
            errors.append(error)
            continue
        if email in wanted:
            errors.append(_duplicate(email, field))
        else:
            wanted.append(email)
    if len(addresses) > MAX_NOTICE_ADDRESSES:
        errors.append(_limit(len(addresses), "addresses"))
    return tuple(wanted), errors


def _checked(text: str, field: str) -> str:
    """The address normalised, or a refusal naming ``field`` (rules N1, X4)."""
    email = normalise_email(text)
    if len(email) > LONGEST:
        raise InvalidInput("notice_address.invalid", f"{field}: at most {LONGEST} characters", rule="N1",
                           field=field, limit=LONGEST)  # fmt: skip
    if not _EMAIL.match(email):
        raise InvalidInput("notice_address.invalid", f"{field}: not an e-mail address", rule="N1", field=field)
    return email


def _duplicate(email: str, field: str) -> InvalidInput:
    return InvalidInput("notice_address.duplicate", f"{field}: {email} is on the list already", rule="N1",
                        field=field, email=email)  # fmt: skip


def _limit(count: int, field: str) -> InvalidInput:
    return InvalidInput(
        "notice_address.limit",
        f"{field}: at most {MAX_NOTICE_ADDRESSES} extra notice addresses, not {count}",
        rule="N1",
        field=field,
        limit=MAX_NOTICE_ADDRESSES,
    )


def _lock(tx: UnitOfWork, account_id: int) -> None:
    if not tx.lock_account(account_id):
        raise InvalidInput("account.unknown", "account: not found", field="account")
