"""Invoices as documents through the API: the PDF and the KSeF FA(3) e-invoice (rules I3, I5, T1), on SQLite and
PostgreSQL."""

from __future__ import annotations

import io

from pypdf import PdfReader

from prorata.adapters.documents.ksef import validate_fa3
from prorata.services.credit_notes import void_invoice
from prorata.services.formatting import format_money as money
from tests.e2e.api_client import Api

PRO_2 = {"type": "change_plan", "product": "pro", "licenses": 2}


def test_an_invoice_is_downloaded_as_a_pdf_in_either_language(api: Api) -> None:
    # rules I3, I5
    acme = api.open_account("acme")
    placed = acme.order(PRO_2, key="buy")
    invoice = acme.get(f"/invoices/{placed.json()['invoice_id']}").json()

    english = api.client.get(f"/api/v1/accounts/{acme.id}/invoices/{invoice['id']}/pdf", headers=acme.headers)
    polish = api.client.get(
        f"/api/v1/accounts/{acme.id}/invoices/{invoice['id']}/pdf", params={"language": "pl"}, headers=acme.headers
    )

    assert english.status_code == polish.status_code == 200
    assert english.headers["content-type"] == "application/pdf"
    texts = ["\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages) for r in (english, polish)]
    assert all(invoice["number"] in text for text in texts)
    assert f"Total\n{money(invoice['total'], invoice['currency'], 'en')}\n" in texts[0]
    assert "Faktura" in texts[1]
    refused = api.client.get(
        f"/api/v1/accounts/{acme.id}/invoices/{invoice['id']}/pdf", params={"language": "de"}, headers=acme.headers
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"


def test_an_invoice_is_exported_as_a_ksef_fa3_e_invoice_that_the_schema_accepts(api: Api) -> None:
    # KSeF: the default seller is Polish; the document is validated before it is answered
    acme = api.open_account("acme")
    placed = acme.order(PRO_2, key="buy")

    answer = api.client.get(
        f"/api/v1/accounts/{acme.id}/invoices/{placed.json()['invoice_id']}/ksef", headers=acme.headers
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    validate_fa3(answer.content)  # raises with the schema's message when the XML breaks it
    assert placed.json()["invoice_number"].encode() in answer.content


def test_a_credit_note_is_exported_as_a_correction_of_the_invoice_it_corrects(api: Api) -> None:
    # rule I2: the correction names the invoice it corrects; the schema accepts it
    acme = api.open_account("acme")
    placed = acme.order(PRO_2, key="buy").json()
    note = void_invoice(placed["invoice_number"], actor="test", uow=api.app.uow, clock=api.app.clock)
    notes = [i for i in acme.get("/invoices").json() if i["number"] == note.number]

    answer = api.client.get(f"/api/v1/accounts/{acme.id}/invoices/{notes[0]['id']}/ksef", headers=acme.headers)

    assert answer.status_code == 200, answer.text
    validate_fa3(answer.content)
    assert placed["invoice_number"].encode() in answer.content  # the corrected invoice, by its number
    assert b"KOR" in answer.content
