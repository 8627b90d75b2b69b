"""Collecting renewal invoices: when to try a card again, when an account is overdue, when it is cancelled (I8)."""

from __future__ import annotations

from datetime import datetime, timedelta

RETRY_AFTER_DAYS = (1, 3, 5, 7)  # after the first attempt on the issue date
CANCEL_AFTER_OVERDUE_DAYS = 30


def next_attempt(issued_at: datetime, failed_attempts: int) -> datetime | None:
    """When the next payment attempt is due; None once every attempt has failed (the account is then overdue)."""
    if failed_attempts == 0:
        return issued_at
    if failed_attempts <= len(RETRY_AFTER_DAYS):
        return issued_at + timedelta(days=RETRY_AFTER_DAYS[failed_attempts - 1])
    return None


# A renewal's charge the bank asked the customer to confirm (3-D Secure) waits for them until the next attempt is
# due; after the last attempt, this long before the account becomes overdue
CONFIRM_WINDOW = timedelta(days=2)


def collection_due(issued_at: datetime, attempts: int, waiting_since: datetime | None) -> datetime | None:
    """When collection next acts on an open invoice after ``attempts`` attempts (failed, or waiting for the
    customer): the next attempt's day; after the last one, the end of a waiting charge's confirmation window (it is
    then given up and the account becomes overdue); None when nothing is left to do."""
    due = next_attempt(issued_at, attempts)
    if due is None and waiting_since is not None:
        return waiting_since + CONFIRM_WINDOW
    return due


def cancels_at(overdue_since: datetime) -> datetime:
    return overdue_since + timedelta(days=CANCEL_AFTER_OVERDUE_DAYS)
