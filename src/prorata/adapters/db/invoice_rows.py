"""Invoice rows as the unit of work writes them, for orders and renewals alike (rules C4, I2, T3), and what payments
paid for an invoice, as every reader computes it (rule I3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from prorata.adapters.db.schema import credit_ledger, invoices, payments
from prorata.domain.invoice_lines import Quote

INVOICE_SERIES = "INV"


def line_rows(invoice_id: int, quote: Quote, new_ids: Mapping[str, int]) -> list[dict[str, Any]]:
    """The invoice's lines as rows; ``new_ids`` maps the engine's provisional ids of subscriptions written just now."""
    return [
        {
            "invoice_id": invoice_id,
            "position": position,
            "kind": line.kind.value,
            "subscription_id": subscription_id_of(line.subscription, new_ids),
            "product": line.product,
            "description": line.description,
            "quantity": line.quantity,
            "unit_amount": line.unit_amount,
            "period_start": line.period.start,
            "period_end": line.period.end,
            "used": line.used,
            "whole": line.whole,
            "amount": line.amount,
            "basis": line.basis,
            "tax_rate": line.tax_rate,
            "tax": line.tax,
            "whole_start": line.billing_period.start if line.billing_period else None,
            "whole_end": line.billing_period.end if line.billing_period else None,
            "discount_code": line.discount,
        }
        for position, line in enumerate(quote.lines, start=1)
    ]


def tax_columns(quote: Quote) -> dict[str, object]:
    """Rules T1, T2: the country the tax was decided for, and whether the reverse-charge note is printed."""
    decision = quote.tax_decision
    return {"tax_country": decision.country or None, "reverse_charge": decision.reverse_charge}


def subscription_id_of(engine_id: str, new_ids: Mapping[str, int]) -> int | None:
    return int(engine_id) if engine_id.isdigit() else new_ids.get(engine_id)


# Rule I3: what payments paid for an invoice (correlated to ``invoices``): the money received for it, less what went
# to the credit balance because the invoice no longer owed it (an overpayment)
AMOUNT_PAID = (
    select(func.coalesce(func.sum(payments.c.amount), 0))
    .where(payments.c.invoice_id == invoices.c.id, payments.c.status.in_(("succeeded", "credited")))
    .correlate(invoices)
    .scalar_subquery()
) - (
    select(func.coalesce(func.sum(credit_ledger.c.amount), 0))
    .where(credit_ledger.c.invoice_id == invoices.c.id, credit_ledger.c.reason == "overpayment")
    .correlate(invoices)
    .scalar_subquery()
)
