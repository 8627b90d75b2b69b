"""Billing periods from an anchor, day and second counts, time zones (rules C3, X2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from prorata.domain.errors import InvalidInput
from prorata.domain.periods import (
    Granularity,
    Interval,
    Period,
    boundary,
    effective_start,
    measure,
    parse_instant,
    period_containing,
    remaining,
    require_aware,
    time_zone,
)
from tests.helpers import t

UTC_ZONE = ZoneInfo("UTC")
WARSAW = ZoneInfo("Europe/Warsaw")


def test_month_ends_come_from_the_anchor_and_are_never_chained() -> None:
    # Jan 31 -> Feb 29 (leap) -> Mar 31 -> Apr 30: the 31st is not lost after February
    anchor = t("2028-01-31")
    ends = [boundary(anchor, k, 1, UTC_ZONE).date().isoformat() for k in range(1, 5)]
    assert ends == ["2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31"]


def test_a_non_leap_february_ends_on_the_28th() -> None:
    assert boundary(t("2026-01-31"), 1, 1, UTC_ZONE) == t("2026-02-28")
    assert boundary(t("2026-01-31"), 2, 1, UTC_ZONE) == t("2026-03-31")


def test_a_yearly_anchor_on_february_29_falls_back_to_the_28th_and_returns() -> None:
    anchor = t("2028-02-29")
    assert boundary(anchor, 1, 12, UTC_ZONE) == t("2029-02-28")
    assert boundary(anchor, 4, 12, UTC_ZONE) == t("2032-02-29")


def test_the_period_containing_an_instant_is_half_open() -> None:
    anchor = t("2026-01-15")
    assert period_containing(anchor, t("2026-03-15"), Interval.MONTH, UTC_ZONE) == Period(
        t("2026-03-15"), t("2026-04-15")
    )
    assert period_containing(anchor, t("2026-03-14T23:59:59"), Interval.MONTH, UTC_ZONE) == Period(
        t("2026-02-15"), t("2026-03-15")
    )
    assert t("2026-04-15") not in Period(t("2026-03-15"), t("2026-04-15"))


def test_an_anchor_in_the_repeated_hour_of_a_clock_change_keeps_its_pass() -> None:
    # rule C3: Warsaw's clocks go back at 03:00 on 2026-10-25, so 02:30 happens twice; given the second 02:30
    # (01:30 UTC), the periods counted from it start at that instant, not at the first 02:30 an hour earlier
    anchor = t("2026-10-25T01:30:00")
    assert anchor.astimezone(WARSAW).fold == 1
    assert boundary(anchor, 0, 12, WARSAW) == anchor
    assert period_containing(anchor, anchor, Interval.YEAR, WARSAW).start == anchor
    assert boundary(anchor, 1, 12, WARSAW) == t("2027-10-25T00:30:00")  # summer time again: 02:30 is 00:30 UTC


def test_periods_keep_local_midnight_across_daylight_saving_changes() -> None:
    # Warsaw switches to summer time on 2026-03-29: the period is 23 hours shorter than 31 x 24 h but 31 days
    anchor = datetime(2026, 3, 1, tzinfo=WARSAW)
    period = period_containing(anchor, t("2026-03-20"), Interval.MONTH, WARSAW)
    assert period.start.astimezone(WARSAW).hour == 0
    assert period.end.astimezone(WARSAW) == datetime(2026, 4, 1, tzinfo=WARSAW)
    assert period.end - period.start == timedelta(days=31, hours=-1)
    assert measure(period.start, period.end, WARSAW, Granularity.DAY) == 31
    assert measure(period.start, period.end, WARSAW, Granularity.SECOND) == 31 * 86400 - 3600


def test_day_counts_use_the_account_time_zone() -> None:
    # 23:30 UTC on Nov 14 is already Nov 15 in Warsaw: in Warsaw the change day is the 15th
    period = Period(datetime(2026, 11, 1, tzinfo=WARSAW), datetime(2026, 12, 1, tzinfo=WARSAW))
    at = t("2026-11-14T23:30")
    assert remaining(period, at, WARSAW, Granularity.DAY) == (16, 30)
    utc_period = Period(t("2026-11-01"), t("2026-12-01"))
    assert remaining(utc_period, at, UTC_ZONE, Granularity.DAY) == (17, 30)


def test_the_day_of_the_change_counts_as_unused_and_the_end_date_is_exclusive() -> None:
    # rule C3: change on Nov 15 in Nov 1 - Dec 1 -> 16/30
    period = Period(t("2026-11-01"), t("2026-12-01"))
    assert remaining(period, t("2026-11-15T18:00"), UTC_ZONE, Granularity.DAY) == (16, 30)
    assert remaining(period, t("2026-11-30T23:59"), UTC_ZONE, Granularity.DAY) == (1, 30)
    assert remaining(period, t("2026-11-01T00:00"), UTC_ZONE, Granularity.DAY) == (30, 30)


def test_second_granularity_counts_elapsed_seconds() -> None:
    period = Period(t("2017-02-14T00:00Z"), t("2017-03-14T00:00Z"))
    assert remaining(period, t("2017-03-03T19:14:48Z"), UTC_ZONE, Granularity.SECOND) == (881_112, 2_419_200)


def test_seconds_are_whole_seconds_on_a_fixed_axis_so_that_lengths_add_up() -> None:
    # rule C3 under second granularity: each instant counts its whole seconds since a fixed origin (the fraction of
    # a second dropped), also before 1970, so the parts of a period split anywhere add up to the whole
    instants = [t("1969-12-31T23:59:59.750000"), t("1970-01-01T00:00:00.250000"), t("2026-11-15T10:30:00.999999"),
                t("2026-11-15T10:30:01"), t("2026-12-01T00:00:00.000001")]  # fmt: skip
    assert measure(instants[0], instants[1], UTC_ZONE, Granularity.SECOND) == 1  # 23:59:59 -> 00:00:00
    assert measure(instants[2], instants[3], UTC_ZONE, Granularity.SECOND) == 1  # 10:30:00 -> 10:30:01
    for a, b, c in zip(instants, instants[1:], instants[2:], strict=False):
        whole = measure(a, c, UTC_ZONE, Granularity.SECOND)
        assert measure(a, b, UTC_ZONE, Granularity.SECOND) + measure(b, c, UTC_ZONE, Granularity.SECOND) == whole
    assert measure(instants[1], instants[4], WARSAW, Granularity.SECOND) == (
        (instants[4] - instants[1]) // timedelta(seconds=1) + 1  # each instant floored, not their difference
    )


def test_remaining_is_clamped_to_the_period() -> None:
    period = Period(t("2026-11-01"), t("2026-12-01"))
    assert remaining(period, t("2026-10-01"), UTC_ZONE, Granularity.DAY) == (30, 30)
    assert remaining(period, t("2027-01-01"), UTC_ZONE, Granularity.DAY) == (0, 30)


def test_a_change_takes_effect_at_local_midnight_under_day_granularity() -> None:
    at = t("2026-11-15T10:30+01:00")
    assert effective_start(at, WARSAW, Granularity.DAY) == datetime(2026, 11, 15, tzinfo=WARSAW)
    assert effective_start(at, WARSAW, Granularity.SECOND) == at


def test_naive_datetimes_are_refused() -> None:
    # rule X2: instants are aware
    with pytest.raises(InvalidInput) as error:
        require_aware(datetime(2026, 11, 15), field="at")  # noqa: DTZ001 - the naive value under test
    assert (error.value.code, error.value.rule, error.value.field) == ("time.naive", "X2", "at")
    with pytest.raises(InvalidInput) as error:
        parse_instant("2026-11-15T10:00:00", field="at")
    assert error.value.code == "time.naive"


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_instant_outside_the_calendar_in_utc_is_refused_at_its_field(text: str) -> None:
    # rule X2: valid ISO 8601, but its UTC time is before the year 1 or after 9999, which a datetime cannot hold
    with pytest.raises(InvalidInput) as error:
        parse_instant(text, field="since")
    assert (error.value.code, error.value.rule, error.value.field) == ("time.out_of_range", "X2", "since")


def test_instant_text_is_parsed_to_utc() -> None:
    assert parse_instant("2026-11-15T10:00:00+01:00", field="at") == t("2026-11-15T09:00")
    assert parse_instant("2026-11-15T09:00:00Z", field="at") == t("2026-11-15T09:00")
    with pytest.raises(InvalidInput) as error:
        parse_instant("yesterday", field="at")
    assert error.value.code == "time.not_a_datetime"


def test_unknown_time_zones_intervals_and_granularities_are_refused() -> None:
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        time_zone("Mars/Olympus")
    with pytest.raises(InvalidInput) as error:
        Interval.parse("week")
    assert error.value.code == "interval.unknown"
    with pytest.raises(InvalidInput) as error:
        Granularity.parse("hour")
    assert error.value.code == "granularity.unknown"


def test_an_empty_period_is_refused() -> None:
    with pytest.raises(InvalidInput):
        Period(t("2026-11-01"), t("2026-11-01"))
