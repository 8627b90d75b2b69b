"""The invariants of the stored books, each with a stable code, the rules it proves and why it must hold.

``prorata verify`` (and the operator API) checks every one of them against the live database: the engine's property
tests prove that the engine keeps them; these checks prove that what is stored still does, after every bug, bad
migration, manual edit or crash. A check never changes anything; a broken invariant is reported as a ``Violation``
naming its code, the rows involved and what is wrong in one line.

The codes are stable (new ones may be added, none is renamed), like the error codes of ``domain/errors.py``.

Families (the numbers of the issue that asked for them):

1. documents: ``inv.lines_sum``, ``inv.line_tax``, ``inv.account``, ``inv.unchanged``, ``inv.credit_note``,
   ``inv.discount_line``
2. numbering: ``inv.numbering``
3. payments: ``inv.overpaid``, ``inv.payment_booking``, ``inv.payment_without_invoice``, ``inv.settlement``,
   ``inv.refund_exceeds_paid``
4. credit ledger: ``inv.ledger_negative``, ``inv.ledger_without_document``, ``inv.ledger_document``
5. conservation: ``inv.proration``, ``inv.charged_not_held``, ``inv.credit_exceeds_charges``
6. licenses: ``inv.assignments_over_quantity``, ``inv.seat_unlicensed``, ``inv.addon_over_plan``
7. e-mail: ``inv.invoice_email``
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Invariant:
    code: str
    rules: tuple[str, ...]
    title: str  # one line: what holds
    why: str  # why it must hold, for the operator reading a violation
    scoped_by_account: bool = True  # False: it concerns every account at once (numbering) and is skipped with one


def _i(code: str, rules: str, title: str, why: str, *, scoped_by_account: bool = True) -> Invariant:
    return Invariant(code, tuple(rules.split()), title, " ".join(why.split()), scoped_by_account)


INVARIANTS: tuple[Invariant, ...] = (
    # 1. documents
    _i("inv.lines_sum", "C4 T3 I5",
       "An issued document's subtotal is the sum of its lines, its tax the sum of their tax, its total both",
       """Totals are sums of rounded lines (C4) and tax is computed per line (T3): a total that is not the sum of
       what the document shows line by line charges the customer for something the invoice does not explain."""),
    _i("inv.line_tax", "T3",
       "Each line's tax is its rate applied to its rounded amount, half up",
       """Rule T3: tax is computed per line on the line's rounded amount, and a credit reverses it at the rate the
       charge paid; any other figure is tax declared to the authorities that the rules did not produce."""),
    _i("inv.account", "X1 I2",
       "A document, its lines, payments and ledger entries belong to its account and are in its currency",
       """Money of one currency is never added to another (X1), and an invoice, its order, its subscriptions and
       its payments are one account's: anything else moves money between customers."""),
    _i("inv.unchanged", "I2",
       "An issued invoice or credit note is exactly what was issued (its content hash at issue still matches)",
       """Rule I2: an issued document is never edited; corrections are credit notes. Its lines, totals, dates and
       parties are sealed with a hash when it is numbered, so that an edit made by anyone after issue shows."""),
    _i("inv.credit_note", "I2 T3 R2",
       "A credit note reverses lines of an invoice of its account, each line as issued and at most once",
       """A credit note mirrors the lines it corrects, amount and tax negated at the original rate (T3); a line
       credited twice, or a note that does not mirror its line, gives back money that was never charged. A charge
       is given back with its discount (DC2), or the note gives back more than was paid for it (R2)."""),
    _i("inv.discount_line", "DC2 I2",
       "A discount line follows the charge it discounts, takes off no more than it, and names its code",
       """Rule DC2: each discount is a line of its own right after the charge it discounts; a credit note gives it
       back with that charge, and the metrics count the subscription net of it, so a discount line that follows no
       charge, takes off more than the charge or names a code its sealed description does not, misstates what the
       customer was given and paid."""),
    # 2. numbering
    _i("inv.numbering", "I2",
       "Per series and year, numbers run 1..n without gaps or repeats, and the counter stands at n",
       """Rule I2: invoice numbers are sequential without gaps within a series per year; tax authorities read a
       gap as a hidden invoice. The counter must equal the highest number, or the next invoice repeats or skips
       one.""",
       scoped_by_account=False),
    # 3. payments
    _i("inv.overpaid", "X3 I3",
       "What payments paid for an invoice never exceeds what was due on it",
       """Rule X3: every invoice is paid at most once; money received beyond what was owed must have gone to the
       credit balance (an overpayment), never kept as paying the invoice."""),
    _i("inv.payment_booking", "X3 X1",
       "Every payment received is split exactly between the invoice it paid and the credit balance",
       """A payment that reached an invoice no longer owed is credited to the balance with a ledger entry naming
       it; a payment whose parts do not add up to what the gateway took leaves money unaccounted for."""),
    _i("inv.payment_without_invoice", "K8 X3",
       "No money is received for an invoice that was never issued",
       """Rule K8: an order is applied only when its payment succeeds, in the same transaction; a succeeded
       payment whose invoice is still a draft is money taken for nothing the customer received."""),
    _i("inv.settlement", "I3 K8",
       "What an invoice still owes is what was due at issue less its payments and credit notes; paid owes nothing",
       """Rule I3: an invoice is paid exactly by the credit balance it used, the payments that paid it and what
       credit notes took off it; open means something is still owed, paid and void that nothing is."""),
    _i("inv.refund_exceeds_paid", "R2 I2",
       "Credit notes never give back more than was paid for the invoice (by payment or from the balance)",
       """Rule R2: a refund never exceeds what was paid for what it corrects, less earlier refunds; a void gives
       back exactly what was paid."""),
    # 4. credit ledger
    _i("inv.ledger_negative", "C2 X1",
       "No account's credit balance (the running sum of its ledger) is ever negative",
       """The credit balance is money the account holds; it pays invoices first and can only be spent once. A
       negative running sum means credit was spent that the account never had."""),
    _i("inv.ledger_without_document", "I2 X1",
       "Every credit ledger entry names the document (and payment) of its account that caused it",
       """The ledger is append-only and every cent in it is explained by an invoice, a credit note or a payment
       of the same account; an entry without one is credit that appeared from nowhere."""),
    _i("inv.ledger_document", "I2 X1",
       "The ledger holds exactly the credit each document used or gave",
       """An invoice's credit used, an invoice's negative total, a credit note's refund and a payment's excess are
       each booked once for exactly their amount; a missing, edited or extra entry changes a balance behind the
       documents' back (the ledger is append-only)."""),
    # 5. conservation
    _i("inv.proration", "C3 C4 L2",
       "Each charge is the exact integral of quantity x unit price over its service period, within half a unit",
       """Rules C3, C4: a line is quantity x unit price x used/whole, computed exactly and rounded once, and its
       days (or seconds) are those of its service period in the account's time zone; what the engine's property
       tests prove for every price it computes holds for every line in the books."""),
    _i("inv.charged_not_held", "C7 D1",
       "No subscription is charged for time after the end of the period it holds",
       """Rule C7: a subscription renews when its period ends; a charge for service beyond the period the
       subscription holds (or held, when it ended) is a charge for time it never had."""),
    _i("inv.credit_exceeds_charges", "C5",
       "A credit for unused time never exceeds the charges it reverses",
       """Rule C5: a credit is based on what was actually charged for the period and never exceeds it; more
       would pay the customer for service they never paid for."""),
    # 6. licenses
    _i("inv.assignments_over_quantity", "L4 U1",
       "No subscription has more licenses assigned than it holds; an ended one holds none",
       """Rules U1, L4: assigning needs a free license; a subscription with more users than licenses gives away
       seats nobody pays for."""),
    _i("inv.seat_unlicensed", "A7 U2",
       "Add-on seats are assigned only to Licensed users of the same account",
       """Rules A7, U2: per-user add-ons go to users who hold a plan license; a seat on a user without one is an
       add-on used without the plan it needs."""),
    _i("inv.addon_over_plan", "A7",
       "A per-user add-on has no more seats than the plan has licenses",
       """Rule A7: seats of an add-on cannot exceed the base plan's licenses."""),
    # 7. e-mail
    _i("inv.invoice_email", "I4",
       "Every issued invoice has its e-mail in the outbox",
       """Rule I4: billing e-mails are written in the transaction of their event, so that no invoice reaches the
       books without its message to the customer; an invoice without one was issued behind their back. A renewal
       waiting for its first collection attempt (due on its issue date) is given that day."""),
)  # fmt: skip

BY_CODE: Mapping[str, Invariant] = {invariant.code: invariant for invariant in INVARIANTS}


@dataclass(frozen=True, slots=True)
class RowRef:
    """One row a violation involves: its table and id, and how people know it (an invoice's number)."""

    table: str
    id: int
    label: str = ""

    def text(self) -> str:
        return self.label or f"{self.table} {self.id}"

    def to_dict(self) -> dict[str, object]:
        return {"table": self.table, "id": self.id, "label": self.text()}


@dataclass(frozen=True, slots=True)
class Violation:
    code: str
    rows: tuple[RowRef, ...]
    message: str  # one line: what is wrong, with the figures
    account_id: int | None = None

    @property
    def invariant(self) -> Invariant:
        return BY_CODE[self.code]

    def to_dict(self) -> dict[str, object]:
        """As the CLI's ``--json``, the API and the log of verifications write it."""
        return {
            "code": self.code,
            "rules": list(self.invariant.rules) if self.code in BY_CODE else [],
            "message": self.message,
            "rows": [row.to_dict() for row in self.rows],
            "account_id": self.account_id,
        }


@dataclass(frozen=True, slots=True)
class VerificationScope:
    """What a verification covers: every account, or one; every document, or those made since a date."""

    account_id: int | None = None
    account_code: str | None = None
    since: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "account": self.account_code,
            "since": None if self.since is None else self.since.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class CheckTiming:
    code: str
    seconds: float
    violations: int

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "seconds": self.seconds, "violations": self.violations}


@dataclass(frozen=True, slots=True)
class Verification:
    """One run of the checks: when, over what, which checks, and what they found."""

    started_at: datetime
    finished_at: datetime
    scope: VerificationScope
    checks: tuple[CheckTiming, ...]
    violations: tuple[Violation, ...]
    violation_count: int  # every violation found; ``violations`` may hold only the first ones (a stored result)
    id: int | None = None
    counts: Mapping[str, int] = field(default_factory=dict)  # violations per code
    seconds: float = 0.0  # how long it took, from the snapshot taken to the last check done

    @property
    def ok(self) -> bool:
        return self.violation_count == 0

    def to_dict(self) -> dict[str, object]:
        """The run as ``prorata verify --json`` prints it and the operator API answers it (money is in the
        messages; every figure a program needs is in ``counts`` and the rows)."""
        return {
            "id": self.id,
            "ok": self.ok,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "seconds": self.seconds,
            "scope": self.scope.as_dict(),
            "checks": [timing.to_dict() for timing in self.checks],
            "violation_count": self.violation_count,
            "counts": dict(self.counts),
            "violations": [violation.to_dict() for violation in self.violations],
        }


def invariants_for(scope: VerificationScope) -> tuple[Invariant, ...]:
    """The invariants a scope can check: those about every account at once only without an account."""
    return tuple(i for i in INVARIANTS if scope.account_id is None or i.scoped_by_account)


def count_by_code(violations: tuple[Violation, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for violation in violations:
        counts[violation.code] = counts.get(violation.code, 0) + 1
    return counts
