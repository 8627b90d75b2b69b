"""The billing run: renew what is due, collect what is owed, and follow up what is not paid (rules C7, I1, I6, I8,
A8, D1).

Three stages, each restartable:
1. **Invoicing.** Every account with a subscription whose period ends by ``until`` is renewed one billing date
   after the other: scheduled changes first, cancelled and one-month products end, one invoice per billing date,
   the credit balance used first. Accounts are claimed, renewed and written a batch per transaction (a few
   statements per batch, not per account). The subscriptions move to their next period in the same transaction as
   the invoices are written, so a run stopped half-way and started again bills nothing twice and skips nothing (and
   the database holds one renewal invoice per account and date). An account another billing run holds is left to
   that run, so several runs share the work. An account something else holds (an order, a payment, an operator's
   session) or with an order being paid for is not skipped: the run comes back to it, waiting at most ``wait``
   seconds in all, and lists what it still could not renew (the run is then not complete). The assignments of what
   ended, or beyond the licenses a subscription renewed with, end in the renewal's transaction
   (``release_licenses``).
2. **Collection.** Open invoices are charged to the default payment method when an attempt is due: on the issue
   date, then on each retry day of the installation's ``DunningPolicy`` (rule I8), a batch at a time, many gateway
   calls in flight at once. A charge the gateway declines goes on, in the same attempt, to the account's backup
   method if it has one (rule BM1, ``backup_charge.py``). A slow gateway holds no transaction and no lock, and is
   waited for side by side. An
   invoice whose account another transaction holds, or with another payment of it in flight, is tried again within
   the same bounded wait, and listed if it still could not be attempted: the dunning schedule never slips silently.
3. **Dunning.** After the last failed attempt the account is overdue (purchases locked, rule I6); paying re-enables
   it at once; once overdue for the policy's days its subscriptions end, with every assignment: its users are Basic
   again.
4. **Trial reminders.** The owner of a free trial that ends within 3 days is e-mailed once (rule TR1,
   ``trials.py``); the trial itself converts in stage 1, as the first period of its plan.

The invoicing stage's renewal of one account is also made when a customer touches an account whose period has
ended before the run came (``renew_account.py``), by the same code (``renew_claimed``).
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import overload

from prorata.domain.account import Account
from prorata.domain.backup_method import backup_key, falls_back
from prorata.domain.catalog import Catalog
from prorata.domain.dunning import DunningPolicy
from prorata.domain.engine import next_billing_date, renew
from prorata.domain.errors import ProrataError, RuleViolation
from prorata.domain.invoice_lines import Quote
from prorata.domain.payments import ChargeResult, GatewayUnavailable
from prorata.domain.tax import NO_TAX, TaxDecision, TaxRules
from prorata.services import events, notifications, payment_terms, release_licenses, trials
from prorata.services.backup_charge import Declined, begin_backup, begin_backups
from prorata.services.ports import (
    Clock,
    CollectibleInvoice,
    Intent,
    PaymentGateway,
    PendingPayment,
    Renewed,
    UnitOfWork,
)
from prorata.services.settlement import begin_payment, settle
from prorata.services.taxation import tax_decisions

WAIT = 30.0  # seconds each stage of a run waits, in all, for accounts and invoices other transactions hold
WAIT_LIMIT = 600.0  # the longest wait an operator may ask for
STEP = 1.0  # the longest a run waits for one lock before it looks at the others it waits for
POLL = 0.2  # the pause between two rounds over the accounts and invoices still waited for
BATCH = 100  # invoices collection claims, and settles, in one transaction
GATEWAY_CALLS = 128  # gateway calls a collection has in flight at once (a slow gateway answers them side by side)


@dataclass(frozen=True, slots=True)
class RenewDue:
    until: datetime
    batch_size: int = 500  # accounts renewed in one transaction
    collectors: int = 1  # batches of payments collected at the same time (each batch in its own transactions)
    wait: float = WAIT  # seconds each stage waits, in all, for what other transactions hold


@dataclass(frozen=True, slots=True)
class RefusedAccount:
    """An account the billing run did not renew, and why: the engine's refusal (a product the catalog no longer
    prices, say), or another transaction that held it past the run's wait. The account is left as it was; the
    operator fixes the cause and runs the billing again."""

    account_id: int
    code: str
    message: str
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class UnattemptedInvoice:
    """An invoice whose payment attempt was due and that the run could not attempt, and why."""

    invoice_id: int
    account_id: int
    code: str
    message: str
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class FailedPayment:
    """A payment attempt the gateway refused (rules I6, I8: retried on its schedule, then the account is overdue)."""

    invoice_id: int
    account_id: int
    code: str  # the gateway's failure code: card_declined, insufficient_funds ...


_SERIAL = re.compile(r"(.*?)(\d+)")


class InvoiceNumbers(Sequence[str]):
    """The numbers of the invoices a run issued, in order, kept as runs of consecutive numbers: a batch takes its
    numbers in one block, so a run of a million invoices holds a few thousand runs instead of a million strings
    (its memory stays bounded by the batches, not by the accounts billed). Compares equal to a list of the same
    numbers."""

    __slots__ = ("_length", "_runs")

    def __init__(self, numbers: Iterable[str] = ()) -> None:
        self._runs: list[tuple[str, int, int, int]] = []  # (prefix, digits, first serial, how many)
        self._length = 0
        self.extend(numbers)

    def append(self, number: str) -> None:
        found = _SERIAL.fullmatch(number)
        if found is None:
            self._runs.append((number, 0, 0, 1))
        else:
            prefix, digits = found.group(1), found.group(2)
            serial = int(digits)
            last = self._runs[-1] if self._runs else None
            if (last is not None and last[1] and last[0] == prefix and last[2] + last[3] == serial
                    and len(digits) == last[1]):  # fmt: skip
                self._runs[-1] = (prefix, last[1], last[2], last[3] + 1)
            else:
                self._runs.append((prefix, len(digits), serial, 1))
        self._length += 1

    def extend(self, numbers: Iterable[str]) -> None:
        for number in numbers:
            self.append(number)

    def __iadd__(self, numbers: Iterable[str]) -> InvoiceNumbers:
        self.extend(numbers)
        return self

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[str]:
        for prefix, digits, first, count in self._runs:
            if not digits:
                yield prefix
                continue
            for serial in range(first, first + count):
                yield f"{prefix}{serial:0{digits}d}"

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return list(self)[index]
        position = index + self._length if index < 0 else index
        if not 0 <= position < self._length:
            raise IndexError("invoice number index out of range")
        for prefix, digits, first, count in self._runs:
            if position < count:
                return f"{prefix}{first + position:0{digits}d}" if digits else prefix
            position -= count
        raise IndexError("invoice number index out of range")  # pragma: no cover

    def __eq__(self, other: object) -> bool:
        if isinstance(other, InvoiceNumbers | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"InvoiceNumbers({list(self)!r})"


@dataclass(slots=True)
class BillingRunReport:
    accounts: int = 0
    invoices: InvoiceNumbers = field(default_factory=InvoiceNumbers)
    subscriptions_renewed: int = 0
    payments_succeeded: int = 0
    payments_failed: int = 0
    payments_waiting: int = 0  # charges the customer is asked to confirm (3-D Secure): the schedule waits for them
    accounts_overdue: list[int] = field(default_factory=list)
    accounts_reenabled: list[int] = field(default_factory=list)
    accounts_cancelled: list[int] = field(default_factory=list)
    busy: list[int] = field(default_factory=list)  # held by another transaction or with an order being paid: waited for
    left_to_another_run: list[int] = field(default_factory=list)
    refused: list[RefusedAccount] = field(default_factory=list)  # the engine refused to renew them
    not_renewed: list[RefusedAccount] = field(default_factory=list)  # still held or busy when the wait was over
    not_attempted: list[UnattemptedInvoice] = field(default_factory=list)  # collection could not try them
    failed: list[FailedPayment] = field(default_factory=list)  # the attempts the gateway refused, with its reason
    trials_reminded: list[int] = field(default_factory=list)  # rule TR1: accounts told their trial ends soon

    @property
    def complete(self) -> bool:
        """Whether the run did everything due: false while an account is left not renewed, or an invoice not
        attempted, for a reason the operator must look at. Every such list of the report belongs here (accounts
        another run holds are not: that run renews them)."""
        return not (self.refused or self.not_renewed or self.not_attempted)


Progress = Callable[[int, int], None]  # (accounts done, accounts due when the run began)


def renew_due(
    command: RenewDue,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    catalog: Catalog,
    dunning: DunningPolicy,
    progress: Progress | None = None,
    tax: TaxRules | None = None,
) -> BillingRunReport:
    report = BillingRunReport()
    invoice_due(command.until, uow, clock, catalog, report, progress, batch_size=command.batch_size, tax=tax,
                wait=command.wait)  # fmt: skip
    collect_due(uow, clock, gateway, report, dunning=dunning, workers=command.collectors, wait=command.wait)
    follow_up(uow, clock, report, dunning=dunning)
    report.trials_reminded = trials.remind_ending(uow, clock, catalog)  # rule TR1
    return report


def check_wait(wait: float) -> float:
    """Rule X4: a wait is a number of seconds from 0 to ``WAIT_LIMIT``."""
    if not 0 <= wait <= WAIT_LIMIT:
        raise RuleViolation(
            "billing_run.wait", f"wait: seconds from 0 to {WAIT_LIMIT:g}, not {wait:g}", rule="X4", field="wait"
        )
    return wait


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _pause(deadline: float) -> None:
    time.sleep(min(POLL, _left(deadline)))


@dataclass(slots=True)
class Written:
    """What one transaction of renewals wrote, counted into the report once it is committed."""

    renewed: list[tuple[Renewed, tuple[str | None, ...]]] = field(default_factory=list)
    refused: list[RefusedAccount] = field(default_factory=list)

    def count(self, report: BillingRunReport) -> None:
        report.refused.extend(self.refused)
        report.accounts += len(self.renewed)
        for renewed, numbers in self.renewed:
            report.invoices.extend(number for number in numbers if number is not None)
            report.subscriptions_renewed += sum(len({line.subscription for line in q.lines}) for q in renewed.renewals)


def renew_claimed(
    tx: UnitOfWork,
    claimed: Mapping[int, Account],
    until: datetime,
    catalog: Catalog,
    clock: Clock,
    tax: TaxRules | None,
    *,
    actor: str = "billing run",
    audit_refusals: bool = True,
) -> Written:
    """Renew the accounts this transaction claimed, each up to ``until``, and write them: the one code path of the
    billing run and of the renewal on access. An account the engine refuses is left as it was; one renewed since it
    was found due (by a customer's request or another run) has nothing left to renew and is not counted."""
    written = Written()
    rates = tax_decisions(tx, list(claimed), tax) if claimed else {}  # rule T1
    work: list[Renewed] = []
    for account_id, before in claimed.items():
        try:
            renewals = _renewals(before, catalog, until, rates.get(account_id, NO_TAX))
        except ProrataError as error:
            written.refused.append(RefusedAccount(account_id, error.code, error.message, error.rule))
            if audit_refusals:
                tx.audit(account_id, actor, "renewal.refused", error.to_dict(), clock.now())
            continue
        if renewals:
            work.append(Renewed(account_id, before, renewals))
    numbers = tx.save_renewals(work, clock.now(), actor=actor)
    events.renewals(tx, work, numbers, clock.now())
    release_licenses.after_renewals(tx, work, catalog, clock.now())  # rules D1, A8, L4: in the same commit
    written.renewed = list(zip(work, numbers, strict=True))
    return written


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
    wait: float = WAIT,
) -> None:
    """Stage 1: renew and invoice every account due by ``until``, a batch of accounts per transaction.

    The engine decides each account's renewals in memory; the batch is then written in a few statements. A batch
    is all or nothing, so a run stopped anywhere leaves whole accounts renewed or not renewed. An account the engine
    refuses (a product no longer priced, say) is reported and left as it was; the others go on. Accounts held by
    another transaction or busy with an order are come back to once the batches are done."""
    with uow() as tx:
        total = tx.count_accounts_due(until)
    done = 0
    last = 0
    later: dict[int, str] = {}  # account -> why it could not be claimed: held or busy
    while True:
        with collector_paused(), uow() as tx:
            batch = tx.claim_due_accounts(until, last, batch_size)
            if not batch.last_id:
                break
            last = batch.last_id
            written = renew_claimed(tx, batch.accounts, until, catalog, clock, tax)
        report.left_to_another_run.extend(batch.taken)  # rule I1: that run renews them, once
        later.update(dict.fromkeys(batch.held, "held"))
        later.update(dict.fromkeys(batch.busy, "busy"))
        written.count(report)
        done += len(batch.accounts) + len(batch.busy) + len(batch.taken) + len(batch.held)
        if progress is not None:
            progress(min(done, total), total)
    report.busy.extend(sorted(later))
    _come_back(later, until, uow, clock, catalog, report, tax, wait)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while one batch is renewed and written, one collection of the young objects
    after it. A batch makes tens of thousands of short-lived, acyclic objects (accounts, quotes, rows, event
    bodies); counted by the collector, they set off a full collection of everything the process holds every few
    batches, a fifth of the run's CPU. Reference counting frees them as before; a cycle one leaves is collected
    when the batch ends, so memory stays bounded by the batch. The collector is the process's: in a web process
    that runs a billing run (the operator API), other threads' cycles also wait for the batch's end, a second or
    so; a run that finds it paused by another leaves it to that one."""
    if not gc.isenabled():  # paused already (or turned off by whoever runs us): leave it as it is
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def _come_back(
    later: dict[int, str],
    until: datetime,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    catalog: Catalog,
    report: BillingRunReport,
    tax: TaxRules | None,
    wait: float,
) -> None:
    """A run finishes its day: the accounts it could not claim are claimed one at a time, round after round, each
    lock waited for a moment, until all are renewed or ``wait`` seconds have passed; what is left is listed."""
    deadline = time.monotonic() + wait
    while later:
        for account_id in sorted(later):
            written = None
            with uow() as tx:
                claim = tx.claim_account(account_id, until, wait=min(STEP, _left(deadline)), billing_run=True)
                if claim.state == "claimed":
                    assert claim.account is not None
                    written = renew_claimed(tx, {account_id: claim.account}, until, catalog, clock, tax)
            if written is not None:
                written.count(report)
            if claim.state == "taken":
                report.left_to_another_run.append(account_id)  # a run that came since holds it, and renews it
            if claim.state in ("claimed", "taken", "not_due"):
                del later[account_id]
            else:
                later[account_id] = claim.state
        if not later or not _left(deadline):
            break
        _pause(deadline)
    for account_id, state in sorted(later.items()):
        report.not_renewed.append(_not_renewed(account_id, state, wait))


def _not_renewed(account_id: int, state: str, wait: float) -> RefusedAccount:
    if state == "busy":
        return RefusedAccount(
            account_id,
            "billing_run.order_in_progress",
            f"an order of the account was still being paid for after {wait:g} s; bill again once it is settled "
            "(`prorata reconcile` completes an order a crash left pending)",
            "C7",
        )
    return RefusedAccount(
        account_id,
        "billing_run.account_locked",
        f"another transaction held the account for more than {wait:g} s; bill again",
        "C7",
    )


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
    waiting: bool = False  # the bank asks the customer to confirm the charge (3-D Secure); they were e-mailed
    overdue: bool = False
    reenabled: bool = False
    later: str | None = None  # not attempted yet: "held" (the account's lock) or "in_flight" (another payment)
    failure: str | None = None  # why the gateway refused it, when it failed
    backup: _Claimed | None = None  # rule BM1: the primary was declined; the backup's charge is written, to be made


def collect_due(
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    report: BillingRunReport,
    *,
    dunning: DunningPolicy,
    workers: int = 1,
    wait: float = WAIT,
    batch_size: int = BATCH,
    gateway_calls: int = GATEWAY_CALLS,
) -> None:
    """Stage 2: charge the open invoices whose attempt is due by ``dunning`` (rule I8), a batch at a time, ``workers``
    batches at once.

    A batch is claimed in one short transaction (the accounts nobody holds are locked, the intents written in one
    statement), charged at the gateway with up to ``gateway_calls`` calls in flight over all batches, outside any
    transaction, and settled in one more short transaction: a slow gateway holds no lock and no connection, and
    its answers are waited for side by side, not one after the other. What a batch does not cover (an account
    another transaction holds, a payment of the invoice in flight or waiting for the customer, no payment method)
    is attempted alone, as before. An invoice that could not be attempted is tried again, round after round, for
    at most ``wait`` seconds in all, then listed."""
    now = clock.now()
    with uow() as tx:
        listed = tx.collectible_invoices()
    dues = {i.id: dunning.collection_due(i.issued_at, i.failed_attempts, i.waiting_since) for i in listed}
    owed = [invoice for invoice in listed if (due := dues[invoice.id]) is not None and due <= now]
    deadline = time.monotonic() + wait

    def attempt(invoice: CollectibleInvoice) -> tuple[CollectibleInvoice, _Outcome]:
        return invoice, _attempt(invoice, uow, clock, gateway, min(STEP, _left(deadline)), dunning)

    outcomes: list[tuple[CollectibleInvoice, _Outcome]] = []
    if owed:
        batches = [owed[i : i + max(1, batch_size)] for i in range(0, len(owed), max(1, batch_size))]
        with ThreadPoolExecutor(
            max_workers=max(1, min(gateway_calls, len(owed))), thread_name_prefix="gateway"
        ) as calls:

            def collect(batch: list[CollectibleInvoice]) -> list[tuple[CollectibleInvoice, _Outcome]]:
                return _collect_batch(batch, uow, clock, gateway, calls, attempt, dunning)

            if workers > 1 and len(batches) > 1:
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collect") as pool:
                    outcomes = [pair for part in pool.map(collect, batches) for pair in part]
            else:
                outcomes = [pair for batch in batches for pair in collect(batch)]
    while True:
        later: list[tuple[CollectibleInvoice, _Outcome]] = []
        for invoice, outcome in outcomes:
            if outcome.later is not None:
                later.append((invoice, outcome))
                continue
            report.payments_succeeded += outcome.succeeded
            report.payments_failed += outcome.failed
            if outcome.failed:
                report.failed.append(FailedPayment(invoice.id, invoice.account_id, outcome.failure or "failed"))
            report.payments_waiting += outcome.waiting
            if outcome.overdue:
                report.accounts_overdue.append(invoice.account_id)
            if outcome.reenabled:
                report.accounts_reenabled.append(invoice.account_id)
        if not later or not _left(deadline):
            break
        _pause(deadline)
        outcomes = [attempt(invoice) for invoice, _ in later]
    for invoice, outcome in later:
        report.not_attempted.append(_not_attempted(invoice, outcome.later or "held", wait))
    _overdue_past_the_schedule([i for i in listed if dues[i.id] is None], uow, clock, report, dunning)
    # rule NT1: invoices on terms are never charged; their accounts are overdue once a due date has passed
    report.accounts_overdue.extend(payment_terms.overdue_past_due_date(uow, clock, dunning=dunning))


def _overdue_past_the_schedule(
    exhausted: list[CollectibleInvoice], uow: Callable[[], UnitOfWork], clock: Clock, report: BillingRunReport,
    dunning: DunningPolicy,
) -> None:  # fmt: skip
    """Rule I8 when the schedule was shortened: an open invoice that already had as many failed attempts as the
    schedule now gives gets no attempt more, so its account, if still active, is overdue now (as after its last
    failure), with the event, the audit line and the e-mail naming the day its subscriptions end. Otherwise such
    invoices belong to accounts already overdue or cancelled, and one read finds nothing to do."""
    if not exhausted:
        return
    with uow() as tx:
        active = tx.active_accounts({invoice.account_id for invoice in exhausted})
    now = clock.now()
    for account_id in sorted(active):
        theirs = {i.id: i for i in exhausted if i.account_id == account_id}
        with uow() as tx:
            tx.lock_account(account_id)
            # read again under the locks: an invoice paid or voided since it was listed makes nobody overdue
            owed = [i for i in tx.lock_invoices(account_id, sorted(theirs)) if i.owed]
            if not owed or not tx.mark_overdue(account_id, now):
                continue
            invoice = theirs[owed[0].id]
            events.account(tx, "account.overdue", account_id, now)
            tx.audit(account_id, "billing run", "account.overdue", {"invoice": invoice.id,
                     "attempts": invoice.failed_attempts, "schedule_attempts": dunning.attempts}, now)  # fmt: skip
            notifications.overdue(tx, account_id, invoice.id, now, dunning)
        report.accounts_overdue.append(account_id)


@dataclass(frozen=True, slots=True)
class _Claimed:
    """An attempt of a batch: its intent is written, the gateway is to be asked."""

    invoice: CollectibleInvoice
    intent: Intent
    payment_id: int


def _collect_batch(
    batch: list[CollectibleInvoice],
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    calls: ThreadPoolExecutor,
    attempt: Callable[[CollectibleInvoice], tuple[CollectibleInvoice, _Outcome]],
    dunning: DunningPolicy,
) -> list[tuple[CollectibleInvoice, _Outcome]]:
    """One batch: claimed, charged side by side, settled; the invoices it does not cover attempted alone. The
    outcomes in the order of the invoices."""
    try:
        with uow() as tx:
            claimed, done, alone = _claim(tx, batch, clock.now())
    except RuleViolation:
        # a payment of one of them began between the checks and the insert (the database's unique index): each is
        # attempted alone, under its own locks
        claimed, done, alone = [], [], list(batch)
    outcomes = [(invoice, _Outcome()) for invoice in done]
    outcomes += _charge_and_settle(claimed, uow, clock, gateway, calls, dunning)
    outcomes += [attempt(invoice) for invoice in alone]
    return sorted(outcomes, key=lambda pair: pair[0].id)


def _charge_and_settle(
    claimed: list[_Claimed], uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway,
    calls: ThreadPoolExecutor, dunning: DunningPolicy,
) -> list[tuple[CollectibleInvoice, _Outcome]]:  # fmt: skip
    """The claimed charges asked of the gateway side by side and their answers settled; then, in a second round,
    the backup method of each charge on the primary that was declined (rule BM1), which never falls back again."""
    answers = list(calls.map(lambda c: _charge(gateway, c), claimed))
    answered = [(c, result) for c, result in zip(claimed, answers, strict=True) if result is not None]
    # no answer: the intent stays pending, and reconciliation asks again with the same key (rule X3)
    outcomes = [(c.invoice, _Outcome(later="no_answer")) for c, result in zip(claimed, answers, strict=True)
                if result is None]  # fmt: skip
    settled = _settle_batch(answered, uow, clock, dunning)
    outcomes += [(invoice, outcome) for invoice, outcome in settled if outcome.backup is None]
    backups = [outcome.backup for _, outcome in settled if outcome.backup is not None]
    if backups:
        outcomes += _charge_and_settle(backups, uow, clock, gateway, calls, dunning)
    return outcomes


def _claim(
    tx: UnitOfWork, batch: list[CollectibleInvoice], now: datetime
) -> tuple[list[_Claimed], list[CollectibleInvoice], list[CollectibleInvoice]]:
    """Lock the batch's accounts nobody holds, then their invoices (the lock order of every payment), and write an
    intent for each invoice still owed with nothing in flight, in one statement. Returns the attempts claimed, the
    invoices with nothing left to do (this attempt made already by another run, or paid or voided since the run
    listed them), and those to attempt alone (an account held, a payment in flight, no payment method)."""
    keys = {invoice.id: f"invoice-{invoice.id}-attempt-{invoice.failed_attempts + 1}" for invoice in batch}
    free = tx.lock_accounts_of({invoice.account_id for invoice in batch}, wait=False)
    alone = [invoice for invoice in batch if invoice.account_id not in free]
    mine = [invoice for invoice in batch if invoice.account_id in free]
    used = tx.keys_used([keys[invoice.id] for invoice in mine])
    done = [invoice for invoice in mine if keys[invoice.id] in used]
    mine = [invoice for invoice in mine if keys[invoice.id] not in used]
    locked = tx.lock_invoices_of([invoice.id for invoice in mine])
    methods = tx.default_payment_methods({invoice.account_id for invoice in mine})
    intents: list[tuple[CollectibleInvoice, Intent]] = []
    for invoice in mine:
        current = locked.get(invoice.id)
        if current is None or not current.owed:
            done.append(invoice)
        elif current.in_flight or invoice.account_id not in methods:
            alone.append(invoice)
        else:
            intent = Intent(invoice.account_id, invoice.id, methods[invoice.account_id], current.amount_due,
                            current.currency, keys[invoice.id])  # fmt: skip
            intents.append((invoice, intent))
    ids = tx.insert_payment_intents([intent for _, intent in intents], now)
    claimed = [
        _Claimed(invoice, intent, payment_id) for (invoice, intent), payment_id in zip(intents, ids, strict=True)
    ]
    return claimed, done, alone


def _charge(gateway: PaymentGateway, claimed: _Claimed) -> ChargeResult | None:
    """The gateway's answer, None when it gave none."""
    intent = claimed.intent
    try:
        return gateway.charge(intent.method.token, intent.amount, intent.currency, intent.key)
    except GatewayUnavailable:
        return None


def _settle_batch(
    answered: list[tuple[_Claimed, ChargeResult]], uow: Callable[[], UnitOfWork], clock: Clock, dunning: DunningPolicy
) -> list[tuple[CollectibleInvoice, _Outcome]]:
    """The answers of a batch, settled in one transaction; should that transaction fail, each is settled in one of
    its own, so that one invoice's trouble never takes the others' outcomes with it."""
    if not answered:
        return []
    try:
        with uow() as tx:
            return _settle(tx, answered, clock.now(), dunning)
    except Exception:
        if len(answered) == 1:
            raise
    outcomes: list[tuple[CollectibleInvoice, _Outcome]] = []
    for one in answered:
        with uow() as tx:
            outcomes += _settle(tx, [one], clock.now(), dunning)
    return outcomes


def _settle(
    tx: UnitOfWork, answered: list[tuple[_Claimed, ChargeResult]], now: datetime, dunning: DunningPolicy
) -> list[tuple[CollectibleInvoice, _Outcome]]:
    """Settle the answers as ``settle`` does each, the accounts, the invoices and the payments locked in that order.
    The plain answers are written together: a payment taken in full for an invoice still owed (payment, invoice
    paid, receipt, event, the account re-enabled, rule I6), and a decline that leaves a retry on the schedule
    (payment, event, audit, the e-mail with the next date, rule I8). Every other answer (a confirmation asked, a
    last attempt declined, a payment settled meanwhile, an invoice voided or credited meanwhile) is settled by
    ``settle`` itself."""
    statuses = tx.lock_accounts_of({c.intent.account_id for c, _ in answered}, wait=True)
    current = tx.lock_invoices_of([c.intent.invoice_id for c, _ in answered])
    payments = tx.lock_payments([c.payment_id for c, _ in answered])
    # rule BM1: a decline of the primary method goes on to the account's backup method, if it has one
    to_backup = {c.intent.account_id for c, result in answered if not c.intent.backup and falls_back(result)}
    backups = tx.backup_payment_methods(to_backup) if to_backup else {}
    paid: list[tuple[_Claimed, ChargeResult]] = []
    declined: list[tuple[_Claimed, ChargeResult, datetime]] = []
    fallback: list[tuple[_Claimed, ChargeResult]] = []
    other: list[tuple[_Claimed, ChargeResult]] = []
    for c, result in answered:
        now_owed, payment = current.get(c.intent.invoice_id), payments[c.payment_id]
        plain = not result.action_required and payment.status == "pending"
        retry = dunning.next_attempt(c.invoice.issued_at, c.invoice.failed_attempts + 1)
        if (
            plain
            and result.succeeded
            and now_owed is not None
            and now_owed.owed
            and 0 < payment.amount <= now_owed.amount_due
        ):
            paid.append((c, result))
        elif (
            plain
            and c.intent.account_id in backups
            and not c.intent.backup
            and falls_back(result)
            and (now_owed is not None and now_owed.owed)
        ):
            fallback.append((c, result))
        elif plain and not result.succeeded and retry is not None:
            declined.append((c, result, retry))
        else:
            other.append((c, result))
    tx.record_answers([(c.payment_id, result) for c, result in paid + fallback + [(c, r) for c, r, _ in declined]],
                      now)  # fmt: skip
    tx.mark_invoices_paid([c.intent.invoice_id for c, _ in paid], now)
    notifications.invoices_paid(tx, [(c.intent.account_id, c.intent.invoice_id) for c, _ in paid], now)
    outcomes: dict[int, _Outcome] = {}
    for c, _ in paid:
        tx.record_event("invoice.paid", c.intent.account_id, "invoice", c.intent.invoice_id, now)
        outcomes[c.invoice.id] = _Outcome(succeeded=True)
    last_paid = {c.intent.account_id: c.invoice.id for c, _ in paid}
    for account_id, invoice_id in sorted(last_paid.items()):
        if statuses.get(account_id) == "overdue" and tx.clear_overdue_if_paid(account_id):
            events.account(tx, "account.restored", account_id, now)  # rule I6
            outcomes[invoice_id] = _Outcome(succeeded=True, reenabled=True)
    for c, result, _ in declined:  # each decline with its own answer's reason, not the batch's last
        tx.record_event("invoice.payment_failed", c.intent.account_id, "invoice", c.intent.invoice_id, now)
        outcomes[c.invoice.id] = _Outcome(failed=True, failure=result.failure_code)
    if fallback:
        # the attempt is not over: no e-mail yet, its outcome is the backup's (rule BM1)
        for c, _ in fallback:
            tx.record_event("invoice.payment_failed", c.intent.account_id, "invoice", c.intent.invoice_id, now)
        begun = begin_backups(tx, [Declined(c.intent.account_id, c.invoice.id, c.intent.key,
                                            c.invoice.failed_attempts + 1, result.failure_code,
                                            current[c.intent.invoice_id].amount_due, c.intent.currency)
                                   for c, result in fallback], backups, now)  # fmt: skip
        for c, _ in fallback:
            outcomes[c.invoice.id] = _Outcome(backup=_Claimed(c.invoice, *begun[c.invoice.id]))
    tx.audit_many([(c.intent.account_id, "payment.failed", {"invoice": c.invoice.id, "attempt":
                    c.invoice.failed_attempts + 1, "failure": result.failure_code}) for c, result, _ in declined],
                  "billing run", now)  # fmt: skip
    notifications.payments_failed(tx, [(c.intent.account_id, c.invoice.id, c.invoice.failed_attempts + 1, retry)
                                       for c, _, retry in declined], now)  # fmt: skip
    for c, result in other:
        invoice = c.invoice
        settled = settle(tx, invoice.account_id, invoice.id, c.payment_id, result, now, actor="billing run")
        if settled.already:
            outcomes[invoice.id] = _Outcome()
        elif result.succeeded:
            outcomes[invoice.id] = _Outcome(succeeded=True, reenabled=settled.reenabled)
        elif result.action_required:
            outcomes[invoice.id] = _Outcome(waiting=True)  # the customer was e-mailed a link
        else:
            outcomes[invoice.id] = _failed(tx, invoice, invoice.failed_attempts + 1, result, now, dunning)
    return [(c.invoice, outcomes[c.invoice.id]) for c, _ in answered]


def _not_attempted(invoice: CollectibleInvoice, why: str, wait: float) -> UnattemptedInvoice:
    if why == "no_answer":
        return UnattemptedInvoice(
            invoice.id,
            invoice.account_id,
            "billing_run.gateway_no_answer",
            "the payment gateway did not answer; the charge is left pending and `prorata reconcile` asks the gateway "
            "again with the same key (it never charges twice)",
            "X3",
        )
    if why == "in_flight":
        return UnattemptedInvoice(
            invoice.id,
            invoice.account_id,
            "billing_run.payment_in_progress",
            f"another payment of the invoice was still in flight after {wait:g} s; bill again once it is settled "
            "(`prorata reconcile` completes a payment a crash left pending)",
            "I8",
        )
    return UnattemptedInvoice(
        invoice.id,
        invoice.account_id,
        "billing_run.account_locked",
        f"another transaction held the account for more than {wait:g} s; the attempt is due: bill again",
        "I8",
    )


def _attempt(
    invoice: CollectibleInvoice, uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway, wait: float,
    dunning: DunningPolicy,
) -> _Outcome:  # fmt: skip
    now = clock.now()
    attempt = invoice.failed_attempts + 1
    key = f"invoice-{invoice.id}-attempt-{attempt}"
    waiting: PendingPayment | None = None
    with uow() as tx:
        # the account's lock, then the invoice's: the same order as a customer paying it (rule X3)
        if not tx.lock_account_within(invoice.account_id, wait):
            return _Outcome(later="held")
        if tx.payment_by_key(key) is not None:
            return _Outcome()  # this attempt is made already (by another run)
        locked = tx.lock_invoices(invoice.account_id, (invoice.id,))
        if not locked or not locked[0].owed:
            return _Outcome()  # paid or voided since the run listed it
        if locked[0].in_flight:
            last = f"invoice-{invoice.id}-attempt-{invoice.failed_attempts}"
            # the last attempt's charge waiting for the customer: the primary's, or the backup's (rule BM1)
            waiting = tx.live_payment(key=last) or tx.live_payment(key=backup_key(last))
            if waiting is None or waiting.status != "action_required":
                return _Outcome(later="in_flight")  # being paid by the customer: its outcome decides
        current = locked[0]
        method = tx.default_payment_method(invoice.account_id)
        result: ChargeResult | None = None
        payment_id = None
        if waiting is not None:
            pass  # given up below, outside the transaction
        elif method is None:
            result = ChargeResult(False, key, "no_payment_method")
        else:
            payment_id = begin_payment(tx, current, method, key, now)
    if waiting is not None:
        return _give_up(invoice, waiting, uow, clock, gateway, wait, dunning)
    if result is None:
        assert method is not None
        try:
            result = gateway.charge(method.token, current.amount_due, current.currency, key)
        except GatewayUnavailable:
            return _Outcome(later="no_answer")  # left pending: reconciliation asks with the same key
    with uow() as tx:
        if payment_id is None:
            # no card to try: the attempt still counts, so that the account becomes overdue on schedule
            tx.record_failed_attempt(invoice, key, result, clock.now())
            return _failed(tx, invoice, attempt, result, clock.now(), dunning)
        outcome = _settle_attempt(tx, invoice, key, payment_id, result, clock.now(), dunning, primary=True)
    if outcome.backup is None:
        return outcome
    # rule BM1: the primary was declined; the backup's intent is written with its failure, now it is charged
    backup = outcome.backup
    answer = _charge(gateway, backup)
    if answer is None:
        return _Outcome(later="no_answer")  # left pending: reconciliation asks with the same key
    with uow() as tx:
        return _settle_attempt(
            tx, invoice, backup.intent.key, backup.payment_id, answer, clock.now(), dunning, primary=False
        )


def _settle_attempt(
    tx: UnitOfWork, invoice: CollectibleInvoice, key: str, payment_id: int, result: ChargeResult, now: datetime,
    dunning: DunningPolicy, *, primary: bool,
) -> _Outcome:  # fmt: skip
    """One charge of the attempt due, settled: paid, waiting for the customer, or failed (rules I6, I8); a primary
    that was declined goes on to the backup method (rule BM1), whose intent is written here."""
    settled = settle(tx, invoice.account_id, invoice.id, payment_id, result, now, actor="billing run")
    if settled.already:
        return _Outcome()
    if result.succeeded:
        return _Outcome(succeeded=True, reenabled=settled.reenabled)
    if result.action_required:
        return _Outcome(waiting=True)  # the customer was e-mailed a link; the next attempt waits its day
    attempt = invoice.failed_attempts + 1
    begun = begin_backup(tx, invoice.account_id, invoice.id, key, attempt, result, now) if primary else None
    if begun is not None:
        return _Outcome(backup=_Claimed(invoice, *begun))
    return _failed(tx, invoice, attempt, result, now, dunning)


def _give_up(
    invoice: CollectibleInvoice, waiting: PendingPayment, uow: Callable[[], UnitOfWork], clock: Clock,
    gateway: PaymentGateway, wait: float, dunning: DunningPolicy,
) -> _Outcome:  # fmt: skip
    """The charge of the last attempt still waits for the customer when the next one is due (or, after the last
    attempt, when its confirmation window ends): it is cancelled at the gateway (a charge the customer confirmed
    meanwhile answers its success) and settled; a failure then counts as that attempt's, and the schedule goes on."""
    assert waiting.reference is not None
    try:
        result = gateway.cancel(waiting.reference)
    except GatewayUnavailable:
        return _Outcome(later="no_answer")
    with uow() as tx:
        settled = settle(tx, invoice.account_id, invoice.id, waiting.id, result, clock.now(), actor="billing run")
        if settled.already:
            return _Outcome()
        if result.succeeded:
            return _Outcome(succeeded=True, reenabled=settled.reenabled)
        outcome = _failed(tx, invoice, invoice.failed_attempts, result, clock.now(), dunning, told=False)
    if outcome.overdue:
        return outcome
    # the waiting attempt is settled as failed: the attempt now due is made at once
    later = _attempt(invoice, uow, clock, gateway, wait, dunning)
    return later if later.later is None else _Outcome(failed=True)


def _failed(
    tx: UnitOfWork, invoice: CollectibleInvoice, attempt: int, result: ChargeResult, now: datetime,
    dunning: DunningPolicy, *, told: bool = True,
) -> _Outcome:  # fmt: skip
    """An attempt that did not pay: audited, the customer e-mailed (unless a waiting charge's link told them
    already), and after the last attempt the account overdue (rules I6, I8)."""
    tx.audit(invoice.account_id, "billing run", "payment.failed", {"invoice": invoice.id, "attempt": attempt,
             "failure": result.failure_code}, now)  # fmt: skip
    retry = dunning.next_attempt(invoice.issued_at, attempt)
    if told or retry is None:
        notifications.payment_failed(tx, invoice.account_id, invoice.id, attempt, retry, now)
    overdue = retry is None and tx.mark_overdue(invoice.account_id, now)
    if overdue:
        events.account(tx, "account.overdue", invoice.account_id, now)
        tx.audit(invoice.account_id, "billing run", "account.overdue", {"invoice": invoice.id}, now)
        notifications.overdue(tx, invoice.account_id, invoice.id, now, dunning)
    return _Outcome(failed=True, overdue=overdue, failure=result.failure_code)


def follow_up(uow: Callable[[], UnitOfWork], clock: Clock, report: BillingRunReport, *, dunning: DunningPolicy) -> None:
    """Stage 3: end the subscriptions of accounts overdue for the days ``dunning`` gives (rule I8). Each account is
    read again under its lock: one that paid meanwhile (I6 re-enables it) or that another run has just ended is left
    as it is, so an account is never ended after it paid, nor ended, released and told twice."""
    now = clock.now()
    with uow() as tx:
        overdue = tx.overdue_accounts()
    for account_id, since in overdue:
        if dunning.cancels_at(since) > now:
            continue
        with uow() as tx:
            tx.lock_account(account_id)
            still = tx.overdue_since(account_id)
            if still is None or dunning.cancels_at(still) > now:
                continue
            before = tx.load_account(account_id, lock=False)
            release_licenses.with_account(tx, account_id, now)  # their users are Basic again
            ended = tx.cancel_account(account_id, now)
            events.record_subscription_changes(tx, account_id, before, tx.load_account(account_id, lock=False), now)
            events.account(tx, "account.ended", account_id, now)
            tx.audit(account_id, "billing run", "account.cancelled", {"subscriptions_ended": ended}, now)
            notifications.cancelled(tx, account_id, now, dunning)
        report.accounts_cancelled.append(account_id)
