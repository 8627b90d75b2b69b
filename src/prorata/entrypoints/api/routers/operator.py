"""The operator's routes: the billing run up to an instant (rules C7, I1, I6, I8), answered as ``prorata bill --json``
prints its ``billing`` part, the verification of the books (``prorata verify``), and the configuration the
installation bills with (``prorata config show``). Opening accounts is in ``accounts.py``, beside the account
routes."""

from __future__ import annotations

from fastapi import APIRouter

from prorata.adapters.db.clock import SystemClock
from prorata.domain.invariants import Verification
from prorata.entrypoints.api.auth import AppDep, OperatorDep
from prorata.entrypoints.api.configuration_schemas import ConfigurationOut
from prorata.entrypoints.api.errors import not_found
from prorata.entrypoints.api.schemas import (
    BillingRunIn,
    BillingRunOut,
    RefusedAccountOut,
    UnattemptedInvoiceOut,
    VerificationIn,
    VerificationOut,
)
from prorata.entrypoints.configuration_document import configuration_document
from prorata.services.billing_runs import logged_run
from prorata.services.billing_window import check_until, parse_until
from prorata.services.renew_due import RefusedAccount, RenewDue
from prorata.services.verify_books import VerifyBooks, last_verification, verify_books

router = APIRouter(tags=["operator"])


@router.post(
    "/operator/billing-runs",
    summary="Renew what is due by `until`, collect open invoices, follow up unpaid ones",
)
def post_billing_run(body: BillingRunIn, operator: OperatorDep, app: AppDep) -> BillingRunOut:
    # the same date forms and the same rule about the future as `prorata bill --until` (one function each)
    now = app.clock.now()
    until = now if body.until is None else parse_until(body.until)
    check_until(until, now=now, in_advance=body.bill_in_advance, asked_by='"bill_in_advance": true')
    report = logged_run(
        RenewDue(until, wait=body.wait), actor=operator.actor, log=app.billing_runs(), wall=SystemClock(),
        uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, dunning=app.dunning, tax=app.tax,
    )  # fmt: skip
    return BillingRunOut(
        complete=report.complete, accounts=report.accounts, invoices=list(report.invoices),
        subscriptions_renewed=report.subscriptions_renewed, payments_succeeded=report.payments_succeeded,
        payments_failed=report.payments_failed,
        payments_waiting=report.payments_waiting, accounts_overdue=report.accounts_overdue,
        accounts_reenabled=report.accounts_reenabled, accounts_cancelled=report.accounts_cancelled,
        accounts_trial_reminded=report.trials_reminded,
        accounts_busy=report.busy, accounts_left_to_another_run=report.left_to_another_run,
        accounts_refused=[_account(r) for r in report.refused],
        accounts_not_renewed=[_account(r) for r in report.not_renewed],
        invoices_not_attempted=[UnattemptedInvoiceOut(invoice_id=i.invoice_id, account_id=i.account_id, code=i.code,
                                                      message=i.message, rule=i.rule) for i in report.not_attempted],
    )  # fmt: skip


def _account(refused: RefusedAccount) -> RefusedAccountOut:
    return RefusedAccountOut(
        account_id=refused.account_id, code=refused.code, message=refused.message, rule=refused.rule
    )


@router.post(
    "/operator/verifications",
    summary="Prove that the books balance: check every invariant of the stored books, as `prorata verify` does",
    description="Runs on one read-only snapshot that no billing run, payment or order waits for. `ok` is false when "
    "an invariant is broken; each violation names its code, the rows involved and what is wrong. The result is kept "
    "(`GET /operator/verifications/latest`).",
)
def post_verification(body: VerificationIn, operator: OperatorDep, app: AppDep) -> VerificationOut:
    since = None if body.since is None else parse_until(body.since, field="since")
    command = VerifyBooks(account=body.account, since=since, actor=operator.actor)
    return _out(verify_books(command, books=app.books, log=app.verification_log(), clock=app.clock))


@router.get(
    "/operator/verifications/latest",
    summary="The last verification of the books: when, over what, which checks, what they found",
)
def get_latest_verification(_operator: OperatorDep, app: AppDep) -> VerificationOut:
    found = last_verification(log=app.verification_log())
    if found is None:
        raise not_found("verification", "verification")
    return _out(found)


def _out(verification: Verification) -> VerificationOut:
    return VerificationOut.model_validate(verification.to_dict())


@router.get(
    "/operator/configuration",
    summary="The configuration the installation bills with: the dunning schedule and the seller documents name",
    description="As `prorata config show --json` prints it: the retry days and the days overdue before cancellation "
    "(rule I8), and the seller with its bank account, footer texts and logo (rules I2, I5). Read from the settings the "
    "server started with; no secret is part of it.",
)
def get_configuration(_operator: OperatorDep, app: AppDep) -> ConfigurationOut:
    return ConfigurationOut.model_validate(configuration_document(app.dunning, app.tax))
