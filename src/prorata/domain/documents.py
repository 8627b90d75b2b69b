"""An issued invoice or credit note as a document shows it: parties, lines, totals, payments (rules I3, I5, T2).

Plain values read back from what was issued (an issued document is never edited, rule I2); renderers (PDF, e-mail,
e-invoice XML) turn one into a file. Amounts are integer minor units; the text of each line is composed by the
renderer in the reader's language from its fields (product, quantity, the proration ``used`` of ``whole``, and a
discount line's code, rule DC2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from prorata.domain.exchange_rates import ExchangeRate
from prorata.domain.periods import Granularity, Period
from prorata.domain.seller import Logo, Seller


@dataclass(frozen=True, slots=True)
class Party:
    """A Sold-To or Bill-To contact as the document prints it."""

    name: str
    email: str
    address: tuple[str, ...]
    country: str
    company: str | None = None
    tax_id: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentLine:
    kind: str  # "charge", "credit" or "discount" (rule DC2: what a discount takes off the charge line before it)
    product: str
    product_names: Mapping[str, str]  # language -> the product's name (catalog)
    quantity: int
    unit_amount: int | None
    period: Period
    used: int
    whole: int
    amount: int  # signed minor units
    tax_rate: int  # basis points
    tax: int
    description: str = ""  # as the engine wrote it (English), for readers without a translation
    counted_as: str = ""  # "license" (a plan), "seat" (a per-user add-on) or "" (a number alone): the quantity's unit
    discount_code: str | None = None  # on a discount line: the code it was given for (rule DC2)


@dataclass(frozen=True, slots=True)
class DocumentPayment:
    at: datetime
    amount: int
    method: str  # "Visa •••• 4242", "PayPal", "credit balance"


@dataclass(frozen=True, slots=True)
class TaxRow:
    rate: int
    base: int
    tax: int


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    number: str
    kind: str  # "invoice" or "credit_note"
    status: str
    issued_at: datetime
    due_at: datetime
    currency: str
    seller: Seller
    sold_to: Party | None
    bill_to: Party | None
    lines: tuple[DocumentLine, ...]
    subtotal: int
    tax: int
    total: int
    credit_applied: int
    amount_due: int
    time_zone: str = "UTC"
    granularity: Granularity = Granularity.DAY
    payments: tuple[DocumentPayment, ...] = ()
    reverse_charge: bool = False
    reverse_charge_notes: Mapping[str, str] = field(default_factory=dict)  # language -> the note (rule T2)
    corrects: str | None = None  # a credit note: the number of the invoice it corrects
    reason: str = ""  # a credit note: why, as given to ``prorata invoices void|credit --reason`` ("" when none was)
    voids: bool = False  # a credit note that reverses the whole invoice it corrects
    account_id: int = 0
    account_code: str = ""  # the account's number, printed so that express pay can be used (rule EP1)
    # a Polish seller's document in another currency with Polish VAT: the bank's rate its VAT is shown in PLN at
    # (services.invoice_documents.exchange_rate_of); None when nothing is converted or the rate is not imported yet
    exchange_rate: ExchangeRate | None = None
    logo: Logo | None = None  # the seller's logo, from the configuration (the identity is ``seller``'s)
    terms_days: int | None = None  # rule NT1: issued on net terms, paid by transfer naming its number

    def tax_rows(self) -> tuple[TaxRow, ...]:
        return tax_by_rate(self.lines)


def tax_by_rate(lines: Sequence[DocumentLine]) -> tuple[TaxRow, ...]:
    """Rule I5 "tax by rate": the base and the tax of each rate, sums of the lines (never recomputed, rule T3)."""
    rows: dict[int, tuple[int, int]] = {}
    for line in lines:
        base, tax = rows.get(line.tax_rate, (0, 0))
        rows[line.tax_rate] = (base + line.amount, tax + line.tax)
    return tuple(TaxRow(rate, base, tax) for rate, (base, tax) in sorted(rows.items(), reverse=True))
