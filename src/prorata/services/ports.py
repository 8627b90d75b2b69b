"""What the use cases need from the outside world, as Protocols the adapters implement (design: ports)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, Literal, Protocol

from prorata.domain.account import Account
from prorata.domain.backup_method import PaymentRoles
from prorata.domain.cards import CardDetails
from prorata.domain.credit_notes import CreditNote, IssuedInvoice
from prorata.domain.documents import InvoiceDocument
from prorata.domain.exchange_rates import ExchangeRate
from prorata.domain.exemptions import Certificate
from prorata.domain.invariants import CheckTiming, Verification, VerificationScope, Violation
from prorata.domain.invoice_lines import Quote
from prorata.domain.payment_terms import BankPaymentRecord, TermsInvoice
from prorata.domain.payments import ChargeResult, RefundResult, SavedMethod
from prorata.domain.tax import TaxBuyer
from prorata.domain.throttle import ThrottleState
from prorata.services.discount_ports import DiscountStorePort


class Clock(Protocol):
    def now(self) -> datetime: ...


class DocumentRenderer(Protocol):
    def __call__(self, document: InvoiceDocument, language: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    message_id: str  # the same on every attempt: receivers drop a second copy by it
    sender: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()
    sender_name: str = ""  # shown beside the sender's address (the seller's name); the envelope keeps the address


class Mailer(Protocol):
    """Delivers one message, or raises; delivering the same Message-ID twice must be harmless to the receiver."""

    def send(self, mail: OutgoingMail) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    account_id: int | None  # None: a message to a person (a password reset)
    kind: str  # order_confirmation, reduction_scheduled, receipt, payment_failed, overdue, cancelled
    language: str
    recipients: tuple[str, ...]
    data: Mapping[str, object]
    message_id: str
    invoice_number: str | None
    attempt: int
    time_zone: str = "UTC"  # the account's: the dates a message gives are its dates (rule X2)


class PasswordHasher(Protocol):
    """Password hashes (argon2). ``verify`` costs one full verification whatever it is given, a missing hash
    included, so that the time of a sign-in tells nothing about whether the e-mail exists."""

    def hash(self, password: str) -> str: ...

    def verify(self, stored: str | None, password: str) -> bool: ...

    def needs_rehash(self, stored: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    email: str
    password_hash: str | None


@dataclass(frozen=True, slots=True)
class Operator:
    """A person who runs the installation in the operator console: belongs to no account."""

    id: int
    email: str
    name: str
    password_hash: str
    language: str
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class CreditGrant:
    """Credit an operator added by hand (``services/grant_credit.py``), as its ledger entry holds it."""

    id: int
    account_id: int
    amount: int
    currency: str
    reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    """A person's user row in one account."""

    user_id: int
    account_id: int
    account_code: str
    account_name: str
    role: str
    name: str


@dataclass(frozen=True, slots=True)
class VatAnswer:
    """What the VAT registry said of a number: valid, invalid, or unknown (``valid`` None: it did not answer)."""

    valid: bool | None
    name: str | None = None
    address: str | None = None
    error: str = ""


class VatRegistry(Protocol):
    """The EU VAT registry (VIES, rule T2): whether a number (with its country prefix) is registered."""

    def check(self, number: str) -> VatAnswer: ...


@dataclass(frozen=True, slots=True)
class VatCheckRecord:
    number: str
    status: str  # valid, invalid, provisional
    checked_at: datetime
    attempts: int
    next_check_at: datetime | None


class PaymentGateway(Protocol):
    """A payment gateway (rule Y4). Every call that moves money carries the payment's own idempotency key: the same
    key asked again answers the first outcome and never moves money twice."""

    name: str
    # True when card numbers are entered at the gateway in the customer's browser and never reach this server
    browser_tokens: bool

    def charge(self, token: str, amount: int, currency: str, idempotency_key: str) -> ChargeResult: ...

    def outcome(self, token: str | None, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        """Reconciliation: what became of the charge made (or maybe never made) with this key; a charge the gateway
        never received is made now, once."""
        ...

    def refund(self, charge_reference: str, amount: int, currency: str, idempotency_key: str) -> RefundResult: ...

    def refund_status(self, refund_reference: str) -> RefundResult | None:
        """What became of a refund the gateway answered ``pending``; None when it does not know the reference."""
        ...

    def confirm(self, charge_reference: str, approved: bool) -> ChargeResult | None:
        """After the customer answered their bank (3-D Secure): the sandbox takes the answer from its own
        confirmation page; a real gateway heard it from the bank and is asked (``approved`` is not used)."""
        ...

    def status(self, charge_reference: str) -> ChargeResult | None:
        """What became of a charge that asked the customer to confirm it; None while it still waits."""
        ...

    def cancel(self, charge_reference: str) -> ChargeResult:
        """Give up a charge that waits for the customer (``action_required``); a charge the customer completed
        meanwhile answers its success."""
        ...

    def tokenize_card(self, number: str, exp_month: int, exp_year: int, today: date) -> tuple[str, CardDetails]: ...

    def tokenize_paypal(self, email: str) -> str: ...


class BrowserGateway(PaymentGateway, Protocol):
    """A gateway whose payment fields live in the customer's browser (Stripe.js): card numbers never reach this
    server. Methods are saved at the gateway on a customer of its own, and read back by their id."""

    publishable_key: str

    def create_customer(self, account_code: str, name: str, email: str | None, idempotency_key: str) -> str: ...

    def setup_intent(self, customer: str, idempotency_key: str) -> tuple[str, str]:
        """(the SetupIntent's id, its client secret for the browser; never stored)."""
        ...

    def saved_method(self, setup_intent_id: str, customer: str) -> SavedMethod: ...

    def method(self, customer: str, payment_method_id: str) -> SavedMethod: ...


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """The free trial an account started (rule TR1); ``reminded_at`` is when its owner was told it ends."""

    account_id: int
    product: str
    started_at: datetime
    ends_at: datetime
    reminded_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: int
    request_hash: str
    status: str  # pending, placed, failed
    invoice_id: int | None
    invoice_number: str | None
    amount_due: int
    failure_code: str | None


class ExemptionRecord(Protocol):
    """An account's exemption certificate as the use case reads it (rule TE1)."""

    @property
    def id(self) -> int: ...

    @property
    def status(self) -> str: ...

    @property
    def country(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ExpressInvoice:
    """An invoice as express pay finds it by its number and its account's (rule EP1): what the payer may see of it,
    and nothing else about the account."""

    id: int
    account_id: int
    number: str
    status: str
    amount_due: int
    currency: str
    due_at: datetime | None

    @property
    def owed(self) -> bool:
        return self.status == "open" and self.amount_due > 0


@dataclass(frozen=True, slots=True)
class PaymentMethodRecord:
    id: int
    gateway: str
    token: str


@dataclass(frozen=True, slots=True)
class SettledOrder:
    """An order that took effect: as it was placed (nothing to charge), or once its payment succeeded."""

    order_id: int
    invoice_id: int | None  # None: it charged and credited nothing
    invoice_number: str | None
    account: Account  # the account as the order left it, with the stored ids of the subscriptions it created


@dataclass(frozen=True, slots=True)
class OrderContext:
    """What placing an order reads about the account once it holds the account's lock, in one statement."""

    earlier: OrderRecord | None  # the order this idempotency key placed before, if any
    pending: bool  # an order of the account is being paid for
    buyer: TaxBuyer  # rule T1: the Sold-To country and VAT number
    method: PaymentMethodRecord | None  # the default payment method


@dataclass(frozen=True, slots=True)
class CollectibleInvoice:
    id: int
    account_id: int
    amount_due: int
    currency: str
    issued_at: datetime
    failed_attempts: int  # the billing run's attempts that did not pay it: failed, or waiting for the customer
    waiting_since: datetime | None = None  # the run's last attempt waits for the customer to confirm it (3-D Secure)


@dataclass(frozen=True, slots=True)
class Intent:
    """A payment about to be asked of the gateway: written pending, under the locks, before the call (rule X3)."""

    account_id: int
    invoice_id: int
    method: PaymentMethodRecord
    amount: int
    currency: str
    key: str
    backup: bool = False  # rule BM1: charged to the backup method after the primary's charge was declined


@dataclass(frozen=True, slots=True)
class PayableInvoice:
    """An invoice as paying it needs to see it, read under its lock (rule X3)."""

    id: int
    account_id: int
    status: str  # open, paid, void
    amount_due: int  # what is still owed
    currency: str
    issued_at: datetime
    in_flight: bool  # a payment of it is pending: nobody else may start one

    @property
    def owed(self) -> bool:
        return self.status == "open" and self.amount_due > 0


@dataclass(frozen=True, slots=True)
class PaymentState:
    """A payment as recorded: pending until the gateway's answer is settled."""

    id: int
    account_id: int
    invoice_id: int
    amount: int
    currency: str
    status: str  # pending, succeeded, failed, credited
    idempotency_key: str
    failure_code: str | None


@dataclass(frozen=True, slots=True)
class PendingPayment:
    """A payment whose outcome was never recorded: the process stopped between the gateway and the commit."""

    id: int
    idempotency_key: str
    account_id: int
    invoice_id: int
    order_id: int | None
    order_cart: str | None
    order_created_at: datetime | None
    order_amount_due: int | None
    amount: int
    currency: str
    token: str | None
    reference: str | None = None  # the gateway's, once it answered (a charge waiting for the customer has one)
    status: str = "pending"  # or action_required


@dataclass(frozen=True, slots=True)
class ChargeRecord:
    """The successful charge that paid an invoice: what a refund to the original payment method gives back to."""

    payment_id: int
    gateway: str
    reference: str  # the gateway's charge reference
    currency: str


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """A refund of a credit note to the original payment method (rules R1, R2), as stored."""

    id: int
    account_id: int
    credit_note_id: int
    credit_note: str  # its number
    invoice_id: int
    invoice: str  # the corrected invoice's number
    payment_id: int
    charge_reference: str
    amount: int
    currency: str
    status: str  # pending, succeeded, failed, credited (failed, then sent to the credit balance)
    gateway: str
    gateway_reference: str | None
    idempotency_key: str
    failure_code: str | None
    attempt: int
    requested_by: str  # customer or operator
    override_reason: str | None
    created_at: datetime
    settled_at: datetime | None
    method: str = ""  # "Visa •••• 4242", "PayPal": where the money goes back


@dataclass(frozen=True, slots=True)
class DueBatch:
    """A batch of accounts due for renewal, claimed by this billing run (rule I1: each renewed once)."""

    last_id: int  # the highest account id looked at: the next batch starts after it (0: nothing was due)
    accounts: Mapping[int, Account]  # locked for this transaction, and no order of theirs is being paid for
    busy: tuple[int, ...]  # an order is being paid for: the run comes back to them
    taken: tuple[int, ...]  # another billing run holds them: it renews them
    held: tuple[int, ...] = ()  # another transaction (not a billing run) holds them: the run comes back to them


@dataclass(frozen=True, slots=True)
class AccountClaim:
    """One account due for renewal, as ``claim_account`` found it. ``state`` is ``claimed`` (``account`` is locked
    for this transaction and due), ``not_due`` (renewed meanwhile, or never due), ``taken`` (another billing run
    holds it and renews it), ``held`` (another transaction held it longer than the wait) or ``busy`` (an order of
    the account is being paid for: its price was quoted on the period as it is)."""

    state: str
    account: Account | None = None


@dataclass(frozen=True, slots=True)
class Renewed:
    """What the billing run decided for one account: its renewals, one per billing date, oldest first."""

    account_id: int
    before: Account
    renewals: tuple[Quote, ...]


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    """A user holding a subscription's license or seat (rule U1), as stored."""

    id: int
    account_id: int
    subscription_id: int
    product: str
    user_id: int
    email: str


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key as stored, without its hash (``services/api_keys.py``)."""

    id: int
    prefix: str
    name: str
    scope: Literal["full", "read_only"]
    account_id: int | None  # None: an operator key
    account_code: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class UnitOfWork(DiscountStorePort, Protocol):
    """One transaction: committed when the ``with`` block ends normally, rolled back otherwise."""

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    def load_account(self, account_id: int, *, lock: bool) -> Account: ...

    def find_order(self, account_id: int, idempotency_key: str) -> OrderRecord | None: ...

    def has_pending_order(self, account_id: int) -> bool: ...

    def order_context(self, account_id: int, idempotency_key: str) -> OrderContext: ...

    def default_payment_method(self, account_id: int) -> PaymentMethodRecord | None: ...

    def insert_order(
        self,
        account_id: int,
        idempotency_key: str,
        request_hash: str,
        cart: str,
        quote: Quote,
        tos: tuple[str, int | None] | None,
        now: datetime,
    ) -> int: ...

    def insert_draft_invoice(self, account_id: int, order_id: int, quote: Quote, now: datetime) -> int: ...

    def place_settled_order(
        self,
        account_id: int,
        idempotency_key: str,
        request_hash: str,
        cart: str,
        quote: Quote,
        tos: tuple[str, int | None] | None,
        before: Account,
        now: datetime,
        terms_days: int | None = None,
    ) -> SettledOrder: ...

    def insert_payment_intent(
        self, account_id: int, invoice_id: int, method: PaymentMethodRecord, amount: int, currency: str, key: str,
        now: datetime,
    ) -> int: ...  # fmt: skip

    def settle_payment(
        self, payment_id: int, result: ChargeResult, now: datetime, *, credited: bool = False
    ) -> None: ...

    def settle_pending_payment(self, payment_id: int, result: ChargeResult, now: datetime) -> bool: ...

    def apply_order(
        self, account_id: int, order_id: int, invoice_id: int | None, quote: Quote, now: datetime,
        before: Account | None = None,
    ) -> SettledOrder: ...  # fmt: skip

    def fail_order(self, order_id: int, invoice_id: int, failure_code: str, now: datetime) -> None: ...

    def order(self, order_id: int) -> OrderRecord: ...

    def audit(
        self, account_id: int | None, actor: str, action: str, detail: Mapping[str, object], now: datetime
    ) -> None: ...

    # -- events for the vendor's product (webhooks), written with the change at the commit

    def record_event(
        self,
        type: str,
        account_id: int | None,
        object: str,
        object_id: int | str | None,
        at: datetime,
        data: Mapping[str, Any] | None = None,
    ) -> None: ...

    # -- accounts and their users (rules U1, X4)

    def account_id_by_code(self, code: str) -> int | None: ...

    def insert_account(
        self,
        code: str,
        name: str,
        currency: str,
        time_zone: str,
        country: str,
        *,
        managed_by_sales: bool,
        now: datetime,
    ) -> int:
        """The new account's id; its code already taken (by a writer that raced this one) is ``account.code_taken``."""
        ...  # fmt: skip

    def user_id_by_email(self, account_id: int, email: str) -> int | None: ...

    def insert_user(self, account_id: int, email: str, name: str, role: str, now: datetime) -> int:
        """A Basic user's id; an e-mail address the account already has is ``user.email_taken``."""
        ...

    # -- what operators change by hand on an account (services/grant_credit.py, services/sales_managed.py)

    def credit_grant(self, account_id: int, idempotency_key: str) -> CreditGrant | None:
        """The account's grant made with this key, if one was."""
        ...

    def insert_credit_grant(self, account_id: int, amount: int, reason: str, idempotency_key: str,
                            now: datetime) -> CreditGrant:  # fmt: skip
        """Book the credit in the account's currency (the account is locked by the caller)."""
        ...

    def credit_balance(self, account_id: int) -> int: ...

    def set_managed_by_sales(self, account_id: int, managed: bool) -> bool:
        """Whether the flag changed."""
        ...

    # -- operators of the console (services/operators.py; adapters/db/operator_store.py)

    def operator_by_email(self, email: str) -> Operator | None: ...

    def insert_operator(self, email: str, name: str, password_hash: str, language: str, now: datetime) -> int:
        """The new operator's id; an e-mail address another operator has is ``operator.email_taken``."""
        ...

    def operators(self) -> list[Operator]: ...

    # -- people who sign in: one per e-mail across the installation (services/sign_in.py, services/passwords.py)

    def person_by_email(self, email: str) -> Person | None: ...

    def person(self, person_id: int) -> Person | None: ...

    def ensure_person(self, email: str, now: datetime) -> int:
        """The id of the person of this (normalised) e-mail, made now if there is none."""
        ...

    def set_password_hash(self, person_id: int, password_hash: str, now: datetime) -> None: ...

    def memberships(self, person_id: int) -> list[Membership]: ...

    def link_user(self, user_id: int, person_id: int) -> None: ...

    def throttle_state(self, key: str) -> ThrottleState | None:
        """The key's state, locked until this transaction ends (two attempts never count the same slot)."""
        ...

    def save_throttle(self, key: str, state: ThrottleState) -> None: ...

    def clear_throttle(self, key: str) -> None: ...

    def insert_person_token(
        self, person_id: int, purpose: str, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        """A new link of ``purpose``; the person's earlier unused links of that purpose stop working."""
        ...

    def use_person_token(self, token_hash: str, now: datetime) -> tuple[int, str] | None:
        """Use a live link once: its person and purpose, or None (unknown, used or expired)."""
        ...

    def peek_person_token(self, token_hash: str, now: datetime) -> tuple[int, str] | None:
        """A live link's person and purpose, without using it (the page that asks for the new password)."""
        ...

    def end_sessions(self, person_id: int, *, keep: str | None = None) -> int:
        """End the person's portal sessions but the one whose token hash is ``keep``; how many ended."""
        ...

    def enqueue_person_mail(
        self,
        recipients: Sequence[str],
        kind: str,
        language: str,
        now: datetime,
        *,
        account_id: int | None = None,
        data: Mapping[str, object] | None = None,
    ) -> None:
        """A message to people rather than to an account's billing contacts (sign-in and password messages)."""
        ...  # fmt: skip

    def owner_emails(self, account_id: int) -> list[str]: ...

    # -- the billing run (rules C7, I1, I8, A8)

    def count_accounts_due(self, until: datetime) -> int: ...

    def claim_due_accounts(self, until: datetime, after_id: int, limit: int) -> DueBatch: ...

    def renewal_due(self, account_id: int, until: datetime) -> bool:
        """Whether a subscription of the account ends by ``until`` (read without a lock)."""
        ...

    def claim_account(self, account_id: int, until: datetime, *, wait: float | None, billing_run: bool) -> AccountClaim:
        """Lock one account due by ``until`` for its renewal, waiting at most ``wait`` seconds (None: as long as it
        takes) for another transaction that holds it; ``billing_run``: claimed as a billing run, so that other runs
        leave it to this one."""
        ...

    def save_renewals(
        self, renewed: Sequence[Renewed], now: datetime, actor: str = "billing run"
    ) -> list[tuple[str | None, ...]]:
        """Write the renewals of a batch; the invoice number of each renewal (None where nothing was charged)."""
        ...

    def collectible_invoices(self) -> list[CollectibleInvoice]: ...

    def record_failed_attempt(
        self, invoice: CollectibleInvoice, key: str, result: ChargeResult, now: datetime
    ) -> None: ...

    def mark_overdue(self, account_id: int, now: datetime) -> bool: ...

    def active_accounts(self, account_ids: Collection[int]) -> set[int]:
        """Those of the accounts that are active (neither overdue nor cancelled), read without a lock."""
        ...

    def overdue_accounts(self) -> list[tuple[int, datetime]]: ...

    def overdue_since(self, account_id: int) -> datetime | None:
        """Since when the account is overdue, read under the account's lock (None: it is not overdue now)."""
        ...

    def cancel_account(self, account_id: int, now: datetime) -> int: ...

    def clear_overdue_if_paid(self, account_id: int) -> bool: ...

    def lock_account_within(self, account_id: int, seconds: float) -> bool:
        """Lock the account row as ``lock_account`` does, waiting at most ``seconds`` for another transaction that
        holds it; False when it is still held then."""
        ...

    # -- paying invoices, each at most once (rules I3, I6, X3)

    def lock_account(self, account_id: int, *, wait: bool = True) -> bool:
        """Lock the account row, the first lock of every writer; False when it does not exist, or (``wait=False``)
        when another transaction holds it."""
        ...

    def lock_invoices(self, account_id: int, invoice_ids: Sequence[int] | None) -> list[PayableInvoice]:
        """The named issued invoices of the account (None: every open one with something due), locked in id order
        after the account."""
        ...

    def lock_payment(self, payment_id: int) -> PaymentState: ...

    def mark_invoice_paid(self, invoice_id: int, now: datetime) -> None: ...

    def credit_excess(
        self, account_id: int, invoice_id: int, payment_id: int, amount: int, currency: str, now: datetime
    ) -> None: ...

    def payment_by_key(self, key: str) -> tuple[int, str] | None: ...

    def payments_of_request(self, account_id: int, idempotency_key: str) -> list[PaymentState]: ...

    # -- the billing run's collection, many invoices at once (the same locks, in the same order)

    def lock_accounts_of(self, account_ids: Collection[int], *, wait: bool) -> dict[int, str]:
        """Lock the accounts in id order; each one's status by id. ``wait=False``: those another transaction holds
        are skipped (missing from the answer)."""
        ...

    def lock_invoices_of(self, invoice_ids: Collection[int]) -> dict[int, PayableInvoice]:
        """The invoices, locked in id order after their accounts (``lock_invoices`` for many accounts)."""
        ...

    def keys_used(self, keys: Collection[str]) -> set[str]: ...

    def default_payment_methods(self, account_ids: Collection[int]) -> dict[int, PaymentMethodRecord]: ...

    def insert_payment_intents(self, intents: Sequence[Intent], now: datetime) -> list[int]:
        """The intents in one statement, their ids in the order given; refused as a whole when one would make a
        second live payment of an invoice (``RuleViolation``, the transaction rolls back)."""
        ...

    def lock_payments(self, payment_ids: Collection[int]) -> dict[int, PaymentState]: ...

    def record_answers(self, answers: Sequence[tuple[int, ChargeResult]], now: datetime) -> None:
        """Pending payments taken in full or declined, each by its answer (``settle_payment`` for many)."""
        ...

    def mark_invoices_paid(self, invoice_ids: Collection[int], now: datetime) -> None: ...

    def enqueue_mails(self, mails: Sequence[tuple[int, str, int | None, Mapping[str, object] | None]],
                      now: datetime) -> None:  # fmt: skip
        """E-mails (account, kind, invoice, data) to the outbox at once, each as ``enqueue_mail`` writes it."""
        ...

    # -- license assignment (rules U1, U2, A7)

    def subscription_owner(self, subscription_id: int) -> tuple[int, str, int, str] | None: ...

    def user_account(self, user_id: int) -> int | None: ...

    def assigned_users(self, subscription_id: int) -> set[int]: ...

    def user_subscriptions(self, account_id: int, user_id: int) -> list[tuple[int, str]]: ...

    def assign(self, subscription_id: int, user_id: int, now: datetime) -> None: ...

    def unassign(self, subscription_id: int, user_id: int) -> None: ...

    def set_user_type(self, user_id: int, licensed: bool) -> None: ...

    def assignments_of_accounts(self, account_ids: Sequence[int]) -> list[AssignmentRecord]:
        """Every assignment of the accounts' subscriptions, the most recently assigned first."""
        ...

    def end_assignments(self, assignment_ids: Sequence[int]) -> None: ...

    def set_users_basic(self, user_ids: Sequence[int]) -> None: ...

    def audit_many(
        self, entries: Sequence[tuple[int | None, str, Mapping[str, object]]], actor: str, now: datetime
    ) -> None:
        """Several audit entries ``(account, action, detail)`` by one actor at one instant, in one statement."""
        ...

    # -- refunds to the original payment method (rules R1, R2; adapters/db/refund_store.py)

    def charge_of_invoice(self, invoice_id: int) -> ChargeRecord | None: ...

    def insert_refund(
        self, credit_note: str, invoice_id: int, charge: ChargeRecord, amount: int, requested_by: str,
        override_reason: str | None, now: datetime,
    ) -> RefundRecord: ...  # fmt: skip

    def lock_refund(self, refund_id: int) -> RefundRecord | None:
        """The refund, locked (after the account and its invoice); None when there is none."""
        ...

    def refund_by_reference(self, reference: str) -> RefundRecord | None: ...

    def refund_of_note(self, credit_note: str) -> RefundRecord | None: ...

    def record_refund_outcome(self, refund_id: int, result: RefundResult, now: datetime) -> None: ...

    def next_refund_attempt(self, refund_id: int) -> RefundRecord: ...

    def refund_to_balance(self, refund_id: int, now: datetime) -> None: ...

    def pending_refunds(self, created_before: datetime) -> list[RefundRecord]: ...

    # -- reconciliation

    def pending_payments(
        self, created_before: datetime | None = None, *, statuses: Sequence[str] = ("pending",)
    ) -> list[PendingPayment]: ...

    def live_payment(
        self, *, reference: str | None = None, key: str | None = None, payment_id: int | None = None
    ) -> PendingPayment | None: ...

    def payment_of_reference(self, reference: str) -> tuple[int, int] | None: ...

    def gateway_customer(self, account_id: int, gateway: str) -> str | None: ...

    def save_gateway_customer(self, account_id: int, gateway: str, customer: str, now: datetime) -> str:
        """Keep the gateway's customer of the account; the one kept first wins (answered)."""
        ...

    def gateway_event_seen(self, gateway: str, event_id: str) -> bool: ...

    def record_gateway_event(
        self, gateway: str, event_id: str, kind: str, object_id: str | None, outcome: str, now: datetime
    ) -> None: ...

    # -- billing information (rules K4, K7, Y2, Y3)

    def add_payment_method(
        self, account_id: int, kind: str, gateway: str, token: str, card: CardDetails | None, paypal_email: str | None,
        now: datetime, billing_address: Mapping[str, str | None] | None = None,
    ) -> int: ...  # fmt: skip

    def remove_payment_method(self, account_id: int, payment_method_id: int, now: datetime) -> bool:
        """Remove a saved method; when it was the default, the backup (or else the newest) becomes the default."""
        ...

    def set_contact(self, account_id: int, kind: str, fields: Mapping[str, str | None]) -> None: ...

    # -- the backup payment method (rule BM1; adapters/db/backup_store.py)

    def payment_roles(self, account_id: int) -> PaymentRoles: ...

    def backup_payment_method(self, account_id: int) -> PaymentMethodRecord | None: ...

    def backup_payment_methods(self, account_ids: Collection[int]) -> dict[int, PaymentMethodRecord]: ...

    def set_backup_method(self, account_id: int, method_id: int | None) -> None: ...

    def swap_with_backup(self, account_id: int, primary_id: int | None, backup_id: int) -> None: ...

    # -- extra notice addresses (rule N1; adapters/db/notice_store.py)

    def notice_addresses(self, account_id: int) -> list[str]:
        """The account's extra notice addresses, in the order they were added."""
        ...

    def add_notice_address(self, account_id: int, email: str, now: datetime) -> None: ...

    def remove_notice_address(self, account_id: int, email: str) -> bool:
        """Whether the address was one of the account's."""
        ...

    def replace_notice_addresses(self, account_id: int, emails: Sequence[str], now: datetime) -> None: ...

    # -- documents (rules I3, I5)

    def invoice_document(self, number: str) -> InvoiceDocument | None:
        """An issued invoice or credit note by its number; product names and the seller are left to the caller."""
        ...

    # -- credit notes (rule I2)

    def issued_invoice(self, number: str) -> IssuedInvoice | None: ...

    def issue_credit_note(self, note: CreditNote, reason: str, now: datetime) -> str:
        """Write the credit note with the next number of its series; its number."""
        ...

    # -- e-mail through the outbox (rules I4, I8, L3)

    def enqueue_mail(
        self,
        account_id: int,
        kind: str,
        now: datetime,
        *,
        invoice_id: int | None = None,
        data: Mapping[str, object] | None = None,
    ) -> None:
        """Write a message in this transaction, to be sent after it commits (never lost, rule I4)."""
        ...

    def claim_mail(self, now: datetime, lease_seconds: float, limit: int) -> list[OutboxMessage]: ...

    def mark_mail_sent(self, message_id: int, now: datetime, data: Mapping[str, object] | None = None) -> None:
        """Sent; ``data`` replaces what the message said, when that held a secret (a password link)."""
        ...

    # -- tax (rule T1)

    def tax_buyers(self, account_ids: Sequence[int]) -> dict[int, TaxBuyer]: ...

    # -- tax exemption certificates (services/tax_exemption.py, rule TE1)

    def current_exemption(self, account_id: int) -> ExemptionRecord | None: ...

    def add_exemption(
        self, account_id: int, country: str, certificate: Certificate, sent_by: str, now: datetime
    ) -> int: ...

    def decide_exemption(
        self, exemption_id: int, account_id: int, accept: bool, reason: str | None, decided_by: str, now: datetime
    ) -> None: ...

    def clear_exemption(self, account_id: int, now: datetime) -> bool: ...

    # -- free trials (services/trials.py, rule TR1)

    def trial(self, account_id: int) -> TrialRecord | None: ...

    def start_trial(
        self, account_id: int, product: str, order_id: int | None, started_at: datetime, ends_at: datetime
    ) -> None: ...

    def trials_ending(self, by: datetime, now: datetime, limit: int) -> list[TrialRecord]: ...

    def claim_trial_reminder(self, account_id: int, now: datetime) -> bool: ...

    # -- invoice terms and bank transfer (services/payment_terms.py, services/bank_payments.py, rule NT1)

    def terms_days(self, account_id: int) -> int | None: ...

    def set_terms_days(self, account_id: int, days: int | None) -> None: ...

    def invoice_account_by_number(self, number: str) -> int | None: ...

    def lock_terms_invoice(self, account_id: int, number: str) -> TermsInvoice | None: ...

    def bank_payment_by_reference(self, reference: str) -> BankPaymentRecord | None: ...

    def book_bank_payment(
        self,
        invoice: TermsInvoice,
        reference: str,
        amount: int,
        received_on: date,
        source: str,
        actor: str,
        now: datetime,
    ) -> tuple[int, int, int]: ...

    def terms_invoices_past_due(self, now: datetime) -> list[tuple[int, int, datetime]]: ...

    # -- VAT numbers in the registry (services/vat_numbers.py, rule T2)

    def vat_check(self, number: str) -> VatCheckRecord | None: ...

    def save_vat_check(
        self, number: str, status: str, answer: VatAnswer, now: datetime, next_check_at: datetime | None,
        attempts: int,
    ) -> None: ...  # fmt: skip

    def vat_checks_due(self, now: datetime, limit: int) -> list[VatCheckRecord]: ...

    def accounts_with_vat_number(self, number: str) -> list[int]: ...

    # -- exchange rates (services/invoice_documents.py)

    def exchange_rate(self, currency: str, issued_on: date) -> ExchangeRate:
        """The bank's rate of the last working day before ``issued_on``; refused (``rates.missing``) when it is not
        certain."""
        ...

    # -- express pay (services/express_pay.py)

    def express_invoice(self, account_number: str, invoice_number: str) -> ExpressInvoice | None: ...

    def add_one_time_method(
        self, account_id: int, kind: str, gateway: str, token: str, card: CardDetails | None,
        paypal_email: str | None, now: datetime,
    ) -> PaymentMethodRecord: ...  # fmt: skip

    # -- API keys (services/api_keys.py)

    def account_code(self, account_id: int) -> str | None: ...

    def insert_api_key(
        self, account_id: int | None, name: str, scope: str, prefix: str, secret_hash: str, now: datetime
    ) -> ApiKeyRecord: ...

    def api_keys(self, account_id: int | None) -> list[ApiKeyRecord]:
        """Every key (None) or the account's, oldest first."""
        ...

    def api_key(self, prefix: str) -> ApiKeyRecord | None: ...

    def revoke_api_key(self, key_id: int, now: datetime) -> bool:
        """Revoke a live key; False when it was revoked already."""
        ...


class BooksSnapshot(Protocol):
    """One consistent, read-only view of the stored books that no writer waits for (``prorata verify``): entered, it
    holds its snapshot until it is left; each check of ``domain/invariants.py`` reads it."""

    def __enter__(self) -> BooksSnapshot: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    def account_id(self, code: str) -> int | None: ...

    def run(
        self, codes: Sequence[str], scope: VerificationScope, now: datetime
    ) -> list[tuple[CheckTiming, list[Violation]]]:
        """The checks of the invariants ``codes`` in ``scope``, in that order: each one's time and what it finds."""
        ...


class VerificationLog(Protocol):
    """Where each verification is kept (the operator console shows the last one)."""

    def save(self, verification: Verification, actor: str) -> int: ...

    def latest(self) -> Verification | None: ...


class BillingRunLog(Protocol):
    """Where each billing run is told as it goes (``services/billing_runs.py``; the console lists them). Each call
    is a short transaction of its own, never the run's: a run that fails is still told."""

    def start(self, until: datetime, actor: str, now: datetime) -> int: ...

    def progress(self, run_id: int, done: int, due: int) -> None: ...

    def finish(self, run_id: int, summary: Mapping[str, Any], problems: Mapping[str, Any], now: datetime) -> None: ...

    def fail(self, run_id: int, error: str, now: datetime) -> None: ...
