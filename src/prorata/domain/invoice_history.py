"""Which invoices Invoice History lists, and which its archive lists (rule IH1).

Invoice History shows the invoices issued in the last 12 months; the archive view shows those of the 3 years before
that. Dates are the seller's issue dates (rule I2: the date printed on the invoice), counted in whole days: the last
12 months of 15 March 2027 begin on 15 March 2026, and the archive on 15 March 2023. An invoice still open is always
in Invoice History, however old: something owed is never hidden where it cannot be paid. Older invoices are listed
nowhere in the portal (their documents stay with the operator, and in the API).
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date

RECENT_MONTHS = 12
ARCHIVE_YEARS = 3


def _months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier; a day the month has not (31 March -> 29 February) is its last day."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


@dataclass(frozen=True, slots=True)
class HistoryWindow:
    recent_from: date  # Invoice History: issued on this day or later
    archive_from: date  # the archive: issued on this day or later, and before ``recent_from``

    def shelf(self, issued: date, status: str) -> str | None:
        """``recent``, ``archive``, or None (too old for the portal)."""
        if issued >= self.recent_from or status == "open":
            return "recent"
        if issued >= self.archive_from:
            return "archive"
        return None


def history_window(today: date) -> HistoryWindow:
    """Rule IH1: the last 12 months up to ``today`` (the seller's date), and the 3 years before them."""
    recent_from = _months_before(today, RECENT_MONTHS)
    return HistoryWindow(recent_from, _months_before(recent_from, ARCHIVE_YEARS * 12))
