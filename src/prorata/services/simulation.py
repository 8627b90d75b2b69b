"""Moving a simulation installation's clock forward, a day at a time, billing each day as production would.

Renewals, payment retries and dunning then happen on their own dates (rules C7, I6, I8), as they would over the
same days in production. ``prorata clock advance`` and the operator console's clock both do it through here; each
day's billing run is told in the billing runs' log like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from prorata.services.renew_due import BillingRunReport


def advance(start: datetime, target: datetime, *, move: Callable[[datetime], None],
            bill: Callable[[datetime], BillingRunReport]) -> BillingRunReport:  # fmt: skip
    """Move the clock from ``start`` to ``target`` a day at a time (``move``), billing each day (``bill``); the
    days' reports added up."""
    total = BillingRunReport()
    step = start
    while step < target:
        step = min(step + timedelta(days=1), target)
        move(step)
        merge(total, bill(step))
    return total


def merge(total: BillingRunReport, day: BillingRunReport) -> None:
    total.accounts += day.accounts
    total.invoices += day.invoices
    total.subscriptions_renewed += day.subscriptions_renewed
    total.payments_succeeded += day.payments_succeeded
    total.payments_failed += day.payments_failed
    total.payments_waiting += day.payments_waiting
    total.accounts_overdue += day.accounts_overdue
    total.accounts_reenabled += day.accounts_reenabled
    total.accounts_cancelled += day.accounts_cancelled
    total.trials_reminded += day.trials_reminded
    total.busy += day.busy
    total.left_to_another_run += day.left_to_another_run
    total.refused += day.refused
    total.not_renewed += day.not_renewed
    total.not_attempted += day.not_attempted
    total.failed += day.failed
