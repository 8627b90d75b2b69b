"""The billing run: renew what is due, collect what is owed, and follow up what is not paid (rules C7, I1, I6, I8,
A8, D1).

Three stages, each restartable:
1. **Invoicing.** Every account with a subscription whose period ends by ``until`` is renewed in its own
   transaction, one billing date after the other: scheduled changes first, cancelled and one-month products end,
   one invoice per billing date, the credit balance used first. The subscriptions move to their next period in the
   same transaction as the invoice is written, so a run stopped half-way and started again bills nothing twice and
   skips nothing (and the database holds one renewal invoice per account and date). An account with an order being
   paid for waits for the next run; an account another run holds is left to it (``FOR UPDATE SKIP LOCKED``), so
   several runs share the work.
2. **Collection.** Open invoices are charged to the default payment method when an attempt is due: on the issue
   date, then 1, 3, 5 and 7 days later. A slow gateway holds no transaction and no lock.
3. **Dunning.** After the last failed attempt the account is overdue (purchases locked, rule I6); paying re-enables
   it at once; after 30 days overdue its subscriptions end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from prorata.domain.catalog import Catalog
from prorata.domain.dunning import cancels_at, next_attempt
from prorata.domain.engine import next_billing_date, renew
from prorata.domain.payments import ChargeResult
from prorata.services.ports import Clock, CollectibleInvoice, PaymentGateway, UnitOfWork

BATCH = 200


@dataclass(frozen=True, slots=True)
class RenewDue:
    until: datetime


@dataclass(slots=True)
class BillingRunReport:
    accounts: int = 0
    invoices: list[str] = field(default_factory=list)
    subscriptions_renewed: int = 0
    payments_succeeded: int = 0
    payments_failed: int = 0
    accounts_overdue: list[int] = field(default_factory=list)
    accounts_reenabled: list[int] = field(default_factory=list)
    accounts_cancelled: list[int] = field(default_factory=list)
    skipped_busy: list[int] = field(default_factory=list)
    left_to_another_run: list[int] = field(default_factory=list)


def renew_due(
    command: RenewDue,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    catalog: Catalog,
    progress: Callable[[int], None] | None = None,
) -> BillingRunReport:
    report = BillingRunReport()
    invoice_due(command.until, uow, clock, catalog, report, progress)
    collect_due(uow, clock, gateway, report)
    follow_up(uow, clock, report)
    return report


def invoice_due(
    until: datetime,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    catalog: Catalog,
    report: BillingRunReport,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Stage 1: renew and invoice every account due by ``until``."""
    last = 0
    while True:
        with uow() as tx:
            batch = tx.accounts_due(until, last, BATCH)
        if not batch:
            return
        for account_id in batch:
            last = account_id
            with uow() as tx:
                claimed = tx.claim_account(account_id)
                if claimed is None:  # another billing run is renewing it (rule I1: once)
                    report.left_to_another_run.append(account_id)
                    continue
                account = claimed
                if tx.has_pending_order(account_id):
                    report.skipped_busy.append(account_id)
                    continue
                report.accounts += 1
                while (due := next_billing_date(account)) is not None and due <= until:
                    renewal = renew(account, catalog, due)
                    number = tx.save_renewal(account_id, account, renewal, clock.now())
                    if number is not None:
                        report.invoices.append(number)
                    tx.audit(account_id, "billing run", "renewed", {"billing_date": due.isoformat(),
                             "invoice": number, "total": renewal.subtotal}, clock.now())  # fmt: skip
                    report.subscriptions_renewed += len({line.subscription for line in renewal.lines})
                    account = renewal.account
            if progress is not None:
                progress(1)


def collect_due(uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway, report: BillingRunReport) -> None:
    """Stage 2: charge the open invoices whose attempt is due."""
    with uow() as tx:
        owed = tx.collectible_invoices()
    for invoice in owed:
        now = clock.now()
        due = next_attempt(invoice.issued_at, invoice.failed_attempts)
        if due is None or due > now:
            continue
        _attempt(invoice, uow, clock, gateway, report)


def _attempt(
    invoice: CollectibleInvoice,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    report: BillingRunReport,
) -> None:
    now = clock.now()
    attempt = invoice.failed_attempts + 1
    key = f"invoice-{invoice.id}-attempt-{attempt}"
    with uow() as tx:
        # the account's lock and the attempt's own key: two runs never charge one attempt twice
        if tx.claim_account(invoice.account_id) is None or tx.payment_by_key(key) is not None:
            return
        method = tx.default_payment_method(invoice.account_id)
        if method is None:
            result: ChargeResult | None = ChargeResult(False, key, "no_payment_method")
            payment_id = None
        else:
            result = None
            payment_id = tx.insert_payment_intent(
                invoice.account_id, invoice.id, method, invoice.amount_due, invoice.currency, key, now
            )
    if result is None:
        assert method is not None
        result = gateway.charge(method.token, invoice.amount_due, invoice.currency, key)
    with uow() as tx:
        if payment_id is not None:
            tx.settle_payment(payment_id, result, clock.now())
        if result.succeeded:
            report.payments_succeeded += 1
            tx.mark_invoice_paid(invoice.id, clock.now())
            if tx.clear_overdue_if_paid(invoice.account_id):
                report.accounts_reenabled.append(invoice.account_id)
            return
        report.payments_failed += 1
        if payment_id is None:
            # no card to try: the attempt still counts, so that the account becomes overdue on schedule
            tx.record_failed_attempt(invoice, key, result, clock.now())
        tx.audit(invoice.account_id, "billing run", "payment.failed", {"invoice": invoice.id, "attempt": attempt,
                 "failure": result.failure_code}, clock.now())  # fmt: skip
        if next_attempt(invoice.issued_at, attempt) is None and tx.mark_overdue(invoice.account_id, clock.now()):
            report.accounts_overdue.append(invoice.account_id)
            tx.audit(invoice.account_id, "billing run", "account.overdue", {"invoice": invoice.id}, clock.now())


def follow_up(uow: Callable[[], UnitOfWork], clock: Clock, report: BillingRunReport) -> None:
    """Stage 3: end the subscriptions of accounts overdue for 30 days."""
    now = clock.now()
    with uow() as tx:
        overdue = tx.overdue_accounts()
    for account_id, since in overdue:
        if cancels_at(since) <= now:
            with uow() as tx:
                ended = tx.cancel_account(account_id, now)
                tx.audit(account_id, "billing run", "account.cancelled", {"subscriptions_ended": ended}, now)
            report.accounts_cancelled.append(account_id)
