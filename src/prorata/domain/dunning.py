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


def cancels_at(overdue_since: datetime) -> datetime:
    return overdue_since + timedelta(days=CANCEL_AFTER_OVERDUE_DAYS)
