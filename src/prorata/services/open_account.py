"""Open an account (the operator's ``POST /api/v1/accounts``, ``prorata demo``, and later the operator console).

The command is checked before anything is written, each refusal naming its field (rule X4): the code (a stable,
unique slug), a visible name, an ISO 4217 currency and an IANA time zone (the domain's own checks, rules X1 and X2),
an ISO 3166 country. A code already taken is refused, also when two requests race for it (the database's unique
code answers the second).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from prorata.domain.account import Account
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.periods import Granularity
from prorata.services.ports import Clock, UnitOfWork

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
_VISIBLE = re.compile(r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$")  # something to read, no control
NAME_LENGTH = 200  # the column's


@dataclass(frozen=True, slots=True)
class OpenAccount:
    code: str
    name: str
    currency: str
    time_zone: str
    country: str
    managed_by_sales: bool = False  # rule I7: changes go through the account manager
    actor: str = "operator"


def open_account(command: OpenAccount, *, uow: Callable[[], UnitOfWork], clock: Clock) -> int:
    """The new account's id."""
    check(command)
    now = clock.now()
    with uow() as tx:
        if tx.account_id_by_code(command.code) is not None:
            raise code_taken(command.code)
        account_id = tx.insert_account(
            command.code, command.name, command.currency, command.time_zone, command.country,
            managed_by_sales=command.managed_by_sales, now=now,
        )  # fmt: skip
        tx.audit(account_id, command.actor, "account.opened", {"code": command.code,
                 "currency": command.currency}, now)  # fmt: skip
    return account_id


def check(command: OpenAccount) -> None:
    if not CODE.fullmatch(command.code):
        raise InvalidInput(
            "account.code_invalid",
            f"code: {command.code!r} is not an account code: 2 to 64 lowercase letters, digits and dashes",
            field="code",
        )
    if len(command.name) > NAME_LENGTH or not _VISIBLE.fullmatch(command.name):
        raise InvalidInput("account.name", f"name: a name to read, at most {NAME_LENGTH} characters", field="name")
    Account(command.currency, command.time_zone, Granularity.DAY, 0)  # currency.unknown (X1), time_zone.unknown (X2)
    if not COUNTRY.fullmatch(command.country):
        raise InvalidInput("account.country", "country: a two-letter country code (ISO 3166), e.g. PL", field="country")


def code_taken(code: str) -> RuleViolation:
    return RuleViolation("account.code_taken", f"code: there is already an account {code!r}", field="code")
