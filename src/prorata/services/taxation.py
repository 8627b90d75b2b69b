"""Which rate each account pays, from its Sold-To contact and the installation's tax rules (rules T1, T2).

Every use case that prices (placing and previewing an order, the billing run, reconciliation) asks here, so that a
preview, the order it previews and a reconciled order are taxed alike (rule C6).
"""

from __future__ import annotations

from collections.abc import Sequence

from prorata.catalogs import default_tax_rules
from prorata.domain.tax import TaxBuyer, TaxDecision, TaxRules, decide
from prorata.services.ports import UnitOfWork


def tax_decisions(tx: UnitOfWork, account_ids: Sequence[int], rules: TaxRules | None) -> dict[int, TaxDecision]:
    """The decision for each account; ``rules`` None means the built-in configuration (a Polish seller)."""
    rules = rules if rules is not None else default_tax_rules()
    return {account_id: decide(rules, buyer) for account_id, buyer in tx.tax_buyers(account_ids).items()}


def tax_decision(tx: UnitOfWork, account_id: int, rules: TaxRules | None) -> TaxDecision:
    return tax_decisions(tx, [account_id], rules)[account_id]


def tax_decision_for(buyer: TaxBuyer, rules: TaxRules | None) -> TaxDecision:
    """The decision for a buyer the caller read already (placing an order reads it with the order's context)."""
    return decide(rules if rules is not None else default_tax_rules(), buyer)
