"""A billing run told as it goes: started, its progress while it renews, then what it did and what it left.

``logged_run`` wraps ``renew_due`` (the run itself is unchanged) for every door that starts one: ``prorata bill``,
``prorata clock advance`` and the API's ``POST /operator/billing-runs``. The log is written in short transactions
of its own (``BillingRunLog``), so a run that fails is still told, with why; progress is written at most once a
second, so a run of a million accounts writes a few hundred rows' updates, not a million.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prorata.domain.catalog import Catalog
from prorata.domain.dunning import DunningPolicy
from prorata.domain.tax import TaxRules
from prorata.services.ports import BillingRunLog, Clock, PaymentGateway, UnitOfWork
from prorata.services.renew_due import BillingRunReport, Progress, RenewDue, renew_due

PROGRESS_EVERY = 1.0  # seconds between two writes of a run's progress
KEPT = 1000  # refused accounts and unattempted invoices kept with a run, each


def summary(report: BillingRunReport) -> dict[str, Any]:
    """What a run did, counted."""
    return {
        "complete": report.complete, "accounts": report.accounts, "invoices": len(report.invoices),
        "first_invoice": report.invoices[0] if report.invoices else None,
        "last_invoice": report.invoices[-1] if report.invoices else None,
        "subscriptions_renewed": report.subscriptions_renewed, "payments_succeeded": report.payments_succeeded,
        "payments_failed": report.payments_failed, "payments_waiting": report.payments_waiting,
        "accounts_overdue": len(report.accounts_overdue), "accounts_reenabled": len(report.accounts_reenabled),
        "accounts_cancelled": len(report.accounts_cancelled), "trials_reminded": len(report.trials_reminded),
        "refused": len(report.refused),
        "not_renewed": len(report.not_renewed), "not_attempted": len(report.not_attempted),
    }  # fmt: skip


def problems(report: BillingRunReport) -> dict[str, Any]:
    """What a run left for the operator, with each one's reason (the first ``KEPT`` of each kind)."""
    return {
        "refused": [{"account_id": r.account_id, "code": r.code, "message": r.message, "rule": r.rule}
                    for r in report.refused[:KEPT]],
        "not_renewed": [{"account_id": r.account_id, "code": r.code, "message": r.message, "rule": r.rule}
                        for r in report.not_renewed[:KEPT]],
        "not_attempted": [{"invoice_id": i.invoice_id, "account_id": i.account_id, "code": i.code,
                           "message": i.message, "rule": i.rule} for i in report.not_attempted[:KEPT]],
        "failed": [{"invoice_id": f.invoice_id, "account_id": f.account_id, "code": f.code}
                   for f in report.failed[:KEPT]],
        "overdue": report.accounts_overdue[:KEPT],
        "cancelled": report.accounts_cancelled[:KEPT],
    }  # fmt: skip


def logged_run(
    command: RenewDue,
    *,
    actor: str,
    log: BillingRunLog,
    wall: Clock,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    catalog: Catalog,
    dunning: DunningPolicy,
    tax: TaxRules | None = None,
    progress: Progress | None = None,
) -> BillingRunReport:
    """``renew_due``, told to ``log``; ``wall`` is real time (how long the run took), ``clock`` the billing's."""
    run_id = log.start(command.until, actor, wall.now())
    told = [0.0]

    def tell(done: int, due: int) -> None:
        if progress is not None:
            progress(done, due)
        now = time.monotonic()
        if done >= due or now - told[0] >= PROGRESS_EVERY:
            log.progress(run_id, done, due)
            told[0] = now

    try:
        report = renew_due(command, uow=uow, clock=clock, gateway=gateway, catalog=catalog, dunning=dunning,
                           progress=tell, tax=tax)  # fmt: skip
    except BaseException as error:
        log.fail(run_id, f"{type(error).__name__}: {error}", wall.now())
        raise
    log.finish(run_id, summary(report), problems(report), wall.now())
    return report
