"""Checks of payments and refunds (invariants 3, rules X3, I3, K8, R2).

What paid an invoice is computed from the books, never read from a column that could disagree with them:

- ``paid``: what its succeeded (and credited) payments applied to it: each payment's amount less the part booked to
  the credit balance as an overpayment naming that payment;
- ``added``: credit the invoice added to the balance (a negative total, ledger ``unused_time``);
- ``reduced``: what credit notes took off what was still owed: a note reverses ``-total`` and gives back to the
  balance its ledger entry (``credit_note``); the rest lowered the amount due;
- ``refunded``: what the notes gave back. Refunds are credit notes whose money goes to the credit balance; a refund
  through the gateway, when there is one, is money given back as well and joins ``REFUNDS`` (the same bound holds).
"""

from __future__ import annotations

from prorata.adapters.db.verify.common import INVOICE_HEAD, Context, invoice_ref, money, number_of, violation
from prorata.domain.invariants import RowRef, Violation

RECEIVED = "('succeeded', 'credited')"  # the gateway took the money


def _excess(ctx: Context) -> str:
    """Per payment: what of it went to the credit balance (ledger ``overpayment`` entries naming it)."""
    return (
        "(SELECT e.payment_id, sum(e.amount) AS amount FROM credit_ledger e WHERE e.reason = 'overpayment' "
        f"AND e.payment_id IS NOT NULL{ctx.where('e.account_id')} GROUP BY e.payment_id)"
    )


def _paid(ctx: Context) -> str:
    """Per invoice: what payments paid for it, through the gateway and by bank transfer (rule NT1: the part of a
    transfer that paid it; the rest is a ledger ``bank_overpayment`` naming the invoice)."""
    return (
        f"(SELECT g.invoice_id, sum(g.paid) AS paid FROM (SELECT p.invoice_id, p.amount - coalesce(x.amount, 0) "
        f"AS paid FROM payments p LEFT JOIN {_excess(ctx)} x ON x.payment_id = p.id WHERE p.status IN {RECEIVED}"
        f"{ctx.where('p.account_id')} UNION ALL SELECT b.invoice_id, b.applied FROM bank_payments b WHERE 1 = 1"
        f"{ctx.where('b.account_id')}) g GROUP BY g.invoice_id)"
    )


def _ledger(ctx: Context, reason: str) -> str:
    """Per document: the sum of its ledger entries of ``reason``."""
    return (
        f"(SELECT e.invoice_id, sum(e.amount) AS amount FROM credit_ledger e WHERE e.reason = '{reason}'"
        f"{ctx.where('e.account_id')} GROUP BY e.invoice_id)"
    )


def refunds(ctx: Context) -> str:
    """Per credit note: what it gave back, to the credit balance (ledger ``credit_note``) and to the payment method
    (a refund pending, succeeded, or failed and not sent to the balance: it is owed to the customer either way)."""
    return (
        "(SELECT g.invoice_id, sum(g.amount) AS amount FROM (SELECT e.invoice_id, e.amount FROM credit_ledger e "
        f"WHERE e.reason = 'credit_note'{ctx.where('e.account_id')} UNION ALL SELECT f.credit_note_id, f.amount "
        f"FROM refunds f WHERE f.status IN ('pending', 'succeeded', 'failed'){ctx.where('f.account_id')}) g "
        "GROUP BY g.invoice_id)"
    )


def _notes(ctx: Context) -> str:
    """Per corrected invoice: what its credit notes reduced, what they gave back, whether one voided it."""
    return (
        "(SELECT n.corrects_id, sum(CASE WHEN n.void THEN 0 ELSE -ni.total - coalesce(r.amount, 0) END) AS reduced, "
        "sum(coalesce(r.amount, 0)) AS refunded, count(*) AS notes FROM credit_notes n "
        f"JOIN invoices ni ON ni.id = n.invoice_id LEFT JOIN {refunds(ctx)} r ON r.invoice_id = n.invoice_id "
        f"WHERE 1 = 1{ctx.where('ni.account_id')} GROUP BY n.corrects_id)"
    )


def _figures(ctx: Context) -> str:
    """Every issued invoice in scope with what paid it, added to the balance, and what its notes reduced."""
    return (
        f"SELECT {INVOICE_HEAD}, i.status, i.currency, i.total, i.credit_applied, i.amount_due, "
        "coalesce(pp.paid, 0) AS paid, coalesce(ad.amount, 0) AS added, coalesce(nt.reduced, 0) AS reduced, "
        "coalesce(nt.refunded, 0) AS refunded, coalesce(nt.notes, 0) AS notes "
        f"FROM invoices i LEFT JOIN {_paid(ctx)} pp ON pp.invoice_id = i.id "
        f"LEFT JOIN {_ledger(ctx, 'unused_time')} ad ON ad.invoice_id = i.id "
        f"LEFT JOIN {_notes(ctx)} nt ON nt.corrects_id = i.id "
        f"WHERE i.series = 'INV' AND i.number IS NOT NULL{ctx.where('i.account_id', 'i.issued_at')}"
    )


DUE = "(i.total - i.credit_applied + coalesce(ad.amount, 0))"  # what was due at issue


def overpaid(ctx: Context) -> list[Violation]:
    rows = ctx.rows(f"{_figures(ctx)} AND coalesce(pp.paid, 0) > {DUE}")
    out = []
    for r in rows:
        due = r["total"] - r["credit_applied"] + r["added"]
        payments = ctx.rows(
            f"SELECT p.id FROM payments p WHERE p.invoice_id = :invoice AND p.status IN {RECEIVED} ORDER BY p.id",
            invoice=r["id"],
        )
        out.append(
            violation(
                "inv.overpaid",
                f"{number_of(r)}: payments paid {money(r['paid'], r['currency'])} for it but "
                f"{money(due, r['currency'])} was due ({len(payments)} payments received)",
                invoice_ref(r),
                *(RowRef("payments", int(p["id"])) for p in payments),
                account_id=r["account_id"],
            )
        )
    return out


def settlement(ctx: Context) -> list[Violation]:
    # what is owed never goes below nothing: a note of a paid invoice that reverses more than it gives back (rule R2:
    # never more than the invoice took; its own credit lines paid the rest of the charge) leaves nothing owed
    left = f"({DUE} - coalesce(pp.paid, 0) - coalesce(nt.reduced, 0))"
    owed = f"(CASE WHEN {left} < 0 THEN 0 ELSE {left} END)"
    rows = ctx.rows(
        f"{_figures(ctx)} AND ((i.status <> 'void' AND {owed} <> i.amount_due) "
        "OR (i.status IN ('paid', 'void') AND i.amount_due <> 0) OR (i.status = 'open' AND i.amount_due <= 0) "
        "OR i.status NOT IN ('open', 'paid', 'void'))"
    )
    out = []
    for r in rows:
        c = r["currency"]
        due = r["total"] - r["credit_applied"] + r["added"]
        owed_now = max(0, due - r["paid"] - r["reduced"])
        if r["status"] not in ("open", "paid", "void"):
            what = f"is numbered but {r['status']}"
        elif r["status"] != "void" and owed_now != r["amount_due"]:
            what = (
                f"{money(due, c)} was due at issue, payments paid {money(r['paid'], c)} and credit notes took "
                f"{money(r['reduced'], c)} off, so {money(owed_now, c)} is owed; it says "
                f"{money(r['amount_due'], c)} ({r['status']})"
            )
        elif r["status"] == "open":
            what = "is open with nothing owed"
        else:
            what = f"is {r['status']} but says {money(r['amount_due'], c)} is still owed"
        out.append(violation("inv.settlement", f"{number_of(r)} {what}", invoice_ref(r), account_id=r["account_id"]))
    return out


def refund_exceeds_paid(ctx: Context) -> list[Violation]:
    """Rule R2: an invoice's notes never give back (to the balance or by refunds to the payment method) more than the
    invoice took: the credit balance it used and its payments. Its own credit lines (the unused time of earlier
    charges, rule P2) paid part of its charges but are not given back again. A void gives back exactly what the
    customer put in."""
    own = "(SELECT -sum(y.amount + y.tax) FROM invoice_lines y WHERE y.invoice_id = f.id AND y.kind = 'credit')"
    out = []
    for r in ctx.rows(
        f"SELECT t.* FROM (SELECT f.*, coalesce({own}, 0) AS own_credit FROM ({_figures(ctx)} "
        "AND coalesce(nt.notes, 0) > 0) f) t WHERE (t.status <> 'void' AND t.refunded > t.credit_applied + t.paid) "
        "OR (t.status = 'void' AND t.refunded <> t.credit_applied + t.paid)"
    ):
        c, put_in = r["currency"], r["credit_applied"] + r["paid"]
        if r["status"] == "void":
            how = "more than" if r["refunded"] > put_in else "less than all of"
            against = f"the {money(put_in, c)} paid for it"
        else:
            how, against = "more than", f"the {money(put_in, c)} it took"
        out.append(
            violation(
                "inv.refund_exceeds_paid",
                f"{number_of(r)} ({r['status']}): its credit notes gave back {money(r['refunded'], c)} to the "
                f"balance, {how} {against} ({money(r['credit_applied'], c)} from the balance, "
                f"{money(r['paid'], c)} by payment, {money(r['own_credit'], c)} by its own credit lines)",
                invoice_ref(r),
                account_id=r["account_id"],
            )
        )
    for r in ctx.rows(
        f"SELECT {INVOICE_HEAD}, i.currency, -i.total AS back, r.amount AS refund FROM credit_notes n "
        f"JOIN invoices i ON i.id = n.invoice_id JOIN {refunds(ctx)} r ON r.invoice_id = n.invoice_id "
        f"WHERE (r.amount > -i.total OR r.amount < 0){ctx.where('i.account_id', 'i.issued_at')}"
    ):
        out.append(
            violation(
                "inv.refund_exceeds_paid",
                f"{number_of(r)} gives back {money(r['refund'], r['currency'])} but reverses "
                f"{money(r['back'], r['currency'])}",
                invoice_ref(r),
                account_id=r["account_id"],
            )
        )
    return out


def payment_booking(ctx: Context) -> list[Violation]:
    rows = ctx.rows(
        f"SELECT {INVOICE_HEAD}, p.id AS payment_id, p.amount, p.currency, p.status, coalesce(x.amount, 0) AS excess "
        f"FROM payments p JOIN invoices i ON i.id = p.invoice_id LEFT JOIN {_excess(ctx)} x ON x.payment_id = p.id "
        f"WHERE ((p.status IN {RECEIVED} AND coalesce(x.amount, 0) > p.amount) "
        "OR (p.status = 'credited' AND coalesce(x.amount, 0) <> p.amount) "
        "OR (p.status = 'succeeded' AND coalesce(x.amount, 0) >= p.amount) "
        f"OR (p.status NOT IN {RECEIVED} AND coalesce(x.amount, 0) <> 0)){ctx.where('p.account_id', 'p.created_at')}"
    )
    out = []
    for r in rows:
        c = r["currency"]
        if r["status"] not in ("succeeded", "credited"):
            what = f"is {r['status']} (no money received) yet {money(r['excess'], c)} of it was credited to the balance"
        elif r["excess"] > r["amount"]:
            what = f"took {money(r['amount'], c)} but {money(r['excess'], c)} of it was credited to the balance"
        elif r["status"] == "credited":
            what = (
                f"went to the credit balance in full ({money(r['amount'], c)}) but the ledger holds "
                f"{money(r['excess'], c)} of it"
            )
        else:
            what = f"is said to have paid the invoice but all of its {money(r['amount'], c)} went to the credit balance"
        out.append(
            violation(
                "inv.payment_booking",
                f"payment {r['payment_id']} of {number_of(r)} {what}",
                RowRef("payments", int(r["payment_id"])),
                invoice_ref(r),
                account_id=r["account_id"],
            )
        )
    return out


def payment_without_invoice(ctx: Context) -> list[Violation]:
    rows = ctx.rows(
        f"SELECT {INVOICE_HEAD}, i.order_id, p.id AS payment_id, p.amount, p.currency, p.status FROM payments p "
        f"JOIN invoices i ON i.id = p.invoice_id WHERE p.status IN {RECEIVED} AND i.number IS NULL"
        f"{ctx.where('p.account_id', 'p.created_at')}"
    )
    return [
        violation(
            "inv.payment_without_invoice",
            f"payment {r['payment_id']} took {money(r['amount'], r['currency'])} "
            f"({r['status']}) for invoice {r['id']}, which was never issued"
            + (f" (order {r['order_id']} was not applied)" if r["order_id"] is not None else ""),
            RowRef("payments", int(r["payment_id"])),
            invoice_ref(r),
            account_id=r["account_id"],
        )
        for r in rows
    ]
