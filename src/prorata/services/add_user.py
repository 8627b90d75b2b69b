"""Add a user to an account (``POST /api/v1/accounts/{id}/users``, ``prorata demo``, later the operator console): a
Basic user until a license is assigned (rule U1).

Checked before anything is written, one refusal naming every field at fault (rule X4): an e-mail address, a
visible name, a role (owner, admin or member; rule P6 gives owners and admins the right to buy). An e-mail address
the account already has is refused, also when two requests race for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from prorata.domain.errors import InvalidInput, RuleViolation, refuse_all
from prorata.services.identity import normalise_email
from prorata.services.open_account import NAME_LENGTH
from prorata.services.passwords import invite
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
    invite: bool = True  # e-mail the person: a link to set a password when they have none, or a notice
    language: str = "en"  # of that e-mail


def add_user(
    command: AddUser, *, uow: Callable[[], UnitOfWork], clock: Clock,
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:  # fmt: skip
    """The new user's id. The address is stored normalised: one person per address across the installation, who
    signs in once and chooses among their accounts. Their password link lives in real time (``wall_clock``), also
    on an installation whose billing runs on the simulation clock."""
    command = replace(command, email=normalise_email(command.email))
    check(command)
    email = command.email
    now = clock.now()
    with uow() as tx:
        tx.load_account(command.account_id, lock=True)  # account.unknown; and one writer of its users at a time
        if tx.user_id_by_email(command.account_id, email) is not None:
            raise email_taken(email)
        user_id = tx.insert_user(command.account_id, email, command.name, command.role, now)
        person_id = tx.ensure_person(email, now)
        tx.link_user(user_id, person_id)
        tx.audit(command.account_id, command.actor, "user.added", {"user": user_id, "email": email,
                 "role": command.role}, now)  # fmt: skip
        if command.invite:
            invite(tx, person_id, command.account_id, command.role, command.language, wall_clock())
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
