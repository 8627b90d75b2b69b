"""Invoice terms and bank transfer (rule NT1): who may pay by invoice with net terms, and what a bank payment is.

An account on terms has its invoices issued with a due date ``terms_days`` after the issue, carrying the seller's
bank account and the invoice number as the payment reference; no card is charged for them, and collection leaves
them alone until the due date passes. Only an account whose recurring charges reach the configured threshold a month
in its currency may be switched (``TermsThresholds``): a yearly subscription counts a twelfth of its price, a
one-month product (rule A8) never recurs and does not count.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

from prorata.domain.account import Account
from prorata.domain.catalog import Catalog, ProductKind
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.money import check_currency, currency_exponent

DEFAULT_TERMS_DAYS = 30  # rule NT1: Net 30
MAX_TERMS_DAYS = 120  # a due date within a third of a year; longer credit is a contract, not a setting
DEFAULT_THRESHOLD_USD = 250  # rule NT1: at least 250 USD a month
MAX_BANK_REFERENCE = 64
_INVOICE_NUMBER = re.compile(r"[A-Z]{2,16}-[0-9]{4}-[0-9]{6}")


def terms_days_problem(days: object) -> str | None:
    """Why ``days`` cannot be an account's net terms, or None: a whole number of days from 1 to ``MAX_TERMS_DAYS``."""
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_TERMS_DAYS:
        return f"a whole number of days from 1 to {MAX_TERMS_DAYS}"
    return None


def check_terms_days(days: object) -> int:
    problem = terms_days_problem(days)
    if problem is not None:
        raise InvalidInput("terms.days", f"days: {problem}, not {days!r}", rule="NT1", field="days",
                           max=MAX_TERMS_DAYS)  # fmt: skip
    assert isinstance(days, int)
    return days


@dataclass(frozen=True, slots=True)
class TermsThresholds:
    """Rule NT1: the least monthly recurring charge, in minor units per currency, of an account that may be put on
    terms. A currency without a threshold has no equivalent configured: its accounts are refused, never guessed."""

    minimum: Mapping[str, int] = field(default_factory=lambda: {"USD": DEFAULT_THRESHOLD_USD * 100})

    def of(self, currency: str) -> int:
        found = self.minimum.get(currency.upper())
        if found is None:
            raise RuleViolation(
                "terms.no_threshold",
                f"account: no threshold for invoice terms is configured in {currency.upper()} "
                f"(configured: {', '.join(sorted(self.minimum)) or 'none'})",
                rule="NT1",
                field="account",
                currency=currency.upper(),
            )
        return found


def parse_thresholds(text: str, *, field: str) -> TermsThresholds:
    """``USD=250,EUR=230,PLN=1000``: whole or decimal amounts in each currency's major unit (at most its minor
    digits), comma-separated; refused naming ``field`` when it is anything else."""
    minimum: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        code, _, amount = part.partition("=")
        try:
            currency = check_currency(code.strip().upper(), field=field)
            exponent = currency_exponent(currency, field=field)
        except InvalidInput:
            raise InvalidInput("config.terms_threshold", f"{field}: {code.strip()!r} is not a currency code "
                               "(e.g. USD=250,PLN=1000)", rule="NT1", field=field) from None  # fmt: skip
        whole, dot, minor = amount.strip().partition(".")
        if not (whole.isascii() and whole.isdigit()) or (dot and not (minor.isascii() and minor.isdigit()))\
                or len(minor) > exponent:  # fmt: skip
            raise InvalidInput("config.terms_threshold", f"{field}: {amount.strip()!r} is not an amount in "
                               f"{currency} (e.g. {currency}=250)", rule="NT1", field=field)  # fmt: skip
        minimum[currency] = int(whole) * 10**exponent + (int(minor.ljust(exponent, "0")) if minor else 0)
    if not minimum:
        raise InvalidInput("config.terms_threshold", f"{field}: at least one currency=amount (e.g. USD=250)",
                           rule="NT1", field=field)  # fmt: skip
    return TermsThresholds(minimum)


def monthly_recurring(account: Account, catalog: Catalog) -> Fraction:
    """The account's recurring charges a month at list price, in minor units, exact: what renews (a yearly
    subscription a twelfth of its price); a subscription being cancelled still counts until it ends."""
    total = Fraction(0)
    for sub in account.subscriptions:
        product = catalog.product(sub.product)
        if product.kind is ProductKind.ONE_TIME_MONTH:
            continue
        price = catalog.unit_price(product, sub.interval, account.currency)
        total += Fraction(price * sub.quantity, sub.interval.months)
    return total


def check_eligible(account: Account, catalog: Catalog, thresholds: TermsThresholds) -> None:
    """Rule NT1: refused, naming the threshold, when the account's monthly recurring charge is below it."""
    least = thresholds.of(account.currency)
    monthly = monthly_recurring(account, catalog)
    if monthly < least:
        raise RuleViolation(
            "terms.below_threshold",
            f"account: invoice terms need recurring charges of at least {least} (minor units of "
            f"{account.currency}) a month; this account's are {int(monthly)}",
            rule="NT1",
            field="account",
            threshold=least,
            monthly=int(monthly),
            currency=account.currency,
        )


@dataclass(frozen=True, slots=True)
class BankPayment:
    """A bank transfer received for an invoice (rule NT1), as the operator or the bank statement tells it."""

    invoice_number: str
    amount: int  # minor units, > 0
    currency: str
    received_on: date
    bank_reference: str  # the bank's own reference of the transfer: the same one is booked once

    def __post_init__(self) -> None:
        if not _INVOICE_NUMBER.fullmatch(self.invoice_number):
            raise InvalidInput("bank_payment.invoice_number", f"invoice_number: {self.invoice_number!r} is not an "
                               "invoice number (e.g. INV-2026-000001)", rule="NT1",
                               field="invoice_number")  # fmt: skip
        if not isinstance(self.amount, int) or isinstance(self.amount, bool) or self.amount <= 0:
            raise InvalidInput("bank_payment.amount", "amount: a positive whole number of minor units",
                               rule="NT1", field="amount")  # fmt: skip
        check_currency(self.currency)
        reference = self.bank_reference
        if not reference or len(reference) > MAX_BANK_REFERENCE or not reference.isprintable() or \
                reference != reference.strip():  # fmt: skip
            raise InvalidInput("bank_payment.reference", f"bank_reference: the bank's reference of the transfer, "
                               f"1 to {MAX_BANK_REFERENCE} printable characters", rule="NT1",
                               field="bank_reference")  # fmt: skip


def find_invoice_number(text: str) -> str | None:
    """The first invoice number a transfer's remittance information names (``Faktura INV-2026-000012``), or None."""
    found = _INVOICE_NUMBER.search(text.upper())
    return found.group(0) if found else None


@dataclass(frozen=True, slots=True)
class BankPaymentRecord:
    id: int
    account_id: int
    invoice_id: int
    invoice_number: str
    bank_reference: str
    amount: int
    currency: str
    applied: int
    excess: int
    received_on: date
    source: str
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class TermsInvoice:
    """An issued invoice as recording a bank payment sees it, read under its lock."""

    id: int
    account_id: int
    number: str
    status: str
    currency: str
    amount_due: int
    terms_days: int | None
    due_at: datetime | None
