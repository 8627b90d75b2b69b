"""Checks of the credit ledger (invariants 4): never negative, every entry caused by a document of its account, and
exactly the credit each document used or gave.

The ledger is append-only and the balance is the sum of its entries; what shows that no entry was edited, deleted or
added behind the documents' back is that the entries and the documents agree both ways: each entry names the
invoice, credit note or payment that caused it (``inv.ledger_without_document``) and each document's credit is in the
ledger exactly once for exactly its amount (``inv.ledger_document``; a credit note's refund and a payment's excess are
tied to the invoice they settle in ``payments.py``).
"""

from __future__ import annotations

from prorata.adapters.db.verify.common import INVOICE_HEAD, Context, invoice_ref, money, number_of, violation
from prorata.domain.invariants import RowRef, Violation

# what each reason says about its entry: its sign, and the document it must name
SIGNS = {"applied_to_invoice": -1, "unused_time": 1, "credit_note": 1, "overpayment": 1, "bank_overpayment": 1}


def ledger_negative(ctx: Context) -> list[Violation]:
    rows = ctx.rows(
        "SELECT t.account_id, min(t.id) AS first_id, min(t.running) AS lowest, min(t.currency) AS currency FROM "
        "(SELECT e.id, e.account_id, e.currency, e.created_at, sum(e.amount) OVER (PARTITION BY e.account_id "
        f"ORDER BY e.id) AS running FROM credit_ledger e WHERE 1 = 1{ctx.where('e.account_id')}) t "
        f"WHERE t.running < 0{ctx.where(at='t.created_at')} GROUP BY t.account_id"
    )
    return [
        violation(
            "inv.ledger_negative",
            f"account {r['account_id']}'s credit balance goes below zero at ledger entry "
            f"{r['first_id']} (down to {money(r['lowest'], r['currency'])}): credit was spent that it did not have",
            RowRef("accounts", int(r["account_id"])),
            RowRef("credit_ledger", int(r["first_id"])),
            account_id=r["account_id"],
        )
        for r in rows
    ]


_EXPLAINED = (
    "CASE WHEN (e.reason IN ('applied_to_invoice', 'unused_time', 'bank_overpayment') AND i.series = 'INV' "
    "AND i.number IS NOT NULL "
    "AND i.account_id = e.account_id AND e.payment_id IS NULL) "
    "OR (e.reason = 'credit_note' AND i.series = 'CN' AND i.number IS NOT NULL AND n.invoice_id IS NOT NULL "
    "AND i.account_id = e.account_id AND e.payment_id IS NULL) "
    "OR (e.reason = 'overpayment' AND i.series = 'INV' AND i.number IS NOT NULL AND i.account_id = e.account_id "
    "AND p.id IS NOT NULL AND p.invoice_id = e.invoice_id AND p.account_id = e.account_id) THEN 1 ELSE 0 END"
)


def ledger_without_document(ctx: Context) -> list[Violation]:
    rows = ctx.rows(
        "SELECT e.id AS entry_id, e.account_id, e.amount, e.currency, e.reason, e.invoice_id, e.payment_id, "
        "i.id, i.series, i.year, i.number, i.account_id AS doc_account, n.invoice_id AS note_id, "
        "p.invoice_id AS payment_invoice FROM credit_ledger e LEFT JOIN invoices i ON i.id = e.invoice_id "
        "LEFT JOIN credit_notes n ON n.invoice_id = e.invoice_id LEFT JOIN payments p ON p.id = e.payment_id "
        f"WHERE {_EXPLAINED} = 0{ctx.where('e.account_id', 'e.created_at')}"
    )
    out = []
    for r in rows:
        entry = f"credit ledger entry {r['entry_id']} ({r['reason']}, {money(r['amount'], r['currency'])})"
        refs = [RowRef("credit_ledger", int(r["entry_id"]))]
        if r["id"] is not None:
            refs.append(invoice_ref(r))
        if r["reason"] not in SIGNS:
            what = "has a reason no document gives: nothing explains it"
        elif r["invoice_id"] is None:
            what = "names no document"
        elif r["number"] is None:
            what = f"names invoice {r['invoice_id']}, which was never issued"
        elif r["doc_account"] != r["account_id"]:
            what = f"names {number_of(r)} of account {r['doc_account']}"
        elif r["reason"] == "credit_note" and (r["series"] != "CN" or r["note_id"] is None):
            what = f"is a credit note's refund but names {number_of(r)}, which is not a credit note"
        elif r["reason"] != "credit_note" and r["series"] != "INV":
            what = f"names {number_of(r)}, which is not an invoice"
        elif r["reason"] == "overpayment":
            what = (
                f"names payment {r['payment_id']}, which is missing or paid another invoice"
                if r["payment_id"] is not None
                else "is money received but names no payment"
            )
            if r["payment_id"] is not None:
                refs.append(RowRef("payments", int(r["payment_id"])))
        else:
            what = f"names payment {r['payment_id']}, which has nothing to do with its reason"
        out.append(violation("inv.ledger_without_document", f"{entry} {what}", *refs, account_id=r["account_id"]))
    return out


def ledger_document(ctx: Context) -> list[Violation]:
    scope = ctx.where("i.account_id", "i.issued_at")
    out: list[Violation] = []
    booked = (
        "(SELECT e.invoice_id, sum(CASE WHEN e.reason = 'applied_to_invoice' THEN e.amount ELSE 0 END) AS used, "
        "sum(CASE WHEN e.reason = 'unused_time' THEN e.amount ELSE 0 END) AS added FROM credit_ledger e "
        f"WHERE e.reason IN ('applied_to_invoice', 'unused_time'){ctx.where('e.account_id')} "
        "GROUP BY e.invoice_id)"
    )
    for r in ctx.rows(
        f"SELECT {INVOICE_HEAD}, i.currency, i.total, i.credit_applied, coalesce(b.used, 0) AS used, "
        f"coalesce(b.added, 0) AS added FROM invoices i LEFT JOIN {booked} b ON b.invoice_id = i.id "
        f"WHERE i.series = 'INV' AND i.number IS NOT NULL{scope} AND (coalesce(b.used, 0) <> -i.credit_applied "
        "OR coalesce(b.added, 0) <> (CASE WHEN i.total < 0 THEN -i.total ELSE 0 END))"
    ):
        c = r["currency"]
        wrong = []
        if r["used"] != -r["credit_applied"]:
            wrong.append(
                f"used {money(r['credit_applied'], c)} of the credit balance but the ledger took {money(-r['used'], c)}"
            )
        expected = -r["total"] if r["total"] < 0 else 0
        if r["added"] != expected:
            wrong.append(f"added {money(expected, c)} to the credit balance but the ledger gave {money(r['added'], c)}")
        out.append(
            violation(
                "inv.ledger_document", f"{number_of(r)} " + "; ".join(wrong), invoice_ref(r), account_id=r["account_id"]
            )
        )
    signs = " OR ".join(f"(e.reason = '{reason}' AND e.amount * {sign} < 0)" for reason, sign in SIGNS.items())
    for r in ctx.rows(
        "SELECT e.id, e.account_id, e.amount, e.currency, e.reason FROM credit_ledger e "
        f"WHERE ({signs}){ctx.where('e.account_id', 'e.created_at')}"
    ):
        way = "takes from" if r["amount"] < 0 else "adds to"
        out.append(
            violation(
                "inv.ledger_document",
                f"credit ledger entry {r['id']} ({r['reason']}) {way} the balance "
                f"{money(abs(r['amount']), r['currency'])}, the wrong way for its reason",
                RowRef("credit_ledger", int(r["id"])),
                account_id=r["account_id"],
            )
        )
    return out
