"""Rule R2 on SQLite and PostgreSQL: a partial credit note never gives back more than the invoice took."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from prorata.adapters.db.schema import invoice_lines, invoices
from prorata.domain.cart import ChangePlan
from prorata.services.credit_notes import credit_lines, void_invoice
from tests.integration.shop import Shop


def test_crediting_the_charge_line_of_an_upgrade_gives_back_at_most_what_the_invoice_took(engine: Engine) -> None:
    """Rule R2: the upgrade invoice charges Business and credits the unused time of Pro (line 1, a credit); its total
    is the charge less that credit. Crediting only the charge line used to give back the whole charge, more than the
    invoice took; now it gives back what was paid for it, and a later void gives back nothing more."""
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3))
    shop.clock.at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    shop.order(ChangePlan("business", 10), key="k2")
    with engine.connect() as conn:
        upgrade = conn.execute(select(invoices).order_by(invoices.c.id.desc())).mappings().first()
        assert upgrade is not None
        kinds = conn.execute(
            select(invoice_lines.c.position, invoice_lines.c.kind, invoice_lines.c.amount, invoice_lines.c.tax)
            .where(invoice_lines.c.invoice_id == upgrade["id"]).order_by(invoice_lines.c.position)
        ).all()  # fmt: skip
    number = f"INV-{upgrade['year']}-{upgrade['number']:06d}"
    charge = next(line for line in kinds if line.kind == "charge")
    took = shop.paid_for(upgrade["id"]) + upgrade["credit_applied"]
    assert 0 < took < charge.amount + charge.tax  # the unused time of Pro paid part of the charge

    credited = credit_lines(number, [charge.position], actor="operator", uow=shop.uow, clock=shop.clock)

    assert credited.to_balance == took
    assert shop.balance() == took
    voided = void_invoice(number, actor="operator", uow=shop.uow, clock=shop.clock)
    assert voided.to_balance == 0
    assert shop.balance() == took
    shop.assert_books_balance()
