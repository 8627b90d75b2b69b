"""Checks of issued documents (invariants 1): totals, tax per line, account and currency, the seal, credit notes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from prorata.adapters.db.seal import digest_sql
from prorata.adapters.db.sql_functions import half_up_tax_sql
from prorata.adapters.db.verify.common import INVOICE_HEAD, Context, invoice_ref, money, number_of, violation
from prorata.domain.invariants import RowRef, Violation

ISSUED = "i.number IS NOT NULL"


def scoped_lines(ctx: Context, alias: str) -> str:
    """`` AND`` restricting lines (``alias``) to the scope's documents, for subqueries that aggregate lines."""
    inner = ctx.where("x.account_id", "x.issued_at")
    return f" AND {alias}.invoice_id IN (SELECT x.id FROM invoices x WHERE 1 = 1{inner})" if inner else ""


def lines_sum(ctx: Context) -> list[Violation]:
    rows = ctx.rows(
        f"SELECT {INVOICE_HEAD}, i.currency, i.subtotal, i.tax, i.total, coalesce(l.amount, 0) AS line_amount, "
        "coalesce(l.tax, 0) AS line_tax FROM invoices i LEFT JOIN "
        "(SELECT y.invoice_id, sum(y.amount) AS amount, sum(y.tax) AS tax FROM invoice_lines y "
        f"WHERE 1 = 1{scoped_lines(ctx, 'y')}{ctx.share('y.invoice_id')} GROUP BY y.invoice_id) l "
        f"ON l.invoice_id = i.id WHERE {ISSUED}{ctx.where('i.account_id', 'i.issued_at')}{ctx.share('i.id')} "
        "AND (i.subtotal <> coalesce(l.amount, 0) OR i.tax <> coalesce(l.tax, 0) OR i.total <> i.subtotal + i.tax)"
    )
    out = []
    for r in rows:
        c = r["currency"]
        wrong = []
        if r["subtotal"] != r["line_amount"]:
            wrong.append(f"subtotal {money(r['subtotal'], c)} but its lines add up to {money(r['line_amount'], c)}")
        if r["tax"] != r["line_tax"]:
            wrong.append(f"tax {money(r['tax'], c)} but its lines' tax adds up to {money(r['line_tax'], c)}")
        if r["total"] != r["subtotal"] + r["tax"]:
            wrong.append(
                f"total {money(r['total'], c)} is not subtotal plus tax ({money(r['subtotal'] + r['tax'], c)})"
            )
        out.append(
            violation(
                "inv.lines_sum", f"{number_of(r)}: " + "; ".join(wrong), invoice_ref(r), account_id=r["account_id"]
            )
        )
    return out


def line_tax(ctx: Context) -> list[Violation]:
    expected = half_up_tax_sql("l.amount", "l.tax_rate")
    rows = ctx.rows(
        f"SELECT {INVOICE_HEAD}, i.currency, l.id AS line_id, l.position, l.amount, l.tax_rate, l.tax AS line_tax, "
        f"{expected} AS expected FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
        f"WHERE {ISSUED}{ctx.where('i.account_id', 'i.issued_at')}{ctx.share('l.id')} AND l.tax <> {expected}"
    )
    return [
        violation(
            "inv.line_tax",
            f"{number_of(r)} line {r['position']}: tax {money(r['line_tax'], r['currency'])} on "
            f"{money(r['amount'], r['currency'])} at {r['tax_rate'] / 100:g} % should be "
            f"{money(r['expected'], r['currency'])}",
            invoice_ref(r),
            RowRef("invoice_lines", int(r["line_id"])),
            account_id=r["account_id"],
        )
        for r in rows
    ]


def account(ctx: Context) -> list[Violation]:
    """Rows of one document that belong to another account, or money in another currency than the account's."""
    scope = ctx.where("i.account_id", "i.issued_at")
    out: list[Violation] = []
    for r in ctx.rows(
        f"SELECT {INVOICE_HEAD}, i.currency, a.currency AS account_currency FROM invoices i "
        f"JOIN accounts a ON a.id = i.account_id WHERE {ISSUED}{scope}{ctx.share('i.id')} AND i.currency <> a.currency"
    ):
        out.append(
            violation(
                "inv.account",
                f"{number_of(r)} is in {r['currency']}, its account in {r['account_currency']}",
                invoice_ref(r),
                account_id=r["account_id"],
            )
        )
    for r in ctx.rows(
        f"SELECT {INVOICE_HEAD}, l.id AS line_id, l.position, s.id AS sub_id, s.account_id AS sub_account "
        "FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id JOIN subscriptions s ON s.id = l.subscription_id "
        f"WHERE {ISSUED}{scope}{ctx.share('l.id')} AND s.account_id <> i.account_id"
    ):
        out.append(
            violation(
                "inv.account",
                f"{number_of(r)} line {r['position']} charges subscription {r['sub_id']} of account "
                f"{r['sub_account']}, not of the invoice's account {r['account_id']}",
                invoice_ref(r),
                RowRef("invoice_lines", int(r["line_id"])),
                RowRef("subscriptions", int(r["sub_id"])),
                account_id=r["account_id"],
            )
        )
    for r in ctx.rows(
        f"SELECT {INVOICE_HEAD}, o.id AS order_id, o.account_id AS order_account FROM invoices i "
        f"JOIN orders o ON o.id = i.order_id WHERE {ISSUED}{scope}{ctx.share('i.id')} AND o.account_id <> i.account_id"
    ):
        out.append(
            violation(
                "inv.account",
                f"{number_of(r)} invoices order {r['order_id']} of account {r['order_account']}",
                invoice_ref(r),
                RowRef("orders", int(r["order_id"])),
                account_id=r["account_id"],
            )
        )
    for r in ctx.rows(
        f"SELECT {INVOICE_HEAD}, i.currency, p.id AS payment_id, p.account_id AS payment_account, "
        "p.currency AS payment_currency FROM payments p JOIN invoices i ON i.id = p.invoice_id "
        f"WHERE (p.account_id <> i.account_id OR p.currency <> i.currency){scope}{ctx.share('p.id')}"
    ):
        out.append(
            violation(
                "inv.account",
                f"payment {r['payment_id']} of {number_of(r)} is account {r['payment_account']}'s in "
                f"{r['payment_currency']}; the invoice is account {r['account_id']}'s in {r['currency']}",
                RowRef("payments", int(r["payment_id"])),
                invoice_ref(r),
                account_id=r["account_id"],
            )
        )
    for r in ctx.rows(
        "SELECT e.id, e.account_id, e.currency, a.currency AS account_currency FROM credit_ledger e "
        f"JOIN accounts a ON a.id = e.account_id WHERE e.currency <> a.currency"
        f"{ctx.where('e.account_id', 'e.created_at')}{ctx.share('e.id')}"
    ):
        out.append(
            violation(
                "inv.account",
                f"credit ledger entry {r['id']} is in {r['currency']}, its account in {r['account_currency']}",
                RowRef("credit_ledger", int(r["id"])),
                account_id=r["account_id"],
            )
        )
    for r in ctx.rows(
        "SELECT la.id, s.id AS sub_id, s.account_id, u.id AS user_id, u.account_id AS user_account "
        "FROM license_assignments la JOIN subscriptions s ON s.id = la.subscription_id "
        f"JOIN users u ON u.id = la.user_id WHERE u.account_id <> s.account_id{ctx.where('s.account_id')}"
        f"{ctx.share('la.id')}"
    ):
        out.append(
            violation(
                "inv.account",
                f"a license of subscription {r['sub_id']} (account {r['account_id']}) is assigned to "
                f"user {r['user_id']} of account {r['user_account']}",
                RowRef("license_assignments", int(r["id"])),
                RowRef("users", int(r["user_id"])),
                account_id=r["account_id"],
            )
        )
    return out


def unchanged(ctx: Context) -> list[Violation]:
    digest = digest_sql(ctx.dialect)
    rows = ctx.rows(
        f"SELECT {INVOICE_HEAD}, i.content_hash FROM invoices AS i WHERE {ISSUED}"
        f"{ctx.where('i.account_id', 'i.issued_at')}{ctx.share('i.id')} AND (i.content_hash IS NULL OR "
        f"i.content_hash <> {digest})"
    )
    out = []
    for r in rows:
        if r["content_hash"] is None:
            what = "has no seal: it was issued without one, so an edit since cannot be ruled out"
        else:
            what = "is not what was issued: its lines, totals, dates or parties were changed after issue"
        out.append(violation("inv.unchanged", f"{number_of(r)} {what}", invoice_ref(r), account_id=r["account_id"]))
    return out


# ------------------------------------------------------------------------------------------------ credit notes

_MIRRORED = (
    "subscription_id",
    "product",
    "quantity",
    "unit_amount",
    "period_start",
    "period_end",
    "used",
    "whole",
    "tax_rate",
    "discount_code",
)
# the kind of the line that reverses a line of each kind: a discount given back stays a discount (rule DC2)
_REVERSED_KIND = {"charge": "credit", "credit": "charge", "discount": "discount"}


def credit_note(ctx: Context) -> list[Violation]:
    scope = ctx.where("ni.account_id", "ni.issued_at")
    out: list[Violation] = []
    for r in ctx.rows(
        "SELECT ni.id, ni.series, ni.year, ni.number, ni.account_id FROM invoices ni "
        f"WHERE ni.series = 'CN' AND ni.number IS NOT NULL{scope} "
        "AND NOT EXISTS (SELECT 1 FROM credit_notes n WHERE n.invoice_id = ni.id)"
    ):
        out.append(
            violation(
                "inv.credit_note",
                f"{number_of(r)} does not say which invoice it corrects",
                invoice_ref(r),
                account_id=r["account_id"],
            )
        )
    notes = ctx.rows(
        "SELECT n.invoice_id AS id, ni.series, ni.year, ni.number, ni.account_id, ni.currency, n.positions, n.void, "
        "ci.id AS c_id, ci.series AS c_series, ci.year AS c_year, ci.number AS c_number, ci.account_id AS c_account, "
        "ci.currency AS c_currency, ci.status AS c_status FROM credit_notes n JOIN invoices ni ON ni.id = n.invoice_id "
        f"JOIN invoices ci ON ci.id = n.corrects_id WHERE 1 = 1{scope} ORDER BY ci.id, n.invoice_id"
    )
    if not notes:
        return out + _void_without_note(ctx)
    ids = sorted({int(n["id"]) for n in notes} | {int(n["c_id"]) for n in notes})
    lines: dict[int, dict[int, Mapping[str, Any]]] = {}
    for line in ctx.rows(
        "SELECT l.invoice_id, l.position, l.kind, l.amount, l.tax, "
        + ", ".join(f"l.{c}" for c in _MIRRORED)
        + " FROM invoice_lines l WHERE l.invoice_id IN :ids",
        ids=ids,
    ):
        lines.setdefault(int(line["invoice_id"]), {})[int(line["position"])] = line
    credited: dict[int, set[int]] = {}
    for note in notes:
        out.extend(_one_note(note, lines, credited))
    for corrected_id, positions in credited.items():
        voided = any(n["void"] and int(n["c_id"]) == corrected_id for n in notes)
        note = next(n for n in notes if int(n["c_id"]) == corrected_id)
        if voided and positions != set(lines.get(corrected_id, {})):
            left = sorted(set(lines.get(corrected_id, {})) - positions)
            out.append(
                violation(
                    "inv.credit_note",
                    f"{number_of(note, 'c_')} is void but its lines {left} were never credited",
                    invoice_ref(note, "c_"),
                    account_id=note["c_account"],
                )
            )
        if voided and note["c_status"] != "void":
            out.append(
                violation(
                    "inv.credit_note",
                    f"{number_of(note, 'c_')} has a credit note that voids it but is {note['c_status']}",
                    invoice_ref(note, "c_"),
                    account_id=note["c_account"],
                )
            )
    return out + _void_without_note(ctx)


def _void_without_note(ctx: Context) -> list[Violation]:
    rows = ctx.rows(
        f"SELECT {INVOICE_HEAD} FROM invoices i WHERE i.status = 'void'{ctx.where('i.account_id', 'i.issued_at')} "
        "AND NOT EXISTS (SELECT 1 FROM credit_notes n WHERE n.corrects_id = i.id AND n.void = :yes)",
        yes=True,
    )
    return [
        violation(
            "inv.credit_note",
            f"{number_of(r)} is void without a credit note that voids it (rule I2: corrections are credit notes)",
            invoice_ref(r),
            account_id=r["account_id"],
        )
        for r in rows
    ]


def _one_note(
    note: Mapping[str, Any], lines: Mapping[int, Mapping[int, Mapping[str, Any]]], credited: dict[int, set[int]]
) -> list[Violation]:
    out: list[Violation] = []
    name, corrected = number_of(note), number_of(note, "c_")
    refs = (invoice_ref(note), invoice_ref(note, "c_"))

    def wrong(message: str) -> None:
        out.append(
            violation(
                "inv.credit_note", f"{name} (correcting {corrected}): {message}", *refs, account_id=note["account_id"]
            )
        )

    if note["account_id"] != note["c_account"] or note["currency"] != note["c_currency"]:
        wrong(
            f"it is account {note['account_id']}'s in {note['currency']}, the invoice account "
            f"{note['c_account']}'s in {note['c_currency']}"
        )
    if note["c_series"] != "INV":
        wrong("it corrects a document that is not an invoice")
    try:
        positions = [int(p) for p in json.loads(note["positions"])]
    except (TypeError, ValueError):
        wrong(f"the lines it reverses cannot be read ({note['positions']!r})")
        return out
    original = lines.get(int(note["c_id"]), {})
    seen = credited.setdefault(int(note["c_id"]), set())
    again = sorted((set(positions) & seen) | {p for p in positions if positions.count(p) > 1})
    if again:
        wrong(f"it credits line(s) {again} a second time")
    seen.update(positions)
    missing = [p for p in positions if p not in original]
    if missing:
        wrong(f"the invoice has no line(s) {missing}")
    own = lines.get(int(note["id"]), {})
    if sorted(own) != list(range(1, len(positions) + 1)):
        wrong(f"it has {len(own)} lines for the {len(positions)} it reverses")
    for index, position in enumerate(sorted(positions), start=1):
        mine, theirs = own.get(index), original.get(position)
        if mine is None or theirs is None:
            continue
        differs = [c for c in _MIRRORED if mine[c] != theirs[c]]
        if mine["amount"] != -theirs["amount"] or mine["tax"] != -theirs["tax"]:
            differs.append("amount or tax (not the line's negated)")
        if mine["kind"] != _REVERSED_KIND.get(theirs["kind"]):
            differs.append("kind (not reversed)")
        if differs:
            wrong(f"line {index} does not mirror line {position}: {', '.join(differs)}")
    # rules DC2, R2: a charge is given back with its discount, so that no more is given back than was paid for it
    kept = sorted(d for d, c in _discount_owners(original).items() if c in positions and d not in positions)
    if kept:
        wrong(f"it credits the charge of discount line(s) {kept} but not the discount")
    return out


def _discount_owners(lines: Mapping[int, Mapping[str, Any]]) -> dict[int, int]:
    """``{discount line's position: its charge line's position}`` of one document's lines: a discount line belongs to
    the charge line just before it, of the same subscription (as ``domain.credit_notes.discounts_of`` reads them)."""
    out: dict[int, int] = {}
    charge: Mapping[str, Any] | None = None
    for position in sorted(lines):
        line = lines[position]
        if line["kind"] == "charge":
            charge = line
        elif line["kind"] == "discount" and charge is not None and charge["subscription_id"] == line["subscription_id"]:
            out[position] = int(charge["position"])
        else:
            charge = None
    return out


# ------------------------------------------------------------------------------------------------ discount lines


def discount_line(ctx: Context) -> list[Violation]:
    """Rule DC2 on issued invoices: a discount line follows the charge it discounts (the line just before it, of the
    same subscription) and takes off no more than that charge; it names its code, and the code is the one its
    description names (the description is sealed, ``inv.unchanged``, so the code cannot be changed unseen); no other
    line names a code."""
    rows = ctx.rows(
        f"SELECT {INVOICE_HEAD}, i.currency, l.id AS line_id, l.position, l.kind, l.amount, l.description, "
        "l.discount_code, c.kind AS c_kind, c.amount AS c_amount, "
        "(CASE WHEN c.subscription_id = l.subscription_id THEN 1 ELSE 0 END) AS same_subscription "
        "FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
        "LEFT JOIN invoice_lines c ON c.invoice_id = l.invoice_id AND c.position = l.position - 1 "
        f"WHERE i.series = 'INV' AND {ISSUED}{ctx.where('i.account_id', 'i.issued_at')}{ctx.share('l.id')} "
        "AND (l.kind = 'discount' OR l.discount_code IS NOT NULL)"
    )
    out = []
    for r in rows:
        c = r["currency"]
        wrong = []
        if r["kind"] != "discount":
            wrong.append(f"a {r['kind']} line names the discount code {r['discount_code']}")
        else:
            if r["c_kind"] != "charge" or not r["same_subscription"]:
                wrong.append("it does not follow a charge of its subscription")
            elif not 0 <= -r["amount"] <= r["c_amount"]:
                wrong.append(f"it takes off {money(-r['amount'], c)} from a charge of {money(r['c_amount'], c)}")
            if not r["discount_code"]:
                wrong.append("it names no code")
            elif r["discount_code"] not in r["description"].split():
                wrong.append(f"its code {r['discount_code']} is not the one its description names")
        if not wrong:
            continue
        out.append(
            violation(
                "inv.discount_line",
                f"{number_of(r)} line {r['position']} ({r['kind']}): " + "; ".join(wrong),
                invoice_ref(r),
                RowRef("invoice_lines", int(r["line_id"])),
                account_id=r["account_id"],
            )
        )
    return out
