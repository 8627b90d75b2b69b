"""The e-mail check (invariant 7, rule I4): every issued invoice has its message in the outbox.

An order's invoice has its confirmation, written with the order. A renewal's invoice is told by its first collection
attempt (the receipt, or the failed payment), due on its issue date: a renewal still open that no attempt has settled
and that was issued less than a day ago is not expected to have one yet. Credit notes send no e-mail (nothing in
Prorata writes one), so they are not asked for one. Webhook events, once they exist, are checked here beside it.
"""

from __future__ import annotations

from datetime import timedelta

from prorata.adapters.db.verify.common import INVOICE_HEAD, Context, invoice_ref, number_of, violation
from prorata.domain.invariants import Violation

FIRST_ATTEMPT_WITHIN = timedelta(days=1)


def invoice_email(ctx: Context) -> list[Violation]:
    waiting = (
        "(CASE WHEN i.order_id IS NULL AND i.status = 'open' AND i.issued_at > :grace_from AND NOT EXISTS "
        "(SELECT 1 FROM payments p WHERE p.invoice_id = i.id AND p.status <> 'pending') THEN 1 ELSE 0 END)"
    )
    rows = ctx.rows(
        f"SELECT {INVOICE_HEAD}, i.status, i.order_id FROM invoices i WHERE i.series = 'INV' AND i.number IS NOT NULL"
        f"{ctx.where('i.account_id', 'i.issued_at')}{ctx.share('i.id')} "
        f"AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.invoice_id = i.id) AND {waiting} = 0",
        grace_from=ctx.now - FIRST_ATTEMPT_WITHIN,
    )
    out = []
    for r in rows:
        kind = f"order {r['order_id']}'s confirmation" if r["order_id"] is not None else "its receipt or payment notice"
        out.append(
            violation(
                "inv.invoice_email",
                f"{number_of(r)} ({r['status']}) has no e-mail in the outbox: {kind} was never written",
                invoice_ref(r),
                account_id=r["account_id"],
            )
        )
    return out
