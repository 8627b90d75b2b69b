"""Express pay's part of the unit of work (rule EP1; ``services/express_pay.py`` reaches it).

An invoice is found by its number alone (one indexed lookup); its account's number is compared afterwards, so no
query depends on a guess of both. A card given to express pay is written as a payment method that is removed at
once: the payment that used it can name it (brand, last four), and nothing ever charges it again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select

from prorata.adapters.db.documents import parse_number
from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.schema import accounts, invoices, payment_methods
from prorata.domain.cards import CardDetails
from prorata.services.ports import ExpressInvoice, PaymentMethodRecord


class ExpressStore:
    """Express pay's part of ``SqlUnitOfWork``."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def express_invoice(self, account_number: str, invoice_number: str) -> ExpressInvoice | None:
        """The invoice of this number when it belongs to the account of this number (any letter case of either);
        None otherwise, whatever the reason."""
        parsed = parse_number(invoice_number)
        if parsed is None:
            return None
        series, year, serial = parsed
        query = (
            select(invoices.c.id, invoices.c.account_id, invoices.c.status, invoices.c.amount_due, invoices.c.currency,
                   invoices.c.due_at, accounts.c.code)
            .join(accounts, accounts.c.id == invoices.c.account_id)
            .where(invoices.c.series == series, invoices.c.year == year, invoices.c.number == serial)
        )  # fmt: skip
        row = self.conn.execute(query).mappings().first()
        if row is None or row["code"].casefold() != account_number.strip().casefold():
            return None
        return ExpressInvoice(
            int(row["id"]), int(row["account_id"]), invoice_number_text(series, year, serial), row["status"],
            int(row["amount_due"]), row["currency"], row["due_at"],
        )  # fmt: skip

    def add_one_time_method(
        self, account_id: int, kind: str, gateway: str, token: str, card: CardDetails | None,
        paypal_email: str | None, now: datetime,
    ) -> PaymentMethodRecord:  # fmt: skip
        """A method for one payment: never the default, and removed as it is written."""
        method_id = self.conn.execute(
            insert(payment_methods)
            .values(account_id=account_id, kind=kind, gateway=gateway, token=token,
                    brand=card.brand.value if card else None, last4=card.last4 if card else None,
                    exp_month=card.exp_month if card else None, exp_year=card.exp_year if card else None,
                    paypal_email=paypal_email, is_default=False, created_at=now, removed_at=now)
            .returning(payment_methods.c.id)
        ).scalar_one()  # fmt: skip
        return PaymentMethodRecord(int(method_id), gateway, token)
