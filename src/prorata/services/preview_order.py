"""Preview an order: the quote of a cart on an account as it stands, written nowhere (rules C6, K3, P6).

The portal's order summary and the API's ``POST /accounts/{id}/quote`` show exactly what ``place_order`` will charge
while the quote is valid: the same engine, the same account snapshot, the same clock. The one write: an account whose
billing period has ended is renewed first, as the billing run would renew it and as ``place_order`` does (rule C7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prorata.domain.cart import Change
from prorata.domain.catalog import Catalog
from prorata.domain.engine import quote
from prorata.domain.invoice_lines import Quote
from prorata.domain.tax import TaxRules
from prorata.services import discounts, trials
from prorata.services.ports import Clock, UnitOfWork
from prorata.services.renew_account import RenewAccount, behind, period_ended, renew_account
from prorata.services.taxation import tax_decision


@dataclass(frozen=True, slots=True)
class PreviewOrder:
    account_id: int
    changes: tuple[Change, ...]
    role: str = "owner"
    actor: str = "renewal on access"  # who asked, for the audit trail of a renewal the quote makes first (rule C7)
    discount_code: str | None = None  # rule DC1: a code entered with the order


def preview_order(
    command: PreviewOrder,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    catalog: Catalog,
    tax: TaxRules | None = None,
) -> Quote:
    now = clock.now()
    with uow() as tx:
        account = tx.load_account(command.account_id, lock=False)
        rate = tax_decision(tx, command.account_id, tax)  # taxed as place_order will tax it (rules C6, T1)
    if period_ended(account, now) is not None:
        # rule C7: renewed as the billing run would renew it, then priced on the period the instant falls in
        renewal = renew_account(RenewAccount(command.account_id, command.actor, until=now), uow=uow, clock=clock,
                                catalog=catalog, tax=tax)  # fmt: skip
        with uow() as tx:
            account = tx.load_account(command.account_id, lock=False)
        if (ended := period_ended(account, now)) is not None:
            raise behind(renewal, ended)
    redeem = None
    if command.discount_code is not None and command.discount_code.strip():
        with uow() as tx:  # checked as placing the order will check it (rule DC1)
            taken = discounts.for_order(tx, command.account_id, account, command.discount_code, now)
        redeem = taken[1] if taken is not None else None
    if trials.requested(command.changes) is not None:  # rule TR1: refused here as placing it would refuse it
        with uow() as tx:
            account = trials.prepare(tx, command.account_id, account, command.changes, catalog,
                                     tx.default_payment_method(command.account_id))  # fmt: skip
    return quote(account, catalog, now, command.changes, role=command.role, tax=rate, redeem=redeem)
