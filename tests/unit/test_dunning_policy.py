"""The dunning schedule (rule I8): one policy, read from configuration when a process starts, refused there when it
cannot be a schedule, and the same days everywhere it is read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from prorata import bootstrap, config
from prorata.domain.dunning import DunningPolicy
from prorata.domain.errors import InvalidInput

ISSUED = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.RETRY_DAYS, raising=False)
    monkeypatch.delenv(config.CANCEL_DAYS, raising=False)


def test_without_configuration_the_schedule_is_the_default_policy() -> None:
    # rule I8: nothing changes for an installation that configures nothing
    assert config.dunning() == DunningPolicy()
    assert DunningPolicy().attempts == 1 + len(DunningPolicy().retry_after_days)


def test_the_configured_days_make_the_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    # rule I8: retries 2 and 4 days after the issue date, cancelled 10 days overdue
    monkeypatch.setenv(config.RETRY_DAYS, " 2, 4 ")
    monkeypatch.setenv(config.CANCEL_DAYS, "10")

    policy = config.dunning()

    assert policy == DunningPolicy(retry_after_days=(2, 4), cancel_after_overdue_days=10)
    assert [policy.next_attempt(ISSUED, failed) for failed in range(4)] == [
        ISSUED, ISSUED + timedelta(days=2), ISSUED + timedelta(days=4), None,
    ]  # fmt: skip
    assert policy.attempts == 3
    assert policy.cancels_at(ISSUED) == ISSUED + timedelta(days=10)


def test_a_charge_waiting_for_the_customer_after_the_last_attempt_is_given_up_after_its_window() -> None:
    # rule I8 with 3-D Secure: after the last attempt, collection acts once the confirmation window ends
    policy = DunningPolicy(retry_after_days=(2,), cancel_after_overdue_days=5)
    waiting = ISSUED + timedelta(days=2)
    assert policy.collection_due(ISSUED, 1, None) == ISSUED + timedelta(days=2)
    assert policy.collection_due(ISSUED, 2, None) is None
    assert policy.collection_due(ISSUED, 2, waiting) == waiting + policy.confirm_window


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("3,1", "strictly increasing"),
        ("1,1", "strictly increasing"),
        ("0,2", "from 1 to 90"),
        ("1,91", "from 1 to 90"),
        ("1,2,3,4,5,6,7,8,9,10,11", "from 1 to 10 days"),
        ("1,,3", "whole numbers"),
        ("1.5,3", "whole numbers"),
        ("one,two", "whole numbers"),
        ("-1,3", "whole numbers"),
        ("１,3", "whole numbers"),  # a full-width digit is not ASCII
    ],
)
def test_retry_days_that_cannot_be_a_schedule_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, why: str
) -> None:
    # rules I8, X4: refused with the variable, the rule, and what is wrong
    monkeypatch.setenv(config.RETRY_DAYS, value)
    with pytest.raises(InvalidInput) as refused:
        config.dunning()
    error = refused.value
    assert (error.code, error.field, error.rule) == ("config.dunning_retry_days", "PRORATA_DUNNING_RETRY_DAYS", "I8")
    assert error.message.startswith("PRORATA_DUNNING_RETRY_DAYS: ")
    assert why in error.message
    assert repr(value) in error.message


@pytest.mark.parametrize("value", ["0", "366", "-3", "ten", "1.5", "30 days"])
def test_cancellation_days_that_cannot_be_a_schedule_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(config.CANCEL_DAYS, value)
    with pytest.raises(InvalidInput) as refused:
        config.dunning()
    error = refused.value
    assert (error.code, error.field, error.rule) == (
        "config.dunning_cancel_days", "PRORATA_DUNNING_CANCEL_AFTER_DAYS", "I8",
    )  # fmt: skip
    assert error.message.startswith("PRORATA_DUNNING_CANCEL_AFTER_DAYS: ")


def test_a_policy_made_in_code_is_held_to_the_same_bounds() -> None:
    with pytest.raises(InvalidInput) as retries:
        DunningPolicy(retry_after_days=(4, 2))
    with pytest.raises(InvalidInput) as cancel:
        DunningPolicy(cancel_after_overdue_days=0)
    with pytest.raises(InvalidInput):
        DunningPolicy(retry_after_days=())
    with pytest.raises(InvalidInput):
        DunningPolicy(retry_after_days=(True, 2))  # type: ignore[arg-type]  # a bool is not a number of days
    assert (retries.value.field, cancel.value.field) == ("retry_after_days", "cancel_after_overdue_days")


def test_a_bad_schedule_stops_the_process_before_it_opens_a_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # rule I8: build() checks the settings first: the embedded database it names is never made
    monkeypatch.setenv(config.CANCEL_DAYS, "0")
    with pytest.raises(InvalidInput) as refused:
        bootstrap.build(f"sqlite:///{tmp_path / 'never-made.sqlite3'}")
    assert refused.value.field == "PRORATA_DUNNING_CANCEL_AFTER_DAYS"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InvalidInput):
        bootstrap.check_settings()
