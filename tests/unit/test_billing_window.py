"""How far a billing run may bill (rules C7, X2): one reading of its date forms and one rule about the future, for
``prorata bill``, ``prorata clock advance`` and the API's billing run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from prorata.domain.errors import ProrataError
from prorata.services.billing_window import AHEAD, check_until, parse_until

NOW = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)


def test_a_date_is_its_midnight_utc_and_an_instant_keeps_its_offset() -> None:
    # rule X2
    assert parse_until("2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_until("2026-12-01T01:30:00+02:00") == datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert parse_until("2026-12-01T00:00:00Z").tzinfo is not None


@pytest.mark.parametrize(
    ("text", "code"),
    [("2026-02-30", "time.not_a_datetime"), ("2026-12-01T00:00:00", "time.naive"), ("soon", "time.not_a_datetime"),
     ("", "time.not_a_datetime"), (None, "time.not_a_datetime")],
)  # fmt: skip
def test_anything_else_is_refused_naming_the_field(text: object, code: str) -> None:
    with pytest.raises(ProrataError) as refused:
        parse_until(text, field="to")
    assert (refused.value.code, refused.value.field) == (code, "to")


def test_up_to_the_installations_time_needs_nothing_more() -> None:
    check_until(NOW, now=NOW, in_advance=False, asked_by="--bill-in-advance")
    check_until(NOW - timedelta(days=300), now=NOW, in_advance=False, asked_by="--bill-in-advance")


def test_after_it_billing_in_advance_is_asked_for_by_name() -> None:
    # rule C7: periods renew when they end
    later = NOW + timedelta(seconds=1)
    with pytest.raises(ProrataError) as refused:
        check_until(later, now=NOW, in_advance=False, asked_by="--bill-in-advance")
    assert (refused.value.code, refused.value.rule, refused.value.field) == ("billing_run.in_advance", "C7", "until")
    assert "--bill-in-advance" in refused.value.message
    check_until(later, now=NOW, in_advance=True, asked_by="--bill-in-advance")


def test_never_more_than_the_bound_ahead_even_in_advance() -> None:
    check_until(NOW + AHEAD, now=NOW, in_advance=True, asked_by="x")
    with pytest.raises(ProrataError) as refused:
        check_until(NOW + AHEAD + timedelta(seconds=1), now=NOW, in_advance=True, asked_by="x")
    assert refused.value.code == "billing_run.too_far"
