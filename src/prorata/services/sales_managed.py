"""An operator marks an account as managed by sales, or back to self-service (rule I7).

An account managed by sales sees, where it would change its plan or billing, that its account manager does that
(the info icon of rule I7). The change is audited with the operator's name and reason, and setting what is already
set changes nothing and is not audited again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prorata.domain.errors import InvalidInput
from prorata.services.ports import Clock, UnitOfWork

REASON_LENGTH = 500


@dataclass(frozen=True, slots=True)
class SetManagedBySales:
    account_id: int
    managed: bool
    actor: str
    reason: str = ""


def set_managed_by_sales(command: SetManagedBySales, *, uow: Callable[[], UnitOfWork], clock: Clock) -> bool:
    """Whether anything changed."""
    reason = command.reason.strip()
    if len(reason) > REASON_LENGTH:
        raise InvalidInput("account.reason", f"reason: at most {REASON_LENGTH} characters", field="reason",
                           maximum=REASON_LENGTH)  # fmt: skip
    with uow() as tx:
        if not tx.lock_account(command.account_id):
            raise InvalidInput("account.unknown", "account: there is no such account", field="account")
        changed = tx.set_managed_by_sales(command.account_id, command.managed)
        if changed:
            tx.audit(command.account_id, command.actor,
                     "account.managed_by_sales" if command.managed else "account.self_service",
                     {"reason": reason}, clock.now())  # fmt: skip
        return changed
