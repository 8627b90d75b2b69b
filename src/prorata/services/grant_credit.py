"""An operator adds credit to an account's balance by hand, with a reason (a goodwill gesture, a settled dispute).

The credit goes into the credit ledger in the account's currency, as every credit does, and the next invoice uses it
before anything is charged (rule K8). It is money the business gives away, so it is given exactly once: the request
carries an idempotency key of the account's, kept with the ledger entry and unique per account, and the same key sent
again (a double click, a retried request, two at once: the account's lock puts them in a row) adds nothing more and
answers as the first did. The reason is required, and kept with the entry and in the audit log with the operator's
name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.money import check_minor
from prorata.services.ports import Clock, CreditGrant, UnitOfWork

LARGEST = 10**12  # minor units one grant may add: a typing slip of a few digits is refused, not booked
REASON_LENGTH = 500


@dataclass(frozen=True, slots=True)
class GrantCredit:
    account_id: int
    amount: int  # minor units of the account's currency, more than zero
    reason: str
    idempotency_key: str
    actor: str


@dataclass(frozen=True, slots=True)
class GrantResult:
    grant: CreditGrant
    replayed: bool  # the key was used before: nothing was added now
    balance: int  # the account's balance after the grant


def check_grant(command: GrantCredit) -> str:
    """The reason, trimmed, once every field is checked (each refusal names its field)."""
    check_minor(command.amount, field="amount")
    if not 0 < command.amount <= LARGEST:
        raise InvalidInput("credit_grant.amount", f"amount: more than 0 and at most {LARGEST} minor units",
                           field="amount", maximum=LARGEST)  # fmt: skip
    reason = command.reason.strip()
    if not reason or len(reason) > REASON_LENGTH:
        raise InvalidInput("credit_grant.reason", f"reason: why the credit is added, 1 to {REASON_LENGTH} characters",
                           field="reason", maximum=REASON_LENGTH)  # fmt: skip
    key = command.idempotency_key
    if not 1 <= len(key) <= 100 or any(not 0x21 <= ord(c) <= 0x7E for c in key):
        raise InvalidInput("credit_grant.key", "idempotency_key: 1 to 100 printable ASCII characters, no spaces",
                           field="idempotency_key")  # fmt: skip
    return reason


def grant_credit(command: GrantCredit, *, uow: Callable[[], UnitOfWork], clock: Clock) -> GrantResult:
    reason = check_grant(command)
    with uow() as tx:
        if not tx.lock_account(command.account_id):
            raise InvalidInput("account.unknown", "account: there is no such account", field="account")
        earlier = tx.credit_grant(command.account_id, command.idempotency_key)
        if earlier is not None:
            if earlier.amount != command.amount or earlier.reason != reason:
                raise RuleViolation("credit_grant.key_reused",
                                    "idempotency_key: already used for another grant; send a new key",
                                    field="idempotency_key")  # fmt: skip
            return GrantResult(earlier, True, tx.credit_balance(command.account_id))
        now = clock.now()
        grant = tx.insert_credit_grant(command.account_id, command.amount, reason, command.idempotency_key, now)
        tx.audit(command.account_id, command.actor, "credit.granted",
                 {"amount": grant.amount, "currency": grant.currency, "reason": reason,
                  "key": command.idempotency_key}, now)  # fmt: skip
        return GrantResult(grant, False, tx.credit_balance(command.account_id))
