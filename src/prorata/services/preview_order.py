"""Preview an order: the quote of a cart on an account as it stands, written nowhere (rules C6, K3, P6).

The portal's order summary and the API's ``POST /accounts/{id}/quote`` show exactly what ``place_order`` will charge
while the quote is valid: the same engine, the same account snapshot, the same clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prorata.domain.cart import Change
from prorata.domain.catalog import Catalog
from prorata.domain.engine import quote
from prorata.domain.invoice_lines import Quote
from prorata.domain.tax import TaxRules
from prorata.services.ports import Clock, UnitOfWork
from prorata.services.taxation import tax_decision


@dataclass(frozen=True, slots=True)
class PreviewOrder:
    account_id: int
    changes: tuple[Change, ...]
    role: str = "owner"


def preview_order(
    command: PreviewOrder,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    catalog: Catalog,
    tax: TaxRules | None = None,
) -> Quote:
    with uow() as tx:
        account = tx.load_account(command.account_id, lock=False)
        rate = tax_decision(tx, command.account_id, tax)  # taxed as place_order will tax it (rules C6, T1)
    return quote(account, catalog, clock.now(), command.changes, role=command.role, tax=rate)
