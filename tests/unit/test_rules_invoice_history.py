"""Rule IH1: Invoice History lists the last 12 months, the archive the 3 years before; an open invoice is never
hidden."""

from __future__ import annotations

from datetime import date

import pytest

from prorata.domain.invoice_history import history_window


def test_the_last_twelve_months_and_the_three_years_before_them() -> None:
    window = history_window(date(2027, 3, 15))
    assert (window.recent_from, window.archive_from) == (date(2026, 3, 15), date(2023, 3, 15))


@pytest.mark.parametrize(
    ("issued", "status", "shelf"),
    [
        (date(2026, 3, 15), "paid", "recent"),  # the first day of the 12 months
        (date(2026, 3, 14), "paid", "archive"),  # the day before
        (date(2023, 3, 15), "void", "archive"),  # the archive's first day
        (date(2023, 3, 14), "paid", None),  # older: not in the portal
        (date(2020, 1, 1), "open", "recent"),  # still owed: where it can be paid
    ],
)
def test_each_invoice_has_one_place(issued: date, status: str, shelf: str | None) -> None:
    assert history_window(date(2027, 3, 15)).shelf(issued, status) == shelf


def test_a_day_the_earlier_month_has_not_is_its_last_day() -> None:
    assert history_window(date(2028, 2, 29)).recent_from == date(2027, 2, 28)
    assert history_window(date(2027, 3, 31)).archive_from == date(2023, 3, 31)
    assert history_window(date(2026, 12, 31)).recent_from == date(2025, 12, 31)
