"""What the portal and the API show: read-only views of an account, its users, subscriptions, invoices, contacts
and payment methods. Nothing here writes; every function takes the account id, so a caller never reads another
account's rows by passing a foreign row id (the id filters and the account filter go together).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, and_, func, select

from prorata.adapters.db.bulk import among
from prorata.adapters.db.documents import payment_method_text
from prorata.adapters.db.invoice_rows import AMOUNT_PAID
from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.refund_store import refund_views
from prorata.adapters.db.schema import (
    accounts,
    contacts,
    credit_ledger,
    credit_notes,
    invoice_lines,
    invoices,
    license_assignments,
    orders,
    payment_methods,
    payments,
    pending_changes,
    subscriptions,
    users,
)
from prorata.domain.account import Account, assignable_limit
from prorata.domain.errors import InvalidInput
from prorata.domain.tax import TaxBuyer
from prorata.services.ports import RefundRecord


@dataclass(frozen=True, slots=True)
class AccountView:
    id: int
    code: str
    name: str
    currency: str
    time_zone: str
    country: str
    status: str  # active, overdue, cancelled
    managed_by_sales: bool
    overdue_since: datetime | None
    credit_balance: int


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    email: str
    name: str
    role: str
    type: str
    subscriptions: tuple[int, ...]  # the subscriptions whose licenses or seats the user holds


@dataclass(frozen=True, slots=True)
class PendingView:
    kind: str
    effective: datetime
    quantity: int | None
    product: str | None


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    id: int
    product: str
    interval: str
    quantity: int
    assigned: int
    period_start: datetime
    period_end: datetime
    pending: tuple[PendingView, ...]

    @property
    def assignable_limit(self) -> int:
        """Rules U1, L4, P5: the most that may be assigned now (the fewest held now or after a scheduled change)."""
        return assignable_limit(self.quantity, (p.quantity for p in self.pending))

    @property
    def limited_from(self) -> datetime | None:
        """When a scheduled change leaves fewer than are held now: the date the limit comes from, else None."""
        lower = [p for p in self.pending if p.quantity is not None and p.quantity < self.quantity]
        return min(lower, key=lambda p: (p.quantity, p.effective)).effective if lower else None

    @property
    def assignable(self) -> int:
        """Licenses or seats free to assign now: never one that a change scheduled for the term end takes away."""
        return max(0, self.assignable_limit - self.assigned)


@dataclass(frozen=True, slots=True)
class InvoiceLineView:
    position: int
    kind: str
    product: str
    description: str
    quantity: int
    unit_amount: int | None
    period_start: datetime
    period_end: datetime
    used: int
    whole: int
    amount: int
    discount_code: str | None = None  # on a discount line (kind "discount"): the code it was given for (rule DC2)


@dataclass(frozen=True, slots=True)
class PaymentView:
    id: int
    amount: int
    status: str  # pending, succeeded, failed, credited (received for an invoice no longer owed: to the balance)
    gateway: str
    failure_code: str | None
    created_at: datetime
    settled_at: datetime | None = None
    method: str = ""  # "Visa •••• 4242", "PayPal"; empty when no method could be charged
    backup: bool = False  # rule BM1: charged to the backup method after the default one was declined


@dataclass(frozen=True, slots=True)
class InvoiceRef:
    """Another invoice or credit note of the same account, named by its number (rule I2: corrections)."""

    id: int
    number: str


@dataclass(frozen=True, slots=True)
class InvoiceView:
    id: int
    number: str
    status: str  # open, paid, void; a credit note is "issued" (drafts are not shown)
    currency: str
    subtotal: int
    tax: int
    total: int
    credit_applied: int
    amount_due: int  # what is still owed: 0 once paid or void
    issued_at: datetime
    due_at: datetime | None
    paid_at: datetime | None
    amount_paid: int = 0  # what payments paid for it (money received beyond what it owed went to the credit balance)
    lines: tuple[InvoiceLineView, ...] = ()
    payments: tuple[PaymentView, ...] = ()
    # rule I2: an issued invoice is corrected by credit notes, never edited; both say so
    kind: str = "invoice"  # invoice or credit_note
    corrects: InvoiceRef | None = None  # on a credit note: the invoice it corrects
    reason: str | None = None  # on a credit note: why it was issued, as the operator gave it
    corrected_by: tuple[InvoiceRef, ...] = ()  # on an invoice: the credit notes that correct it, oldest first
    # rules R1, R2: on a credit note, where what it gave back went: the credit balance, and a refund to the card
    to_balance: int = 0
    refund: RefundRecord | None = None


@dataclass(frozen=True, slots=True)
class ContactView:
    kind: str
    name: str
    company: str | None
    email: str
    phone: str | None
    address_line1: str
    address_line2: str | None
    city: str
    postal_code: str
    region: str | None
    country: str
    tax_id: str | None


@dataclass(frozen=True, slots=True)
class PaymentMethodView:
    id: int
    kind: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    paypal_email: str | None
    is_default: bool
    billing_address: tuple[str, ...] = ()  # rule K4: the card's own address; empty when it is the Bill-To's
    is_backup: bool = False  # rule BM1: charged when a renewal's charge on the default method is declined

    @property
    def label(self) -> str:
        """``Visa •••• 4242`` or ``PayPal buyer@example.com``: the brand as written on the card."""
        if self.kind == "paypal":
            return f"PayPal {self.paypal_email or ''}".strip()
        return payment_method_text(self.kind, self.brand, self.last4)


def account_view(conn: Connection, account_id: int) -> AccountView | None:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).mappings().one_or_none()
    if row is None:
        return None
    balance = conn.execute(
        select(func.coalesce(func.sum(credit_ledger.c.amount), 0)).where(credit_ledger.c.account_id == account_id)
    ).scalar_one()
    return AccountView(
        int(row["id"]), row["code"], row["name"], row["currency"], row["time_zone"], row["country"], row["status"],
        bool(row["managed_by_sales"]), row["overdue_since"], int(balance),
    )  # fmt: skip


def account_head(conn: Connection, account_id: int, credit_balance: int) -> tuple[AccountView, TaxBuyer] | None:
    """``account_view`` for a page that has read the account as the engine sees it (``load_account``), which holds
    the credit balance already, with the buyer its tax is decided for (rule T1): one statement."""
    sold_to = and_(contacts.c.account_id == accounts.c.id, contacts.c.kind == "sold_to")
    row = conn.execute(
        select(accounts, contacts.c.country.label("sold_to_country"), contacts.c.tax_id.label("sold_to_tax_id"))
        .select_from(accounts.outerjoin(contacts, sold_to))
        .where(accounts.c.id == account_id)
    ).mappings().one_or_none()  # fmt: skip
    if row is None:
        return None
    view = AccountView(
        int(row["id"]), row["code"], row["name"], row["currency"], row["time_zone"], row["country"], row["status"],
        bool(row["managed_by_sales"]), row["overdue_since"], credit_balance,
    )  # fmt: skip
    return view, tax_buyer(row["country"], row["sold_to_country"], row["sold_to_tax_id"], row["tax_exemption"])


def tax_buyer(
    country: str, sold_to_country: str | None, sold_to_tax_id: str | None, exemption: str | None = None
) -> TaxBuyer:
    """Rule T1: the Sold-To contact's country and VAT number; without a Sold-To contact, the account's country (a
    consumer). Rule TE1: exempt once an operator accepted the account's certificate."""
    exempt = exemption == "exempt"
    if sold_to_country:
        return TaxBuyer(sold_to_country, sold_to_tax_id or None, exempt=exempt)
    return TaxBuyer(country, exempt=exempt)


def account_id_by_code(conn: Connection, code: str) -> int | None:
    found = conn.execute(select(accounts.c.id).where(accounts.c.code == code)).scalar_one_or_none()
    return None if found is None else int(found)


def known_account(conn: Connection, code: str) -> int:
    """The id of the account of this code, or the refusal that names it (the operator's commands)."""
    found = account_id_by_code(conn, code)
    if found is None:
        raise InvalidInput("account.unknown", f"account: there is no account {code!r}", field="account")
    return found


def user_views(conn: Connection, account_id: int) -> list[UserView]:
    return user_views_of(conn, [account_id]).get(account_id, [])


def user_views_of(conn: Connection, account_ids: Sequence[int]) -> dict[int, list[UserView]]:
    """The users of several accounts in two queries, each with the active subscriptions whose licenses it holds."""
    held: dict[int, list[int]] = {}
    for user_id, sub_id in conn.execute(
        select(license_assignments.c.user_id, license_assignments.c.subscription_id)
        .join(subscriptions, subscriptions.c.id == license_assignments.c.subscription_id)
        .where(among(conn, subscriptions.c.account_id, account_ids), subscriptions.c.status == "active")
        .order_by(license_assignments.c.subscription_id)
    ):
        held.setdefault(int(user_id), []).append(int(sub_id))
    rows = conn.execute(
        select(users.c.id, users.c.account_id, users.c.email, users.c.name, users.c.role, users.c.type)
        .where(among(conn, users.c.account_id, account_ids))
        .order_by(users.c.id)
    )
    found: dict[int, list[UserView]] = {}
    for r in rows:
        found.setdefault(int(r.account_id), []).append(
            UserView(int(r.id), r.email, r.name, r.role, r.type, tuple(held.get(int(r.id), ())))
        )
    return found


def subscription_views(conn: Connection, account_id: int) -> list[SubscriptionView]:
    return subscription_views_of(conn, [account_id]).get(account_id, [])


def subscription_views_of(conn: Connection, account_ids: Sequence[int]) -> dict[int, list[SubscriptionView]]:
    """The active subscriptions of several accounts in three queries, with their pending changes."""
    subs = conn.execute(
        select(subscriptions)
        .where(among(conn, subscriptions.c.account_id, account_ids), subscriptions.c.status == "active")
        .order_by(subscriptions.c.id)
    ).mappings().all()  # fmt: skip
    ids = [int(s["id"]) for s in subs]
    pending: dict[int, list[PendingView]] = {i: [] for i in ids}
    assigned: dict[int, int] = {}
    if ids:
        for p in conn.execute(
            select(pending_changes)
            .where(among(conn, pending_changes.c.subscription_id, ids))
            .order_by(pending_changes.c.id)
        ).mappings():
            pending[int(p["subscription_id"])].append(
                PendingView(p["kind"], p["effective"], p["quantity"], p["product"])
            )
        assigned = {
            int(sub_id): int(count)
            for sub_id, count in conn.execute(
                select(license_assignments.c.subscription_id, func.count())
                .where(among(conn, license_assignments.c.subscription_id, ids))
                .group_by(license_assignments.c.subscription_id)
            )
        }
    found: dict[int, list[SubscriptionView]] = {}
    for s in subs:
        found.setdefault(int(s["account_id"]), []).append(
            SubscriptionView(
                int(s["id"]),
                s["product"],
                s["interval"],
                int(s["quantity"]),
                assigned.get(int(s["id"]), 0),
                s["period_start"],
                s["period_end"],
                tuple(pending[int(s["id"])]),
            )
        )
    return found


def subscription_views_in(account: Account) -> list[SubscriptionView]:
    """``subscription_views`` of an account already read as the engine sees it (its active subscriptions by id, their
    pending changes and assigned licenses): the same views, without reading them again."""
    return [
        SubscriptionView(
            int(s.id), s.product, s.interval.value, s.quantity, s.assigned, s.period.start, s.period.end,
            tuple(PendingView(p.kind.value, p.effective, p.quantity, p.product) for p in s.pending),
        )
        for s in account.subscriptions
    ]  # fmt: skip


def _invoice(row: object) -> InvoiceView:
    r = row._mapping  # type: ignore[attr-defined]
    return InvoiceView(
        int(r["id"]), invoice_number_text(r["series"], r["year"], r["number"]), r["status"], r["currency"],
        int(r["subtotal"]), int(r["tax"]), int(r["total"]), int(r["credit_applied"]), int(r["amount_due"]),
        r["issued_at"], r["due_at"], r["paid_at"], int(r["amount_paid"]),
    )  # fmt: skip


_CORRECTED = invoices.alias("corrected")
_WITH_CORRECTION = invoices.outerjoin(credit_notes, credit_notes.c.invoice_id == invoices.c.id).outerjoin(
    _CORRECTED, _CORRECTED.c.id == credit_notes.c.corrects_id
)


def _invoice_query() -> Select[Any]:
    """Invoices with what payments paid for them and, for a credit note, the invoice it corrects and its reason
    (rule I2)."""
    return select(
        invoices,
        AMOUNT_PAID.label("amount_paid"),
        credit_notes.c.reason.label("note_reason"),
        _CORRECTED.c.id.label("corrects_id"),
        _CORRECTED.c.series.label("corrects_series"),
        _CORRECTED.c.year.label("corrects_year"),
        _CORRECTED.c.number.label("corrects_number"),
    ).select_from(_WITH_CORRECTION)


def _corrections(conn: Connection, ids: list[int]) -> dict[int, tuple[InvoiceRef, ...]]:
    """The credit notes correcting each of ``ids``, oldest first."""
    found: dict[int, list[InvoiceRef]] = {}
    if ids:
        rows = conn.execute(
            select(credit_notes.c.corrects_id, invoices.c.id, invoices.c.series, invoices.c.year, invoices.c.number)
            .join(invoices, invoices.c.id == credit_notes.c.invoice_id)
            .where(among(conn, credit_notes.c.corrects_id, ids))
            .order_by(invoices.c.id)
        )
        for r in rows:
            ref = InvoiceRef(int(r.id), invoice_number_text(r.series, r.year, r.number))
            found.setdefault(int(r.corrects_id), []).append(ref)
    return {invoice_id: tuple(refs) for invoice_id, refs in found.items()}


def _corrected(view: InvoiceView, row: object, corrections: dict[int, tuple[InvoiceRef, ...]]) -> InvoiceView:
    """``view`` with what corrects it, or, for a credit note, what it corrects: a credit note is not a paid
    invoice but a correction that was issued."""
    r = row._mapping  # type: ignore[attr-defined]
    if r["corrects_id"] is None:
        return replace(view, corrected_by=corrections.get(view.id, ()))
    corrects = InvoiceRef(
        int(r["corrects_id"]), invoice_number_text(r["corrects_series"], r["corrects_year"], r["corrects_number"])
    )
    return replace(view, status="issued", kind="credit_note", corrects=corrects, reason=r["note_reason"] or None)


def given_back(conn: Connection, views: list[InvoiceView]) -> list[InvoiceView]:
    """The credit notes among ``views`` with what they gave back to the balance and their refund (rules R1, R2)."""
    notes = [view.id for view in views if view.kind == "credit_note"]
    if not notes:
        return views
    balance = {
        int(invoice_id): int(amount)
        for invoice_id, amount in conn.execute(
            select(credit_ledger.c.invoice_id, func.sum(credit_ledger.c.amount))
            .where(credit_ledger.c.reason == "credit_note", credit_ledger.c.invoice_id.in_(notes))
            .group_by(credit_ledger.c.invoice_id)
        )
    }
    found = {refund.credit_note_id: refund for refund in refund_views(conn, credit_note_ids=notes)}
    return [
        replace(view, to_balance=balance.get(view.id, 0), refund=found.get(view.id))
        if view.kind == "credit_note"
        else view
        for view in views
    ]


def invoice_views(conn: Connection, account_id: int) -> list[InvoiceView]:
    """The account's issued invoices and credit notes, newest first (Invoice History); drafts of failed orders are
    not invoices."""
    rows = conn.execute(
        _invoice_query()
        .where(invoices.c.account_id == account_id, invoices.c.status != "draft")
        .order_by(invoices.c.issued_at.desc(), invoices.c.id.desc())
    ).all()
    corrections = _corrections(conn, [int(r.id) for r in rows])
    return given_back(conn, [_corrected(_invoice(r), r, corrections) for r in rows])


def invoice_view(conn: Connection, account_id: int, invoice_id: int) -> InvoiceView | None:
    """One issued invoice with its lines and payments, or None (also when it belongs to another account)."""
    return invoice_views_by_id(conn, [invoice_id], account_id=account_id).get(invoice_id)


def invoice_views_by_id(
    conn: Connection, invoice_ids: Sequence[int], *, account_id: int | None = None
) -> dict[int, InvoiceView]:
    """Issued invoices with their lines and payments, by id, in a few queries whatever their number; with
    ``account_id``, only that account's."""
    ids = list(invoice_ids)
    query = _invoice_query().where(among(conn, invoices.c.id, ids), invoices.c.status != "draft")
    if account_id is not None:
        query = query.where(invoices.c.account_id == account_id)
    rows = conn.execute(query).all()
    if not rows:
        return {}
    found = [int(r.id) for r in rows]
    corrections = _corrections(conn, found)
    heads = given_back(conn, [_corrected(_invoice(r), r, corrections) for r in rows])
    lines: dict[int, list[InvoiceLineView]] = {i: [] for i in found}
    for r in conn.execute(
        select(invoice_lines)
        .where(among(conn, invoice_lines.c.invoice_id, found))
        .order_by(invoice_lines.c.invoice_id, invoice_lines.c.position)
    ):
        lines[int(r.invoice_id)].append(
            InvoiceLineView(int(r.position), r.kind, r.product, r.description, int(r.quantity), r.unit_amount,
                            r.period_start, r.period_end, int(r.used), int(r.whole), int(r.amount), r.discount_code)
        )  # fmt: skip
    paid: dict[int, list[PaymentView]] = {i: [] for i in found}
    for r in conn.execute(
        select(payments, payment_methods.c.kind, payment_methods.c.brand, payment_methods.c.last4)
        .select_from(payments.outerjoin(payment_methods, payment_methods.c.id == payments.c.payment_method_id))
        .where(among(conn, payments.c.invoice_id, found))
        .order_by(payments.c.id)
    ):
        paid[int(r.invoice_id)].append(
            PaymentView(int(r.id), int(r.amount), r.status, r.gateway, r.failure_code, r.created_at, r.settled_at,
                        payment_method_text(r.kind, r.brand, r.last4), bool(r.backup))
        )  # fmt: skip
    return {head.id: replace(head, lines=tuple(lines[head.id]), payments=tuple(paid[head.id])) for head in heads}


def written_invoice_view(
    invoice_id: int, values: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> InvoiceView:  # fmt: skip
    """The view of an invoice written whole just now with these rows (``values`` as inserted, numbered, and its
    lines), before any payment or correction names it: what ``invoice_view`` reads of it in the same transaction."""
    return InvoiceView(
        invoice_id, invoice_number_text(values["series"], values["year"], values["number"]), values["status"],
        values["currency"], values["subtotal"], values["tax"], values["total"], values["credit_applied"],
        values["amount_due"], values["issued_at"], values["due_at"], values["paid_at"],
        lines=tuple(
            InvoiceLineView(r["position"], r["kind"], r["product"], r["description"], r["quantity"],
                            r["unit_amount"], r["period_start"], r["period_end"], r["used"], r["whole"], r["amount"],
                            r.get("discount_code"))
            for r in lines
        ),
    )  # fmt: skip


def contact_views(conn: Connection, account_id: int) -> dict[str, ContactView]:
    rows = conn.execute(select(contacts).where(contacts.c.account_id == account_id)).mappings()
    return {
        r["kind"]: ContactView(
            r["kind"],
            r["name"],
            r["company"],
            r["email"],
            r["phone"],
            r["address_line1"],
            r["address_line2"],
            r["city"],
            r["postal_code"],
            r["region"],
            r["country"],
            r["tax_id"],
        )
        for r in rows
    }


def payment_method_views(conn: Connection, account_id: int) -> list[PaymentMethodView]:
    rows = conn.execute(
        select(payment_methods)
        .where(payment_methods.c.account_id == account_id, payment_methods.c.removed_at.is_(None))
        .order_by(payment_methods.c.id)
    ).mappings()
    return [
        PaymentMethodView(
            int(r["id"]),
            r["kind"],
            r["brand"],
            r["last4"],
            r["exp_month"],
            r["exp_year"],
            r["paypal_email"],
            bool(r["is_default"]),
            _billing_address(r),
            bool(r["is_backup"]),
        )
        for r in rows
    ]


def _billing_address(row: RowMapping) -> tuple[str, ...]:
    if not row["billing_address_line1"]:
        return ()
    city = " ".join(part for part in (row["billing_postal_code"], row["billing_city"]) if part)
    parts = (row["billing_address_line1"], row["billing_address_line2"], city, row["billing_region"],
             row["billing_country"])  # fmt: skip
    return tuple(part for part in parts if part)


def has_placed_order(conn: Connection, account_id: int) -> bool:
    """Whether the account has placed an order (a returning buyer, rule K2)."""
    found = conn.execute(
        select(orders.c.id).where(orders.c.account_id == account_id, orders.c.status == "placed").limit(1)
    ).first()
    return found is not None


def terms_accepted_at(conn: Connection, account_id: int, version: str) -> datetime | None:
    """When the account last accepted this version of the Terms of Service with an order it placed (rule K6), or
    None: a returning buyer is not asked again for the same version."""
    found = conn.execute(
        select(func.max(orders.c.tos_accepted_at)).where(
            orders.c.account_id == account_id, orders.c.status == "placed", orders.c.tos_version == version
        )
    ).scalar_one_or_none()
    return found if isinstance(found, datetime) else None
