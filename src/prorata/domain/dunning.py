"""Collecting renewal invoices: when to try a card again, when an account is overdue, when it is cancelled (I8).

One ``DunningPolicy`` holds the whole schedule. The installation's policy is read from configuration when the process
starts (``prorata.config.dunning``) and handed down from ``bootstrap`` to everything that reads the schedule: the
billing run's collection and follow-up, the entitlements (until when an overdue account holds what it holds), the
console's dunning funnel and the e-mails that name a retry or a cancellation date. ``DunningPolicy()`` is the
default schedule, and its field defaults are the one place where the default days are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from prorata.domain.errors import InvalidInput

# The bounds an operator's schedule is held to: a few retries within a quarter, a cancellation within a year
MAX_RETRIES = 10
MAX_RETRY_DAY = 90
MAX_CANCEL_DAYS = 365


def retry_days_problem(days: Sequence[object]) -> str | None:
    """Why ``days`` cannot be a schedule of retries, or None: whole numbers of days after the issue date, strictly
    increasing, from 1 to ``MAX_RETRY_DAY``, one to ``MAX_RETRIES`` of them."""
    if not 1 <= len(days) <= MAX_RETRIES:
        return f"from 1 to {MAX_RETRIES} days"
    if not all(isinstance(day, int) and not isinstance(day, bool) for day in days):
        return "whole numbers of days"
    numbers = [int(day) for day in days if isinstance(day, int)]
    if not all(1 <= day <= MAX_RETRY_DAY for day in numbers):
        return f"days from 1 to {MAX_RETRY_DAY} after the issue date"
    if any(later <= earlier for earlier, later in pairwise(numbers)):
        return "strictly increasing days (each retry after the one before)"
    return None


def cancel_days_problem(days: object) -> str | None:
    """Why ``days`` cannot be the days overdue before cancellation, or None: a whole number from 1 to
    ``MAX_CANCEL_DAYS``."""
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_CANCEL_DAYS:
        return f"a whole number of days from 1 to {MAX_CANCEL_DAYS}"
    return None


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    """Rule I8: the first attempt on the issue date, a retry ``retry_after_days`` after it (each counted from the
    issue date), overdue after the last failure (I6), cancelled ``cancel_after_overdue_days`` after that."""

    retry_after_days: tuple[int, ...] = (1, 3, 5, 7)
    cancel_after_overdue_days: int = 30
    # A renewal's charge the bank asked the customer to confirm (3-D Secure) waits for them until the next attempt is
    # due; after the last attempt, this long before the account becomes overdue (not configurable)
    confirm_window: timedelta = timedelta(days=2)

    def __post_init__(self) -> None:
        # a policy made in code is held to the bounds configuration is held to (prorata.config names the variable)
        problem = retry_days_problem(self.retry_after_days)
        if problem is not None:
            raise InvalidInput("dunning.retry_days", f"retry_after_days: {problem}, not {self.retry_after_days!r}",
                               rule="I8", field="retry_after_days")  # fmt: skip
        problem = cancel_days_problem(self.cancel_after_overdue_days)
        if problem is not None:
            raise InvalidInput("dunning.cancel_days", f"cancel_after_overdue_days: {problem}, not "
                               f"{self.cancel_after_overdue_days!r}", rule="I8",
                               field="cancel_after_overdue_days")  # fmt: skip

    @property
    def attempts(self) -> int:
        """Every attempt an invoice gets: the issue date's and each retry; after them the account is overdue."""
        return 1 + len(self.retry_after_days)

    def next_attempt(self, issued_at: datetime, failed_attempts: int) -> datetime | None:
        """When the next payment attempt is due; None once every attempt has failed (the account is then overdue)."""
        if failed_attempts == 0:
            return issued_at
        if failed_attempts <= len(self.retry_after_days):
            return issued_at + timedelta(days=self.retry_after_days[failed_attempts - 1])
        return None

    def collection_due(self, issued_at: datetime, attempts: int, waiting_since: datetime | None) -> datetime | None:
        """When collection next acts on an open invoice after ``attempts`` attempts (failed, or waiting for the
        customer): the next attempt's day; after the last one, the end of a waiting charge's confirmation window
        (it is then given up and the account becomes overdue); None when nothing is left to do."""
        due = self.next_attempt(issued_at, attempts)
        if due is None and waiting_since is not None:
            return waiting_since + self.confirm_window
        return due

    def cancels_at(self, overdue_since: datetime) -> datetime:
        """When an account overdue since ``overdue_since`` has its subscriptions ended, unless it pays first."""
        return overdue_since + timedelta(days=self.cancel_after_overdue_days)
