"""The first and last day of a service period as customers read it: the last day included (rules C3, X2).

Periods are half-open ``[start, end)``; a document writes the last day the period serves, in the account's time zone,
so that Nov 30 - Dec 30 (midnight) reads Nov 30 - Dec 29 everywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prorata.domain.periods import Granularity, Period, last_day, measure, service_days

NEW_YORK = ZoneInfo("America/New_York")
WARSAW = ZoneInfo("Europe/Warsaw")


def test_a_period_ending_at_midnight_has_the_day_before_as_its_last_day() -> None:
    period = Period(datetime(2026, 11, 30, tzinfo=NEW_YORK), datetime(2026, 12, 30, tzinfo=NEW_YORK))
    for granularity in Granularity:
        assert service_days(period, NEW_YORK, granularity) == (date(2026, 11, 30), date(2026, 12, 29))


def test_the_days_are_the_accounts_not_utcs() -> None:
    # rule X2: Dec 1 03:00 UTC is still Nov 30 in New York
    period = Period(datetime(2026, 12, 1, 3, 0, tzinfo=UTC), datetime(2026, 12, 31, 3, 0, tzinfo=UTC))
    assert service_days(period, NEW_YORK, Granularity.DAY) == (date(2026, 11, 30), date(2026, 12, 29))
    assert service_days(period, ZoneInfo("UTC"), Granularity.DAY) == (date(2026, 12, 1), date(2026, 12, 30))
    assert service_days(period, NEW_YORK, Granularity.SECOND) == (date(2026, 11, 30), date(2026, 12, 30))


def test_under_second_granularity_a_period_ending_at_ten_oclock_includes_that_day() -> None:
    # rule C3 (second granularity): the period serves until 10:00 on Dec 15, so Dec 15 is its last day
    period = Period(datetime(2026, 11, 15, 10, 0, tzinfo=WARSAW), datetime(2026, 12, 15, 10, 0, tzinfo=WARSAW))
    assert last_day(period, WARSAW, Granularity.SECOND) == date(2026, 12, 15)
    # one second after midnight still serves Dec 15; midnight itself does not
    assert last_day(Period(period.start, datetime(2026, 12, 15, 0, 0, 1, tzinfo=WARSAW)), WARSAW,
                    Granularity.SECOND) == date(2026, 12, 15)  # fmt: skip
    assert last_day(Period(period.start, datetime(2026, 12, 15, tzinfo=WARSAW)), WARSAW,
                    Granularity.SECOND) == date(2026, 12, 14)  # fmt: skip


def test_under_day_granularity_the_end_date_is_never_counted_as_the_day_counts_take_it() -> None:
    # rule C3: the day counts exclude the end date whatever its time, and the last day written agrees with them
    start, end = datetime(2026, 11, 15, 10, 0, tzinfo=WARSAW), datetime(2026, 12, 15, 10, 0, tzinfo=WARSAW)
    first, last = service_days(Period(start, end), WARSAW, Granularity.DAY)
    assert last == date(2026, 12, 14)
    assert (last - first).days + 1 == measure(start, end, WARSAW, Granularity.DAY) == 30


def test_a_period_shorter_than_a_day_is_written_as_its_one_day() -> None:
    period = Period(datetime(2026, 12, 15, 9, 0, tzinfo=WARSAW), datetime(2026, 12, 15, 10, 0, tzinfo=WARSAW))
    for granularity in Granularity:
        assert service_days(period, WARSAW, granularity) == (date(2026, 12, 15), date(2026, 12, 15))
