"""Credit notes in Invoice History (rule I2): a credit note is listed as a credit note ("Korekta"), with its number,
the invoice it corrects (linked) and the reason, never as a negative paid invoice; the corrected invoice names the
note that corrects it. The portal in both languages and the REST API, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from prorata.adapters.db.queries import invoice_views
from prorata.bootstrap import App
from prorata.entrypoints.portal.i18n import money
from prorata.services.credit_notes import credit_lines, void_invoice
from tests.e2e.api_client import Api
from tests.e2e.conftest import Visitor, account_id, make_overdue
from tests.e2e.order_page import norm, parse, text_by_id

PRO_2 = {"type": "change_plan", "product": "pro", "licenses": 2}


def first_invoice(app: App, code: str) -> tuple[int, str]:
    with app.engine.connect() as conn:
        found = invoice_views(conn, account_id(app, code))[-1]
    return found.id, found.number


def test_a_credit_note_is_listed_as_a_correction_of_the_paid_invoice_with_its_reason(visitor: Visitor) -> None:
    # rule I2: the operator credits the first line of demo-business's paid first invoice
    app = visitor.app
    invoice_id, number = first_invoice(app, "demo-business")
    note = credit_lines(number, [1], actor="operator", reason="Duplicate seats", uow=app.uow, clock=app.clock)
    with app.engine.connect() as conn:
        note_id = next(i.id for i in invoice_views(conn, account_id(app, "demo-business")) if i.number == note.number)
    visitor.sign_in("owner@demo-business.test")

    history = visitor.get("/billing/invoices")

    row = parse(history.text).find(f"invoice-{note_id}")
    assert row is not None
    assert (
        text_by_id(history.text, f"correction-{note_id}")
        == f"Credit note Corrects invoice {number} · Reason: Duplicate seats"
    )
    assert f'<a href="/billing/invoices/{invoice_id}" class="corrects">{number}</a>' in history.text
    assert row.all("td")[4].text == "Credit note"  # a correction that was issued, not a paid invoice
    assert row.all("td")[3].text == norm(money(note.total, "PLN"))
    assert text_by_id(history.text, f"correction-{invoice_id}") == f"Corrected by credit note {note.number}"
    corrected = parse(history.text).find(f"invoice-{invoice_id}")
    assert corrected is not None
    assert corrected.all("td")[4].text == "paid"

    page = visitor.get(f"/billing/invoices/{note_id}")
    assert f"Credit note {note.number}" in page.text
    assert text_by_id(page.text, f"correction-{note_id}") == f"Corrects invoice {number} · Reason: Duplicate seats"
    # its line reverses the invoice's charge, as the credit note's PDF writes it, not as a credit for unused time
    assert "Reversal: Business: 12 licenses, " in page.text
    assert "Unused time" not in page.text
    original = visitor.get(f"/billing/invoices/{invoice_id}")
    assert text_by_id(original.text, f"correction-{invoice_id}") == f"Corrected by credit note {note.number}"
    assert f'href="/billing/invoices/{note_id}"' in original.text


def test_a_voided_open_invoice_and_its_credit_note_read_so_in_polish(visitor: Visitor) -> None:
    # rules I2, I6, X5: demo-pro's renewal is open and overdue; the operator voids it
    make_overdue(visitor.app, "demo-pro")
    app = visitor.app
    with app.engine.connect() as conn:
        owed = next(i for i in invoice_views(conn, account_id(app, "demo-pro")) if i.status == "open")
    note = void_invoice(owed.number, actor="operator", reason="Błędna cena", uow=app.uow, clock=app.clock)
    visitor.sign_in("owner@demo-pro.test")
    visitor.language("pl")

    history = visitor.get("/billing/invoices")

    with app.engine.connect() as conn:
        listed = invoice_views(conn, account_id(app, "demo-pro"))
    shown = next(i for i in listed if i.number == note.number)
    assert text_by_id(history.text, f"correction-{shown.id}") == (
        f"Korekta Koryguje fakturę {owed.number} · Powód: Błędna cena"
    )
    row = parse(history.text).find(f"invoice-{shown.id}")
    assert row is not None
    assert row.all("td")[4].text == "Korekta"
    assert text_by_id(history.text, f"correction-{owed.id}") == f"Skorygowana korektą {note.number}"
    voided = parse(history.text).find(f"invoice-{owed.id}")
    assert voided is not None
    assert voided.all("td")[4].text == "anulowana"
    assert "otwarta faktura" not in history.text  # nothing is left to pay


def test_the_api_lists_a_credit_note_with_the_invoice_it_corrects_and_the_reason(api: Api) -> None:
    # rule I2: kind, corrects and reason on the note; corrected_by on the invoice; list and detail alike
    acme = api.open_account("acme")
    placed = acme.order(PRO_2, key="buy").json()
    note = void_invoice(placed["invoice_number"], actor="test", reason="Ordered twice", uow=api.app.uow,
                        clock=api.app.clock)  # fmt: skip

    listed = acme.get("/invoices").json()

    by_number = {i["number"]: i for i in listed}
    credit, invoice = by_number[note.number], by_number[placed["invoice_number"]]
    assert (credit["kind"], credit["status"], credit["reason"]) == ("credit_note", "issued", "Ordered twice")
    assert credit["corrects"] == {"id": placed["invoice_id"], "number": placed["invoice_number"]}
    assert credit["corrected_by"] == []
    assert credit["total"] == note.total < 0
    assert (invoice["kind"], invoice["status"], invoice["corrects"], invoice["reason"]) == (
        "invoice",
        "void",
        None,
        None,
    )
    assert invoice["corrected_by"] == [{"id": credit["id"], "number": note.number}]
    for shown in (credit, invoice):
        detail = acme.get(f"/invoices/{shown['id']}").json()
        assert {k: detail[k] for k in shown} == shown
