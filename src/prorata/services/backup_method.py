"""The backup payment method (rule BM1): the customer names one of their saved methods the backup, has none, or swaps
it with the default (primary) method.

Each change is made under the account's lock, audited, and told to the vendor's product as ``payment_method.updated``
of every method whose role changed. Each is idempotent: asked again once done, it finds nothing to change (a swap
names the method that becomes the default, so a second one does not swap back). When the backup is charged is the
billing run's (``renew_due``, ``backup_charge``); the roles' own rules are the domain's (``domain/backup_method``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from prorata.domain.errors import InvalidInput
from prorata.services.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class SetBackupMethod:
    account_id: int
    payment_method_id: int | None  # None: the account has no backup method
    actor: str = "billing"


@dataclass(frozen=True, slots=True)
class SwapWithBackup:
    account_id: int
    payment_method_id: int  # the backup method now, which becomes the default; the default becomes the backup
    actor: str = "billing"


def set_backup_method(command: SetBackupMethod, *, uow: Callable[[], UnitOfWork], clock: Clock) -> bool:
    """Whether anything changed. A method that is not saved, or is the default, is refused (rule BM1)."""
    now = clock.now()
    with uow() as tx:
        _lock(tx, command.account_id)
        roles = tx.payment_roles(command.account_id)
        wanted = command.payment_method_id
        if wanted is None:
            if roles.backup is None:
                return False
            changed = [roles.backup]
            tx.audit(command.account_id, command.actor, "payment_method.backup_cleared",
                     {"payment_method": roles.backup}, now)  # fmt: skip
        else:
            if not roles.check_backup(wanted):
                return False
            changed = [wanted] + ([roles.backup] if roles.backup is not None else [])
            tx.audit(command.account_id, command.actor, "payment_method.backup_set", {"payment_method": wanted,
                     "replaced": roles.backup}, now)  # fmt: skip
        tx.set_backup_method(command.account_id, wanted)
        _updated(tx, command.account_id, changed, now)
    return True


def swap_with_backup(command: SwapWithBackup, *, uow: Callable[[], UnitOfWork], clock: Clock) -> bool:
    """Whether anything changed: the named method is the default already (this swap was made) changes nothing."""
    now = clock.now()
    with uow() as tx:
        _lock(tx, command.account_id)
        roles = tx.payment_roles(command.account_id)
        if not roles.check_swap(command.payment_method_id):
            return False
        tx.swap_with_backup(command.account_id, roles.primary, command.payment_method_id)
        tx.audit(command.account_id, command.actor, "payment_method.swapped",
                 {"default": command.payment_method_id, "backup": roles.primary}, now)  # fmt: skip
        changed = [command.payment_method_id] + ([roles.primary] if roles.primary is not None else [])
        _updated(tx, command.account_id, changed, now)
    return True


def _lock(tx: UnitOfWork, account_id: int) -> None:
    if not tx.lock_account(account_id):
        raise InvalidInput("account.unknown", "account: not found", field="account")


def _updated(tx: UnitOfWork, account_id: int, method_ids: Sequence[int], now: datetime) -> None:
    for method_id in method_ids:
        tx.record_event("payment_method.updated", account_id, "payment_method", method_id, now)
