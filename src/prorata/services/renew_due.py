"""The billing run: renew what is due, collect what is owed, and follow up what is not paid (rules C7, I1, I6, I8,
A8, D1).

Three stages, each restartable:
1. **Invoicing.** Every account with a subscription whose period ends by ``until`` is renewed one billing date
   after the other: scheduled changes first, cancelled and one-month products end, one invoice per billing date,
   the credit balance used first. Accounts are claimed, renewed and written a batch per transaction (a few
   statements per batch, not per account). The subscriptions move to their next period in the same transaction as
   the invoices are written, so a run stopped half-way and started again bills nothing twice and skips nothing (and
   the database holds one renewal invoice per account and date). An account with an order being paid for waits for
   the next run; an account another run holds is left to it (``FOR UPDATE SKIP LOCKED``), so several runs share
   the work. The assignments of what ended, or beyond the licenses a subscription renewed with, end in the
   renewal's transaction (``release_licenses``).
2. **Collection.** Open invoices are charged to the default payment method when an attempt is due: on the issue
   date, then 1, 3, 5 and 7 days later, several at a time. A slow gateway holds no transaction and no lock.
3. **Dunning.** After the last failed attempt the account is overdue (purchases locked, rule I6); paying re-enables
   it at once; after 30 days overdue its subscriptions end, with every assignment: its users are Basic again.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from prorata.domain.account import Account
from prorata.domain.catalog import Catalog
from prorata.domain.dunning import cancels_at, next_attempt
from prorata.domain.engine import next_billing_date, renew
from prorata.domain.errors import ProrataError
from prorata.domain.invoice_lines import Quote
from prorata.domain.payments import ChargeResult
from prorata.domain.tax import NO_TAX, TaxDecision, TaxRules
from prorata.services import notifications, release_licenses
from prorata.services.ports import Clock, CollectibleInvoice, PaymentGateway, Renewed, UnitOfWork
from prorata.services.settlement import begin_payment, settle
from prorata.services.taxation import tax_decisions


@dataclass(frozen=True, slots=True)
class RenewDue:
    until: datetime
    batch_size: int = 500  # accounts renewed in one transaction
    collectors: int = 1  # payments collected at the same time (each in its own transaction)


@dataclass(frozen=True, slots=True)
class RefusedAccount:
    """An account the billing run did not renew, and why: the engine's refusal (a product the catalog no longer
    prices, say). The account is left as it was; the operator fixes the cause and runs the billing again."""

    account_id: int
    code: str
    message: str
    rule: str | None = None


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
    refused: list[RefusedAccount] = field(default_factory=list)  # the engine refused to renew them

    @property
    def complete(self) -> bool:
        """Whether the run did everything due: false while an account is left not renewed for a reason the
        operator must look at. Every such list of the report belongs here (busy accounts and accounts another run
        holds are not: a later or the other run renews them)."""
        return not self.refused


Progress = Callable[[int, int], None]  # (accounts done, accounts due when the run began)


def renew_due(
    command: RenewDue,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    catalog: Catalog,
    progress: Progress | None = None,
    tax: TaxRules | None = None,
) -> BillingRunReport:
    report = BillingRunReport()
    invoice_due(command.until, uow, clock, catalog, report, progress, batch_size=command.batch_size, tax=tax)
    collect_due(uow, clock, gateway, report, workers=command.collectors)
    follow_up(uow, clock, report)
    return report


def invoice_due(
    until: datetime,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    catalog: Catalog,
    report: BillingRunReport,
    progress: Progress | None = None,
    *,
    batch_size: int = 500,
    tax: TaxRules | None = None,
) -> None:
    """Stage 1: renew and invoice every account due by ``until``, a batch of accounts per transaction.

    The engine decides each account's renewals in memory; the batch is then written in a few statements. A batch
    is all or nothing, so a run stopped anywhere leaves whole accounts renewed or not renewed. An account the engine
    refuses (a product no longer priced, say) is reported and left as it was; the others go on."""
    with uow() as tx:
        total = tx.count_accounts_due(until)
    done = 0
    last = 0
    while True:
        with uow() as tx:
            batch = tx.claim_due_accounts(until, last, batch_size)
            if not batch.last_id:
                return
            last = batch.last_id
            report.left_to_another_run.extend(batch.taken)  # rule I1: that run renews them, once
            report.skipped_busy.extend(batch.busy)
            work: list[Renewed] = []
            rates = tax_decisions(tx, list(batch.accounts), tax) if batch.accounts else {}  # rule T1
            for account_id, before in batch.accounts.items():
                try:
                    renewals = _renewals(before, catalog, until, rates.get(account_id, NO_TAX))
                except ProrataError as error:
                    report.refused.append(RefusedAccount(account_id, error.code, error.message, error.rule))
                    tx.audit(account_id, "billing run", "renewal.refused", error.to_dict(), clock.now())
                    continue
                work.append(Renewed(account_id, before, renewals))
            numbers = tx.save_renewals(work, clock.now())
            release_licenses.after_renewals(tx, work, catalog, clock.now())  # rules D1, A8, L4: in the same commit
        report.accounts += len(work)
        for renewed, taken in zip(work, numbers, strict=True):
            report.invoices.extend(number for number in taken if number is not None)
            report.subscriptions_renewed += sum(len({line.subscription for line in q.lines}) for q in renewed.renewals)
        done += len(batch.accounts) + len(batch.busy) + len(batch.taken)
        if progress is not None:
            progress(min(done, total), total)


def _renewals(account: Account, catalog: Catalog, until: datetime, tax: TaxDecision) -> tuple[Quote, ...]:
    """Every renewal of the account due by ``until``, one billing date after the other (a late run catches up)."""
    renewals: list[Quote] = []
    while (due := next_billing_date(account)) is not None and due <= until:
        renewal = renew(account, catalog, due, tax=tax)
        renewals.append(renewal)
        account = renewal.account
    return tuple(renewals)


@dataclass(frozen=True, slots=True)
class _Outcome:
    succeeded: bool = False
    failed: bool = False
    overdue: bool = False
    reenabled: bool = False


def collect_due(
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    report: BillingRunReport,
    *,
    workers: int = 1,
) -> None:
    """Stage 2: charge the open invoices whose attempt is due, ``workers`` at a time. Each attempt runs in its own
    transactions around the gateway call, so a slow gateway holds neither a lock nor the invoicing stage."""
    now = clock.now()
    with uow() as tx:
        owed = [
            invoice
            for invoice in tx.collectible_invoices()
            if (due := next_attempt(invoice.issued_at, invoice.failed_attempts)) is not None and due <= now
        ]

    def attempt(invoice: CollectibleInvoice) -> tuple[CollectibleInvoice, _Outcome]:
        return invoice, _attempt(invoice, uow, clock, gateway)

    if workers > 1 and len(owed) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collect") as pool:
            outcomes = list(pool.map(attempt, owed))
    else:
        outcomes = [attempt(invoice) for invoice in owed]
    for invoice, outcome in outcomes:
        report.payments_succeeded += outcome.succeeded
        report.payments_failed += outcome.failed
        if outcome.overdue:
            report.accounts_overdue.append(invoice.account_id)
        if outcome.reenabled:
            report.accounts_reenabled.append(invoice.account_id)


def _attempt(
    invoice: CollectibleInvoice, uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway
) -> _Outcome:
    now = clock.now()
    attempt = invoice.failed_attempts + 1
    key = f"invoice-{invoice.id}-attempt-{attempt}"
    with uow() as tx:
        # the account's lock, then the invoice's: the same order as a customer paying it (rule X3)
        if not tx.lock_account(invoice.account_id, wait=False) or tx.payment_by_key(key) is not None:
            return _Outcome()
        locked = tx.lock_invoices(invoice.account_id, (invoice.id,))
        if not locked or not locked[0].owed or locked[0].in_flight:
            return _Outcome()  # paid, voided or being paid since the run listed it
        current = locked[0]
        method = tx.default_payment_method(invoice.account_id)
        if method is None:
            result: ChargeResult | None = ChargeResult(False, key, "no_payment_method")
            payment_id = None
        else:
            result = None
            payment_id = begin_payment(tx, current, method, key, now)
    if result is None:
        assert method is not None
        result = gateway.charge(method.token, current.amount_due, current.currency, key)
    with uow() as tx:
        if payment_id is not None:
            settled = settle(tx, invoice.account_id, invoice.id, payment_id, result, clock.now(), actor="billing run")
            if settled.already:
                return _Outcome()
            if result.succeeded:
                return _Outcome(succeeded=True, reenabled=settled.reenabled)
        else:
            # no card to try: the attempt still counts, so that the account becomes overdue on schedule
            tx.record_failed_attempt(invoice, key, result, clock.now())
        tx.audit(invoice.account_id, "billing run", "payment.failed", {"invoice": invoice.id, "attempt": attempt,
                 "failure": result.failure_code}, clock.now())  # fmt: skip
        retry = next_attempt(invoice.issued_at, attempt)
        notifications.payment_failed(tx, invoice.account_id, invoice.id, attempt, retry, clock.now())
        overdue = retry is None and tx.mark_overdue(invoice.account_id, clock.now())
        if overdue:
            tx.audit(invoice.account_id, "billing run", "account.overdue", {"invoice": invoice.id}, clock.now())
            notifications.overdue(tx, invoice.account_id, invoice.id, clock.now())
        return _Outcome(failed=True, overdue=overdue)


def follow_up(uow: Callable[[], UnitOfWork], clock: Clock, report: BillingRunReport) -> None:
    """Stage 3: end the subscriptions of accounts overdue for 30 days."""
    now = clock.now()
    with uow() as tx:
        overdue = tx.overdue_accounts()
    for account_id, since in overdue:
        if cancels_at(since) <= now:
            with uow() as tx:
                release_licenses.with_account(tx, account_id, now)  # their users are Basic again
                ended = tx.cancel_account(account_id, now)
                tx.audit(account_id, "billing run", "account.cancelled", {"subscriptions_ended": ended}, now)
                notifications.cancelled(tx, account_id, now)
            report.accounts_cancelled.append(account_id)
