"""Rule IH1 in the portal, on SQLite and PostgreSQL: Invoice History lists the last 12 months and every invoice still
open; the archive the 3 years before; nothing older."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from prorata.adapters.db.queries import invoice_views
from prorata.adapters.db.schema import invoices
from prorata.bootstrap import App
from tests.e2e.conftest import Visitor, account_id, make_overdue


def issued(app: App, invoice_id: int, at: datetime) -> None:
    with app.engine.begin() as conn:
        conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(issued_at=at))


def test_history_shows_a_year_and_what_is_owed_and_the_archive_three_years_more(app: App, visitor: Visitor) -> None:
    make_overdue(app, "demo-business")  # its renewal of Dec 15, 2026 stays open; the clock is Dec 22, 2026
    with app.engine.connect() as conn:
        views = invoice_views(conn, account_id(app, "demo-business"))
    paid = next(v for v in views if v.status == "paid")
    owed = next(v for v in views if v.status == "open")
    issued(app, paid.id, datetime(2025, 6, 1, 12, tzinfo=UTC))  # before Dec 22, 2025: the archive
    issued(app, owed.id, datetime(2021, 1, 4, 12, tzinfo=UTC))  # long ago, but still owed
    visitor.sign_in("owner@demo-business.test")

    history = visitor.get("/billing/invoices").text
    assert owed.number in history
    assert paid.number not in history
    assert "Archive: 1 older invoice" in history
    archive = visitor.get("/billing/invoices/archive")
    assert archive.status_code == 200
    assert paid.number in archive.text
    assert owed.number not in archive.text
    assert f'href="/billing/invoices/{paid.id}/pdf"' in archive.text

    issued(app, paid.id, datetime(2022, 12, 21, 12, tzinfo=UTC))  # a day before the archive begins
    assert paid.number not in visitor.get("/billing/invoices/archive").text
    assert 'id="archive-link"' not in visitor.get("/billing/invoices").text


def test_the_archive_is_in_polish_too(app: App, visitor: Visitor) -> None:
    visitor.sign_in("owner@demo-business.test")
    visitor.language("pl")
    page = visitor.get("/billing/invoices/archive").text
    assert "Archiwum faktur" in page
    assert "Brak starszych faktur." in page
