"""Invoice terms (rule NT1): an operator switches an eligible account to pay by invoice with net terms, and back;
the billing run makes an account on terms overdue only once an invoice's due date has passed.

One use case for the console, the API and the CLI. Switching is a short transaction under the account's lock, so the
eligibility is judged on the subscriptions as they are; it changes what the next orders and renewals issue, never an
invoice issued already (its due date was printed on it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prorata.domain.catalog import Catalog
from prorata.domain.dunning import DunningPolicy
from prorata.domain.errors import InvalidInput
from prorata.domain.payment_terms import TermsThresholds, check_eligible, check_terms_days
from prorata.services import events, notifications
from prorata.services.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class SetPaymentTerms:
    account_id: int
    days: int | None  # None: back to paying by card
    actor: str


@dataclass(frozen=True, slots=True)
class TermsChange:
    before: int | None
    after: int | None


def set_payment_terms(
    command: SetPaymentTerms, *, uow: Callable[[], UnitOfWork], clock: Clock, catalog: Catalog,
    thresholds: TermsThresholds,
) -> TermsChange:  # fmt: skip
    """Rule NT1: on terms of ``days`` (Net 30 unless told) when the account's recurring charges reach the threshold
    of its currency; ``days=None`` puts it back on card payments (its open invoices on terms stay due as issued)."""
    days = None if command.days is None else check_terms_days(command.days)
    now = clock.now()
    with uow() as tx:
        if not tx.lock_account(command.account_id):
            raise InvalidInput("account.unknown", "account: not found", field="account")
        before = tx.terms_days(command.account_id)
        if days is not None:
            check_eligible(tx.load_account(command.account_id, lock=False), catalog, thresholds)
        if before == days:
            return TermsChange(before, days)
        tx.set_terms_days(command.account_id, days)
        action = "payment_terms.set" if days is not None else "payment_terms.ended"
        tx.audit(command.account_id, command.actor, action, {"from": before, "to": days}, now)
    return TermsChange(before, days)


def overdue_past_due_date(uow: Callable[[], UnitOfWork], clock: Clock, *, dunning: DunningPolicy) -> list[int]:
    """Rule NT1 with I6 and I8: an active account with an invoice on terms still owed after its due date is overdue
    from that date, with the usual event, audit line and e-mail; its cancellation counts from the due date. Read
    again under the account's lock, so an invoice paid meanwhile makes nobody overdue. The accounts made overdue."""
    now = clock.now()
    with uow() as tx:
        past = tx.terms_invoices_past_due(now)
    made: list[int] = []
    seen: set[int] = set()
    for invoice_id, account_id, due_at in past:
        if account_id in seen:
            continue  # its oldest invoice past due decides
        seen.add(account_id)
        with uow() as tx:
            tx.lock_account(account_id)
            owed = [i for i in tx.lock_invoices(account_id, [invoice_id]) if i.owed]
            if not owed or not tx.mark_overdue(account_id, due_at):
                continue
            events.account(tx, "account.overdue", account_id, now)
            tx.audit(account_id, "billing run", "account.overdue", {"invoice": invoice_id,
                     "due": due_at.isoformat()}, now)  # fmt: skip
            notifications.overdue(tx, account_id, invoice_id, now, dunning, since=due_at)
        made.append(account_id)
    return made
