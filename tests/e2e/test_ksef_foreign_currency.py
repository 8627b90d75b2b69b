"""A Polish seller's invoice in another currency with Polish VAT: its e-invoice carries the National Bank of Poland's
rate of the last working day before the issue date and the VAT in PLN, and waits, saying for which table, while that
rate is not imported (`prorata rates import`). On SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from prorata.adapters.db.schema import exchange_rates, invoice_lines
from prorata.adapters.documents.ksef import validate_fa3
from prorata.domain.exchange_rates import ExchangeRate, vat_in_pln
from prorata.services.formatting import format_money
from tests.e2e.api_client import Account, Api

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nbp"
WARSAW = {"name": "Ola", "email": "ola@dollar.test", "address_line1": "ul. Prosta 1", "city": "Warszawa",
          "postal_code": "00-001", "country": "PL"}  # fmt: skip


def dollar_invoice(api: Api) -> tuple[Account, dict[str, object]]:
    """An account billed in USD whose Sold-To is in Poland: 23 % Polish VAT in dollars, issued Sunday 15 November."""
    account = api.open_account("dollar-pl")
    assert (
        api.client.put(f"{account.url}/contacts", json={"sold_to": WARSAW}, headers=account.headers).status_code == 200
    )
    placed = account.order({"type": "change_plan", "product": "pro", "licenses": 3}, key="buy")
    assert placed.status_code == 201, placed.text
    return account, account.get(f"/invoices/{placed.json()['invoice_id']}").json()


def prorata(api: Api, *args: str) -> subprocess.CompletedProcess[str]:
    url = api.app.engine.url.render_as_string(hide_password=False)
    return subprocess.run([sys.executable, "-m", "prorata", *args, "--database", url], capture_output=True, text=True,
                          check=False)  # fmt: skip


def test_the_e_invoice_waits_for_the_rate_and_then_carries_it_and_the_vat_in_pln(api: Api) -> None:
    account, invoice = dollar_invoice(api)
    ksef = f"{account.url}/invoices/{invoice['id']}/ksef"
    assert int(str(invoice["tax"])) > 0

    waiting = api.client.get(ksef, headers=account.headers)
    held = prorata(api, "rates", "held", "--since", "2026-11-01", "--json")
    imported = prorata(api, "rates", "import", str(FIXTURES / "a221z261113.xml"))
    answer = api.client.get(ksef, headers=account.headers)

    assert (waiting.status_code, waiting.json()["code"]) == (409, "rates.missing")
    assert "2026-11-13" in waiting.json()["detail"]  # Friday: the last working day before Sunday the 15th
    assert held.returncode == 2, held.stderr
    assert json.loads(held.stdout)["held"] == [{"number": invoice["number"], "currency": "USD",
                                                "issued_on": "2026-11-15", "rate_of": "2026-11-13"}]  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "3 rates imported" in imported.stdout
    assert answer.status_code == 200, answer.text
    validate_fa3(answer.content)
    xml = answer.content.decode()
    with api.app.engine.connect() as conn:
        lines = conn.execute(select(invoice_lines.c.tax_rate, invoice_lines.c.tax)
                             .where(invoice_lines.c.invoice_id == invoice["id"])).all()  # fmt: skip
    assert re.findall(r"<KursWaluty>([^<]+)</KursWaluty>", xml) == ["3.6512"] * len([t for _, t in lines if t])
    rate = ExchangeRate("USD", api.app.clock.now().date(), "221/A/NBP/2026", Decimal("3.6512"))
    expected = vat_in_pln([(r, t) for r, t in lines], "USD", rate)[2300]
    assert re.findall(r"<P_14_1W>([^<]+)</P_14_1W>", xml) == [str(Decimal(expected) / 100)]
    assert prorata(api, "rates", "held", "--since", "2026-11-01").returncode == 0


def test_an_import_is_all_or_nothing_and_a_file_that_contradicts_a_stored_rate_is_refused(
    api: Api, tmp_path: Path
) -> None:
    first = prorata(api, "rates", "import", str(FIXTURES / "tables_a_2026-11-12_2026-11-16.json"))
    again = prorata(api, "rates", "import", str(FIXTURES / "a221z261113.xml"))
    contradicting = tmp_path / "a221z261113.xml"
    contradicting.write_bytes((FIXTURES / "a221z261113.xml").read_bytes().replace(b"4,2307", b"4,9999"))
    refused = prorata(api, "rates", "import", str(FIXTURES / "a221z261113.xml"), str(contradicting))

    assert first.returncode == 0, first.stderr
    assert "6 rates imported" in first.stdout
    assert "1 rates imported, 2 already stored" in again.stdout  # HUF is new; USD and EUR agree
    assert refused.returncode == 1
    assert "4.2307" in refused.stderr + refused.stdout
    with api.app.engine.connect() as conn:
        stored = dict(conn.execute(select(exchange_rates.c.table_date, exchange_rates.c.mid)
                                   .where(exchange_rates.c.currency == "EUR")).all())  # fmt: skip
    assert len(stored) == 3
    assert {str(v) for v in stored.values()} == {"4.2291", "4.2307", "4.2350"}


def test_a_document_without_polish_vat_needs_no_rate(api: Api) -> None:
    # a US buyer billed in USD pays no Polish VAT: nothing to convert, nothing to wait for
    account = api.open_account("dollar")
    placed = account.order({"type": "change_plan", "product": "pro", "licenses": 1}, key="buy")
    answer = api.client.get(f"{account.url}/invoices/{placed.json()['invoice_id']}/ksef", headers=account.headers)
    assert answer.status_code == 200, answer.text
    assert "KursWaluty" not in answer.text


def test_the_pdf_shows_the_vat_in_pln_and_the_rate_once_the_rate_is_imported(api: Api) -> None:
    # VAT act art. 106e(11): a foreign-currency invoice shows its VAT in PLN, at the rate it names
    account, invoice = dollar_invoice(api)
    pdf = f"{account.url}/invoices/{invoice['id']}/pdf"

    def text(language: str) -> str:
        answer = api.client.get(pdf, params={"language": language}, headers=account.headers)
        assert answer.status_code == 200, answer.text
        pages = PdfReader(io.BytesIO(answer.content)).pages
        return "\n".join(page.extract_text() for page in pages).replace("\xa0", " ")

    before = text("en")
    assert prorata(api, "rates", "import", str(FIXTURES / "a221z261113.xml")).returncode == 0
    english, polish = text("en"), text("pl")

    with api.app.engine.connect() as conn:
        lines = conn.execute(select(invoice_lines.c.tax_rate, invoice_lines.c.tax)
                             .where(invoice_lines.c.invoice_id == invoice["id"])).all()  # fmt: skip
    rate = ExchangeRate("USD", api.app.clock.now().date(), "221/A/NBP/2026", Decimal("3.6512"))
    pln = vat_in_pln([(r, t) for r, t in lines], "USD", rate)[2300]
    assert "in PLN" not in before  # the PDF is not held, and shows no guessed figure
    assert f"VAT 23 % in PLN: {format_money(pln, 'PLN', 'en')}".replace("\xa0", " ") in english
    assert "221/A/NBP/2026" in english
    assert "3.6512" in english
    assert f"VAT 23 % w PLN: {format_money(pln, 'PLN', 'pl')}".replace("\xa0", " ") in polish
    assert "3,6512" in polish
    # rule EP1: the account's number is printed, so the invoice can be paid without signing in
    assert "Account number: dollar-pl" in english
    assert "Numer konta: dollar-pl" in polish
