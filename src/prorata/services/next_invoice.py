"""The next invoice of an account: what the renewal on the next billing date will invoice (rules C7, C6, I1, L3, P5,
D1), written nowhere.

It is the billing run's own computation (``renew_due._renewals``: ``engine.renew`` on ``next_billing_date`` with the
account's tax decision) run on the account as it stands, so the date, the lines, the tax, the credit balance it uses
and the amount charged are exactly those of the invoice the run will issue, as long as nothing changes the account
before then. The changes waiting for that date (reductions, downgrades, cancellations) are listed with it: the
renewal applies them first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from prorata.domain.account import Account
from prorata.domain.catalog import Catalog
from prorata.domain.engine import next_billing_date, renew
from prorata.domain.invoice_lines import Quote, ScheduledChange
from prorata.domain.tax import TaxDecision, TaxRules
from prorata.services.ports import UnitOfWork
from prorata.services.taxation import tax_decision


@dataclass(frozen=True, slots=True)
class NextInvoice:
    billing_date: datetime
    renewal: Quote  # its lines and figures: subtotal, tax, total, credit used, amount due
    changes: tuple[ScheduledChange, ...]  # what takes effect on that date, before the renewal prices it


def next_invoice(
    account_id: int, *, uow: Callable[[], UnitOfWork], catalog: Catalog, tax: TaxRules | None = None
) -> NextInvoice | None:
    """The renewal due next, or None when the account holds nothing that renews or ends."""
    with uow() as tx:
        account = tx.load_account(account_id, lock=False)
        rate = tax_decision(tx, account_id, tax)  # taxed as the billing run taxes it (rule T1)
    return next_invoice_of(account, catalog, rate)


def next_invoice_of(account: Account, catalog: Catalog, rate: TaxDecision) -> NextInvoice | None:
    """``next_invoice`` of an account its caller has read already, with its tax decision (``tax_decision``)."""
    due = next_billing_date(account)
    if due is None:
        return None
    changes = tuple(
        ScheduledChange(sub.id, sub.product, "scheduled", pending)
        for sub in account.subscriptions
        if sub.period.end == due
        for pending in sub.pending
        if pending.effective <= due
    )
    return NextInvoice(due, renew(account, catalog, due, tax=rate), changes)
