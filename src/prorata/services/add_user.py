"""Add a user to an account (``POST /api/v1/accounts/{id}/users``, ``prorata demo``, later the operator console): a
Basic user until a license is assigned (rule U1).

Checked before anything is written, one refusal naming every field at fault (rule X4): an e-mail address, a
visible name, a role (owner, admin or member; rule P6 gives owners and admins the right to buy). An e-mail address
the account already has is refused, also when two requests race for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from prorata.domain.errors import InvalidInput, RuleViolation, refuse_all
from prorata.services.open_account import NAME_LENGTH
from prorata.services.ports import Clock, UnitOfWork

ROLES = ("owner", "admin", "member")
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
_VISIBLE = re.compile(r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$")
EMAIL_LENGTH = 320


@dataclass(frozen=True, slots=True)
class AddUser:
    account_id: int
    email: str
    name: str
    role: str = "member"
    actor: str = "operator"


def add_user(command: AddUser, *, uow: Callable[[], UnitOfWork], clock: Clock) -> int:
    """The new user's id."""
    check(command)
    now = clock.now()
    with uow() as tx:
        tx.load_account(command.account_id, lock=True)  # account.unknown; and one writer of its users at a time
        if tx.user_id_by_email(command.account_id, command.email) is not None:
            raise email_taken(command.email)
        user_id = tx.insert_user(command.account_id, command.email, command.name, command.role, now)
        tx.audit(command.account_id, command.actor, "user.added", {"user": user_id, "email": command.email,
                 "role": command.role}, now)  # fmt: skip
    return user_id


def check(command: AddUser) -> None:
    """Every field at fault, refused together (rule X4)."""
    errors: list[InvalidInput] = []
    if len(command.email) > EMAIL_LENGTH or not _EMAIL.fullmatch(command.email):
        errors.append(InvalidInput("user.email", f"email: {command.email!r} is not an e-mail address", field="email"))
    if len(command.name) > NAME_LENGTH or not _VISIBLE.fullmatch(command.name):
        errors.append(InvalidInput("user.name", f"name: a name to read, at most {NAME_LENGTH} characters",
                                   field="name", limit=NAME_LENGTH))  # fmt: skip
    if command.role not in ROLES:
        errors.append(InvalidInput("user.role", f"role: one of {', '.join(ROLES)}, not {command.role!r}", rule="P6",
                                   field="role"))  # fmt: skip
    refuse_all(errors)


def email_taken(email: str) -> RuleViolation:
    return RuleViolation("user.email_taken", f"email: the account already has a user {email}", field="email")
