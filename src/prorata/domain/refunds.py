"""Refunds: where the money a credit note gives back goes, and when it may go back to the card (rules R1, R2).

A credit note of a paid invoice gives back what the customer put in for the lines it reverses (never more, rule R2,
``domain/credit_notes.py``). That amount goes to one of two destinations, the customer's or operator's choice:

- ``credit_balance``: all of it to the account's credit balance, at any time;
- ``original_method``: the part that was paid in money goes back to the charge's payment method through the
  gateway, never more than the invoice's successful payments less what earlier refunds of it took (rule R2); the
  part that came from the credit balance goes back to the balance. Only within 30 days of the corrected invoice's
  issue date (the renewal or first purchase), counted in the account's days (rule X2); later the request is refused
  with rule R1 named, unless an operator gives a reason to override, which is kept and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.periods import local_date, time_zone

CREDIT_BALANCE = "credit_balance"
ORIGINAL_METHOD = "original_method"
DESTINATIONS = (CREDIT_BALANCE, ORIGINAL_METHOD)
REQUESTERS = ("customer", "operator")
WINDOW_DAYS = 30  # rule R1


@dataclass(frozen=True, slots=True)
class RefundSplit:
    """What a credit note gives back, by destination."""

    to_method: int  # through the gateway, to the charge's payment method
    to_balance: int  # to the account's credit balance


def check_destination(destination: str, requested_by: str) -> None:
    if destination not in DESTINATIONS:
        raise InvalidInput("refund.destination", f"refund: {destination!r} is not one of {', '.join(DESTINATIONS)}",
                           rule="R2", field="refund")  # fmt: skip
    if requested_by not in REQUESTERS:
        raise InvalidInput("refund.requested_by", f"requested_by: {requested_by!r} is not customer or operator",
                           rule="R1", field="requested_by")  # fmt: skip


def check_window(issued_at: datetime, now: datetime, account_time_zone: str, override_reason: str | None) -> bool:
    """Rule R1: whether the refund is within the 30 days of the corrected invoice's issue (True), or outside them and
    overridden by the operator's reason (False); outside them without a reason it is refused."""
    zone = time_zone(account_time_zone)
    days = (local_date(now, zone) - local_date(issued_at, zone)).days
    if days <= WINDOW_DAYS:
        return True
    if override_reason and override_reason.strip():
        return False
    raise RuleViolation(
        "refund.window_closed",
        f"refund: the invoice was issued {days} days ago; a refund to the original payment method is made only "
        f"within {WINDOW_DAYS} days of it (an operator may override with a reason), or choose the credit balance",
        rule="R1",
        field="refund",
        days=days,
    )


def split_refund(give_back: int, destination: str, paid: int, refunded: int) -> RefundSplit:
    """Rule R2: ``give_back`` (what the note returns, already capped) split between the payment method and the
    balance; ``paid`` is what the invoice's successful payments paid for it, ``refunded`` what earlier refunds of it
    took back (or hold: pending or failed and not yet sent elsewhere)."""
    if give_back <= 0:
        return RefundSplit(0, 0)
    if destination == CREDIT_BALANCE:
        return RefundSplit(0, give_back)
    to_method = max(0, min(give_back, paid - refunded))
    return RefundSplit(to_method, give_back - to_method)


def refund_key(refund_id: int, attempt: int) -> str:
    """The gateway's idempotency key of one attempt: the same attempt asked again never refunds twice."""
    return f"refund-{refund_id}-attempt-{attempt}"
