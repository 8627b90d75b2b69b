"""Tax exemption certificates (rule TE1): a US customer sends one, an operator accepts or rejects it, and a change
of the Sold-To country clears it.

Each is a short transaction under the account's lock, so a certificate decided while a new one arrives, or while
the Sold-To country changes, is decided on what is current: an operator's decision names the certificate it read,
and one that was replaced meanwhile is refused rather than applied to the new one. The tax of what was invoiced
before a decision is not changed: an accepted certificate takes effect from the next quote, order and renewal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.exemptions import PENDING, certificate, check_decision, check_eligible
from prorata.services.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class SendCertificate:
    account_id: int
    filename: str
    content: bytes
    actor: str


@dataclass(frozen=True, slots=True)
class DecideExemption:
    account_id: int
    exemption_id: int  # the certificate the operator read: a newer one is not decided by this
    accept: bool
    reason: str
    actor: str


def send_certificate(command: SendCertificate, *, uow: Callable[[], UnitOfWork], clock: Clock) -> int:
    """The account is "Exemption pending" with this certificate, whatever it was before."""
    sent = certificate(command.filename, command.content)
    now = clock.now()
    with uow() as tx:
        if not tx.lock_account(command.account_id):
            raise InvalidInput("account.unknown", "account: not found", field="account")
        buyer = tx.tax_buyers([command.account_id])[command.account_id]
        check_eligible(buyer.country)
        made = tx.add_exemption(command.account_id, buyer.country.upper(), sent, command.actor, now)
        tx.audit(command.account_id, command.actor, "tax_exemption.sent",
                 {"exemption": made, "file": sent.filename, "size": len(sent.content)}, now)  # fmt: skip
    return made


def decide_exemption(command: DecideExemption, *, uow: Callable[[], UnitOfWork], clock: Clock) -> None:
    """Accepted: the account pays no tax from now on (rule TE1). Rejected: it pays tax as before, and is told why."""
    reason = check_decision(command.accept, command.reason)
    now = clock.now()
    with uow() as tx:
        if not tx.lock_account(command.account_id):
            raise InvalidInput("account.unknown", "account: not found", field="account")
        current = tx.current_exemption(command.account_id)
        if current is None or current.id != command.exemption_id or current.status != PENDING:
            raise RuleViolation(
                "tax_exemption.not_pending",
                "exemption: this certificate is not waiting for a decision (it was decided, replaced or cleared)",
                rule="TE1",
                field="exemption",
            )
        tx.decide_exemption(current.id, command.account_id, command.accept, reason or None, command.actor, now)
        action = "tax_exemption.accepted" if command.accept else "tax_exemption.rejected"
        tx.audit(command.account_id, command.actor, action, {"exemption": current.id, "reason": reason}, now)


def clear_on_country_change(tx: UnitOfWork, account_id: int, old_country: str, new_country: str, actor: str,
                            clock: Clock) -> bool:  # fmt: skip
    """Rule TE1: a certificate is for one country; a new Sold-To country clears it, pending or accepted. Called in
    the transaction that changes the contact, under the account's lock."""
    if old_country.upper() == new_country.upper():
        return False
    now = clock.now()
    cleared = tx.clear_exemption(account_id, now)
    if cleared:
        tx.audit(account_id, actor, "tax_exemption.cleared", {"from": old_country, "to": new_country}, now)
    return cleared
