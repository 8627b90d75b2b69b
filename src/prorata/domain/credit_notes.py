"""Credit notes: how an issued invoice is corrected without being edited (rules I2, T3).

A credit note reverses whole lines of one invoice: each of its lines is the invoice line with amount and tax negated,
so the tax is reversed at the original rate to the cent (rule T3). Voiding reverses every line not yet credited.

What happens to the money, decided here and written by the caller:

- an **open** invoice: the credit first reduces what is still due (the invoice's lines and totals stay as issued;
  only what remains to be paid changes), anything beyond goes to the credit balance; voiding cancels what is due
  and gives back the credit balance the invoice used;
- a **paid** invoice: the credit is given back, to the credit balance or (``domain/refunds.py``) partly to the
  original payment method.

Rule R2: a credit note never gives back more than the invoice took (what was paid for it and the credit balance it
used) less what earlier credit notes of it gave back, whatever the destination. A void gives back exactly that
remainder; a partial credit gives back what its lines reverse, up to it. So crediting the charge line of an upgrade
invoice (a charge less the unused time of the old plan) gives back at most what the invoice took, not the whole
charge.

A discount line (rule DC2) belongs to the charge line just before it, of the same subscription: what was paid for
that charge is the charge less its discount. Crediting a charge line therefore reverses the discount line(s) that
follow it too, so that the note gives back what was paid for the line, never the undiscounted price (rule R2); a
discount line named without its charge is refused (``credit_note.discount_alone``: giving back a discount alone would
charge the buyer again for it). Its reversal keeps the kind ``discount``, with the opposite sign. A void reverses
every line, discounts included.

An invoice that added credit to the balance (a negative total) is not voided here: the balance may have been spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.periods import Period


@dataclass(frozen=True, slots=True)
class IssuedLine:
    position: int
    kind: str  # "charge", "credit" or "discount" (rule DC2)
    subscription_id: int | None
    product: str
    description: str
    quantity: int
    unit_amount: int | None
    period: Period
    used: int
    whole: int
    amount: int
    tax_rate: int
    tax: int
    discount_code: str | None = None  # on a discount line: the code (rule DC2)


@dataclass(frozen=True, slots=True)
class IssuedInvoice:
    id: int
    account_id: int
    number: str
    status: str  # open, paid, void (draft invoices are never issued)
    currency: str
    total: int
    credit_applied: int
    amount_due: int  # what is still owed: 0 once paid or void
    lines: tuple[IssuedLine, ...]
    credited: frozenset[int] = frozenset()  # positions already reversed by earlier credit notes
    is_credit_note: bool = False
    amount_paid: int = 0  # what payments paid for it (beyond that, money received went to the credit balance)
    returned: int = 0  # what earlier credit notes of it gave back, to the credit balance or by refunds
    issued_at: datetime | None = None
    refunded: int = 0  # what refunds of it to the payment method took back or hold (pending, or failed and not moved)


@dataclass(frozen=True, slots=True)
class CreditNote:
    corrects: IssuedInvoice
    lines: tuple[IssuedLine, ...]
    subtotal: int
    tax: int
    void: bool
    status_after: str  # the corrected invoice's status afterwards
    amount_due_after: int  # what remains to be paid on it
    to_balance: int  # credit given back to the account's balance
    reversed_positions: tuple[int, ...] = ()  # the corrected invoice's lines it reverses

    @property
    def total(self) -> int:
        return self.subtotal + self.tax


_REVERSED = {"charge": "credit", "credit": "charge", "discount": "discount"}  # a discount given back is a discount


def _reversal(line: IssuedLine, position: int) -> IssuedLine:
    """A charge is reversed by a credit and a credit by a charge; a discount (rule DC2) by a discount line of the
    opposite sign, which gives back what it took and still names its code."""
    return replace(
        line,
        position=position,
        kind=_REVERSED[line.kind],
        description=f"Reversal of line {line.position}: {line.description}",
        amount=-line.amount,
        tax=-line.tax,  # rule T3: the original rate, the original rounding, the opposite sign
    )


def plan_credit_note(invoice: IssuedInvoice, positions: Sequence[int] | None = None) -> CreditNote:
    """A credit note of ``invoice``: the lines at ``positions``, or (None) a void of every line not yet credited."""
    if invoice.is_credit_note:
        raise RuleViolation("credit_note.of_credit_note", f"number: {invoice.number} is itself a credit note",
                            rule="I2", field="number")  # fmt: skip
    if invoice.status not in ("open", "paid"):
        raise RuleViolation(
            "credit_note.not_creditable",
            f"number: {invoice.number} is {invoice.status}; only open or paid invoices are corrected",
            rule="I2",
            field="number",
        )
    void = positions is None
    by_position = {line.position: line for line in invoice.lines}
    if void:
        chosen = [line for line in invoice.lines if line.position not in invoice.credited]
        if invoice.total < 0:
            raise RuleViolation(
                "credit_note.void_negative",
                f"number: {invoice.number} added credit to the balance; correct it with a new charge instead",
                rule="I2",
                field="number",
            )
    else:
        assert positions is not None
        if not positions or len(set(positions)) != len(positions):
            raise InvalidInput("credit_note.lines", "lines: name each line to credit once", rule="I2", field="lines")
        for position in positions:
            if position not in by_position:
                raise InvalidInput("credit_note.lines", f"lines: {invoice.number} has no line {position}", rule="I2",
                                   field="lines")  # fmt: skip
            if position in invoice.credited:
                raise RuleViolation("credit_note.already_credited",
                                    f"lines: line {position} of {invoice.number} is already credited", rule="I2",
                                    field="lines")  # fmt: skip
        chosen = [by_position[p] for p in sorted(_with_discounts(invoice, positions))]
    if not chosen:
        raise RuleViolation("credit_note.nothing_left", f"number: every line of {invoice.number} is already credited",
                            rule="I2", field="number")  # fmt: skip
    lines = tuple(_reversal(line, index) for index, line in enumerate(chosen, start=1))
    reversed_ = tuple(line.position for line in chosen)
    subtotal = sum(line.amount for line in lines)
    tax = sum(line.tax for line in lines)
    back = -(subtotal + tax)  # what the buyer gets back, tax included
    outstanding = invoice.amount_due if invoice.status == "open" else 0
    paid = invoice.amount_paid if invoice.status == "paid" else 0
    if void:
        # cancel what is due, give back what the invoice took from the balance and what was paid for it, less what
        # earlier credit notes of it gave back already (rule R2: never more than the buyer put in)
        back_now = max(0, invoice.credit_applied + paid - invoice.returned)
        return CreditNote(invoice, lines, subtotal, tax, True, "void", 0, back_now, reversed_)
    if back <= 0:
        # reversing credit lines charges again: the buyer owes it, taken from the balance or due on the invoice
        raise RuleViolation("credit_note.would_charge",
                            "lines: crediting these lines would charge the buyer; include the charges they offset",
                            rule="I2", field="lines")  # fmt: skip
    reduced = min(outstanding, back)
    after = outstanding - reduced
    status = invoice.status if after or invoice.status == "paid" else "paid"
    due_after = after if invoice.status == "open" else 0
    # rule R2: beyond what it still owed, never more than the invoice took, less what earlier notes gave back
    left = max(0, invoice.credit_applied + paid - invoice.returned)
    return CreditNote(invoice, lines, subtotal, tax, False, status, due_after, min(back - reduced, left), reversed_)


def discounts_of(lines: Sequence[IssuedLine]) -> dict[int, int]:
    """Rule DC2: ``{discount line's position: its charge line's position}``. A discount line belongs to the charge
    line just before it (the engine writes it right after the charge it discounts), of the same subscription; one that
    follows no such charge belongs to none (it is not in the map)."""
    out: dict[int, int] = {}
    charge: IssuedLine | None = None
    for line in sorted(lines, key=lambda li: li.position):
        if line.kind == "charge":
            charge = line
        elif line.kind == "discount" and charge is not None and charge.subscription_id == line.subscription_id:
            out[line.position] = charge.position
        else:
            charge = None
    return out


def _with_discounts(invoice: IssuedInvoice, positions: Sequence[int]) -> set[int]:
    """The positions to reverse: those named, with the discount lines of each charge named (rules DC2, R2). A discount
    line named without its charge line is refused."""
    owner = discounts_of(invoice.lines)
    named = set(positions)
    alone = sorted(p for p in named if p in owner and owner[p] not in named)
    if alone:
        raise RuleViolation(
            "credit_note.discount_alone",
            f"lines: line {alone[0]} of {invoice.number} is a discount of line {owner[alone[0]]}; credit that line, "
            "which gives back what was paid for it, the discount included",
            rule="DC2",
            field="lines",
            line=alone[0],
            charge=owner[alone[0]],
        )
    return named | {d for d, c in owner.items() if c in named and d not in invoice.credited}
