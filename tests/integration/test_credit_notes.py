"""Credit notes on SQLite and PostgreSQL: issued invoices are corrected, never edited (rules I2, T3, I6)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, insert, select

from prorata.adapters.db.schema import accounts, credit_ledger, invoice_lines, invoices
from prorata.adapters.documents.pdf import render_pdf
from prorata.domain.cart import AddAddon, ChangePlan
from prorata.domain.errors import ProrataError
from prorata.entrypoints.cli.main import main
from prorata.services.billing_information import Contact, set_contacts
from prorata.services.credit_notes import credit_lines, void_invoice
from prorata.services.invoice_documents import invoice_document
from prorata.services.renew_due import RenewDue, renew_due
from tests.helpers import CATALOG
from tests.integration.shop import Shop
from tests.races import together

SOLD_TO = Contact("Anna Nowak", "anna@acme.pl", "ul. Długa 1", "Gdańsk", "80-001", "PL", tax_id="1234563218")
DEC_15 = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)


def number_of(row: Any) -> str:
    return f"{row['series']}-{row['year']}-{row['number']:06d}"


def rows(engine: Engine, series: str = "INV") -> list[dict[str, Any]]:
    with engine.connect() as conn:
        found = conn.execute(select(invoices).where(invoices.c.series == series).order_by(invoices.c.id)).mappings()
        return [dict(r) for r in found]


def lines_of(engine: Engine, invoice_id: int) -> list[tuple[str, int, int, int]]:
    with engine.connect() as conn:
        found = conn.execute(
            select(invoice_lines.c.kind, invoice_lines.c.amount, invoice_lines.c.tax_rate, invoice_lines.c.tax)
            .where(invoice_lines.c.invoice_id == invoice_id)
            .order_by(invoice_lines.c.position)
        )
        return [tuple(r) for r in found]  # type: ignore[misc]


def polish_shop(engine: Engine) -> Shop:
    shop = Shop(engine)
    set_contacts(shop.account_id, SOLD_TO, None, uow=shop.uow, clock=shop.clock)
    return shop


def test_voiding_a_paid_invoice_reverses_every_line_at_its_rate_and_refunds_to_the_balance(engine: Engine) -> None:
    # rules I2, T3: a credit note of its own series; the invoice keeps its lines and totals, only its status changes
    shop = polish_shop(engine)
    shop.order(ChangePlan("pro", 3))
    (paid,) = rows(engine)
    before = lines_of(engine, paid["id"])
    result = void_invoice(number_of(paid), actor="operator", reason="duplicate", uow=shop.uow, clock=shop.clock)
    (note,) = rows(engine, "CN")
    assert result.number == number_of(note) == "CN-2026-000001"
    assert [(kind, -amount, rate, -tax) for kind, amount, rate, tax in lines_of(engine, note["id"])] == [
        ("credit" if kind == "charge" else "charge", amount, rate, tax) for kind, amount, rate, tax in before
    ]
    assert note["total"] == -paid["total"]
    (after,) = rows(engine)
    assert after["status"] == "void"
    assert {k: after[k] for k in ("subtotal", "tax", "total", "number")} == {
        k: paid[k] for k in ("subtotal", "tax", "total", "number")
    }
    assert lines_of(engine, paid["id"]) == before
    assert shop.balance() == shop.paid_for(paid["id"]) == result.to_balance  # what was paid goes back to the balance


def test_voiding_an_open_invoice_cancels_what_is_due_and_gives_back_the_credit_it_used(engine: Engine) -> None:
    # rules I2, I6: the renewal used 5.00 of credit and the card was declined, so the account went overdue
    shop = polish_shop(engine)
    shop.order(ChangePlan("pro", 3))
    with engine.begin() as conn:
        conn.execute(insert(credit_ledger).values(account_id=shop.account_id, amount=500, currency="USD",
                                                  reason="goodwill", created_at=shop.clock.at))  # fmt: skip
        shop.set_card(conn, "4000000000000002")
    for day in (15, 16, 18, 20, 22):
        shop.clock.at = DEC_15.replace(day=day)
        renew_due(RenewDue(shop.clock.at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                  catalog=CATALOG, dunning=shop.dunning)  # fmt: skip
    renewal = rows(engine)[-1]
    assert (renewal["status"], renewal["credit_applied"], shop.balance()) == ("open", 500, 0)
    with engine.connect() as conn:
        assert conn.execute(select(accounts.c.status)).scalar_one() == "overdue"
    result = void_invoice(number_of(renewal), actor="operator", uow=shop.uow, clock=shop.clock)
    assert (result.invoice_status, result.invoice_amount_due, result.to_balance) == ("void", 0, 500)
    assert shop.balance() == 500
    with engine.connect() as conn:
        assert conn.execute(select(accounts.c.status)).scalar_one() == "active"


def test_crediting_one_line_of_a_paid_invoice_credits_it_with_its_tax_and_only_once(engine: Engine) -> None:
    # rules I2, T3: the upgrade invoice has a credit (line 1) and a charge (line 2)
    shop = polish_shop(engine)
    shop.order(ChangePlan("pro", 3))
    shop.clock.at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    shop.order(ChangePlan("business", 10), key="k2")
    upgrade = rows(engine)[-1]
    number = number_of(upgrade)
    (_, _, _, _), (_, charge, rate, tax) = lines_of(engine, upgrade["id"])
    took = shop.paid_for(upgrade["id"]) + upgrade["credit_applied"]
    result = credit_lines(number, [2], actor="operator", uow=shop.uow, clock=shop.clock)
    assert result.total == -(charge + tax)
    assert lines_of(engine, rows(engine, "CN")[0]["id"]) == [("credit", -charge, rate, -tax)]
    # rule R2: the note reverses the whole charge line but gives back no more than the invoice took (the unused time
    # of the old plan paid the rest of the charge)
    assert shop.balance() == took < charge + tax
    assert rows(engine)[-1]["status"] == "paid"
    for wrong, code in (([2], "credit_note.already_credited"), ([1], "credit_note.would_charge"),
                        ([7], "credit_note.lines"), ([], "credit_note.lines")):  # fmt: skip
        with pytest.raises(ProrataError) as error:
            credit_lines(number, wrong, actor="operator", uow=shop.uow, clock=shop.clock)
        assert (error.value.code, error.value.field) == (code, "lines")
    assert len(rows(engine, "CN")) == 1
    assert shop.balance() == took


def test_credit_notes_are_numbered_without_gaps_in_their_own_series(engine: Engine) -> None:
    # rule I2
    shop = polish_shop(engine)
    shop.order(ChangePlan("pro", 3))
    shop.order(ChangePlan("business", 10), key="k2")
    first, second = (number_of(r) for r in rows(engine))
    numbers = [void_invoice(first, actor="operator", uow=shop.uow, clock=shop.clock).number]
    with pytest.raises(ProrataError) as error:
        void_invoice(first, actor="operator", uow=shop.uow, clock=shop.clock)  # already void: refused, no number
    refused = error.value
    numbers.append(void_invoice(second, actor="operator", uow=shop.uow, clock=shop.clock).number)
    assert (refused.code, refused.field) == ("credit_note.not_creditable", "number")
    assert numbers == ["CN-2026-000001", "CN-2026-000002"]
    assert [number_of(r) for r in rows(engine)] == ["INV-2026-000001", "INV-2026-000002"]
    with pytest.raises(ProrataError) as error:
        void_invoice(numbers[0], actor="operator", uow=shop.uow, clock=shop.clock)
    assert error.value.code == "credit_note.of_credit_note"


def test_a_credit_note_prints_as_a_correction_of_its_invoice(engine: Engine) -> None:
    # rules I2, I5, X5
    shop = polish_shop(engine)
    shop.order(ChangePlan("pro", 3))
    invoice = number_of(rows(engine)[0])
    note = void_invoice(invoice, actor="operator", uow=shop.uow, clock=shop.clock).number
    document = invoice_document(note, uow=shop.uow, catalog=CATALOG)
    assert (document.kind, document.corrects) == ("credit_note", invoice)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(document, "pl"))).pages)
    assert f"Faktura korygująca {note}" in text
    assert f"Koryguje fakturę {invoice}" in text
    assert "Korekta: Dla profesjonalistów: 3 licencje" in text


def test_the_cli_voids_an_invoice(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--database", database_url]) == 0
    number = capsys.readouterr().out.split("demo-pro: placed, invoice ")[1].split(",")[0]
    assert main(["invoices", "void", number, "--reason", "test", "--database", database_url]) == 0
    out = capsys.readouterr().out
    assert "CN-" in out
    assert f"corrects {number}" in out
    assert "is now void" in out
    assert main(["invoices", "void", number, "--database", database_url]) == 1
    assert "only open or paid invoices are corrected" in capsys.readouterr().err


def test_voiding_after_a_partial_credit_gives_back_only_what_the_credit_did_not(engine: Engine) -> None:
    """Rule R2: a paid invoice credited line by line and then voided gives back, in all, what was paid for it, once.
    Before, the void gave back everything paid again, on top of what the earlier credit note had given."""
    shop = polish_shop(engine)
    shop.order(ChangePlan("business", 10), AddAddon("large_meetings_500", 2))
    (paid,) = rows(engine)
    (_, plan, _, plan_tax), (_, addon, _, addon_tax) = lines_of(engine, paid["id"])
    put_in = shop.paid_for(paid["id"]) + paid["credit_applied"]
    assert put_in == plan + plan_tax + addon + addon_tax > 0
    credited = credit_lines(number_of(paid), [2], actor="operator", uow=shop.uow, clock=shop.clock)
    assert credited.to_balance == addon + addon_tax
    voided = void_invoice(number_of(paid), actor="operator", uow=shop.uow, clock=shop.clock)
    assert voided.to_balance == plan + plan_tax  # only what the first credit note did not give back
    assert shop.balance() == put_in  # in all, what was paid, once
    assert rows(engine)[0]["status"] == "void"


def test_a_partial_credit_and_a_void_released_together_give_back_what_was_paid_once(engine: Engine) -> None:
    """Rule R2 under concurrency: a credit of one line and a void of the same paid invoice, each on its own
    connection, released together. Whichever runs second reads, under the account's lock, what the first gave back;
    in all the balance receives what was paid, once."""
    shop = polish_shop(engine)
    shop.order(ChangePlan("business", 10), AddAddon("large_meetings_500", 2))
    (paid,) = rows(engine)
    put_in = shop.paid_for(paid["id"]) + paid["credit_applied"]
    number = number_of(paid)
    results = together([
        lambda: credit_lines(number, [2], actor="operator", uow=shop.uow, clock=shop.clock),
        lambda: void_invoice(number, actor="operator", uow=shop.uow, clock=shop.clock),
    ])  # fmt: skip
    errors = [r for r in results if isinstance(r, BaseException)]
    # the void may come first: the invoice is void, the credit is refused, and nothing more is given
    assert all(isinstance(e, ProrataError) and e.code == "credit_note.not_creditable" for e in errors), errors
    assert shop.balance() == put_in
    assert rows(engine)[0]["status"] == "void"
