"""Renewal on access (rule C7): an account whose period has ended is renewed when it is next touched (an order, a
quote, a view in the portal or the API), so that a customer is never refused for being behind the billing run.

It is the billing run's renewal of one account, by the run's own code (``renew_due.renew_claimed``): the same claim
under the account's lock, the same engine, the same invoice, numbering, audit entries and e-mails; the run then finds
nothing to renew for that account. Two requests and a run at once renew it once: whoever takes the lock first renews,
the others read it renewed. The invoice is collected by the next run like every open invoice (its first attempt is
due on its issue date), so the customer is charged when the run would have charged anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from prorata.domain.account import Account
from prorata.domain.catalog import Catalog
from prorata.domain.engine import next_billing_date
from prorata.domain.errors import RuleViolation
from prorata.domain.tax import TaxRules
from prorata.services.ports import Clock, UnitOfWork
from prorata.services.renew_due import RefusedAccount, renew_claimed

TOUCH_WAIT = 5.0  # how long a customer's request waits for a renewal another transaction holds


@dataclass(frozen=True, slots=True)
class RenewAccount:
    """Renew one account whose period has ended (rule C7), now rather than at the next billing run."""

    account_id: int
    actor: str = "renewal on access"  # who touched the account, for the audit trail
    until: datetime | None = None  # default: the installation's time
    wait: float = TOUCH_WAIT  # seconds to wait for another transaction that holds the account


@dataclass(frozen=True, slots=True)
class AccountRenewal:
    """What ``renew_account`` did: ``renewed`` (``invoices`` made), ``not_due`` (nothing had ended), or why the
    account is still behind: ``busy`` (an order of it is being paid for), ``held`` (another transaction held it
    past the wait) or ``refused`` (the engine's ``refusal``: the next billing run lists it for the operator)."""

    state: str
    invoices: tuple[str, ...] = ()
    refusal: RefusedAccount | None = None


def renew_account(
    command: RenewAccount,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    catalog: Catalog,
    tax: TaxRules | None = None,
) -> AccountRenewal:
    """Rules C7, I1: the billing run's renewal of one account, made when the account is touched (see the module's
    docstring). Costs one read when nothing has ended. A refusal of the engine is not audited here (every page view
    would repeat it): the billing run audits and lists it."""
    until = command.until or clock.now()
    with uow() as tx:
        if not tx.renewal_due(command.account_id, until):
            return AccountRenewal("not_due")
        claim = tx.claim_account(command.account_id, until, wait=command.wait, billing_run=False)
        if claim.state != "claimed":
            return AccountRenewal(claim.state)
        assert claim.account is not None
        written = renew_claimed(
            tx, {command.account_id: claim.account}, until, catalog, clock, tax, actor=command.actor,
            audit_refusals=False,
        )  # fmt: skip
    if written.refused:
        return AccountRenewal("refused", refusal=written.refused[0])
    if not written.renewed:
        return AccountRenewal("not_due")
    return AccountRenewal("renewed", tuple(n for _, numbers in written.renewed for n in numbers if n is not None))


def renew_locked(
    tx: UnitOfWork,
    account_id: int,
    account: Account,
    until: datetime,
    *,
    catalog: Catalog,
    clock: Clock,
    tax: TaxRules | None,
    actor: str,
) -> Account:
    """``renew_account`` inside a transaction that holds the account's lock and has checked that no order of it is
    being paid for (``place_order``): the account renewed, read again under the lock, or the engine's refusal as
    ``behind``. Renewed in the caller's transaction, so it stands or falls with what the caller writes."""
    ended = period_ended(account, until)
    written = renew_claimed(tx, {account_id: account}, until, catalog, clock, tax, actor=actor, audit_refusals=False)
    if written.refused:
        raise behind(AccountRenewal("refused", refusal=written.refused[0]), ended or until)
    return tx.load_account(account_id, lock=True)


def period_ended(account: Account, at: datetime) -> datetime | None:
    """The end of the earliest period of the account that has ended by ``at`` (its renewal is due), or None."""
    due = next_billing_date(account)
    return due if due is not None and due <= at else None


def behind(renewal: AccountRenewal, ended: datetime) -> RuleViolation:
    """The refusal of a quote or an order on an account still behind after ``renew_account`` tried: it is about the
    account's state, not the request, so it names no field of the request."""
    if renewal.state == "refused" and renewal.refusal is not None:
        return RuleViolation(
            "account.renewal_refused",
            f"the billing period ended at {ended.isoformat()} and the account cannot be renewed "
            f"({renewal.refusal.message} [{renewal.refusal.code}]); the seller must look at it",
            rule="C7",
        )
    cause = "an order of this account being paid for" if renewal.state == "busy" else "another change of the account"
    return RuleViolation(
        "account.renewal_waiting",
        f"the billing period ended at {ended.isoformat()} and its renewal waits for {cause}; try again in a moment",
        rule="C7",
    )
