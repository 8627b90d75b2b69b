"""The sandbox gateway as slow as the installation asks (``PRORATA_SANDBOX_LATENCY_MS``), answering the same."""

from __future__ import annotations

import time
from datetime import date

import pytest

from prorata import bootstrap
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.domain.errors import InvalidInput


def test_the_setting_gives_the_sandbox_its_latency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRORATA_GATEWAY", raising=False)
    monkeypatch.delenv("PRORATA_SANDBOX_LATENCY_MS", raising=False)
    unset = bootstrap._gateway()
    assert isinstance(unset, SandboxGateway)
    assert unset.latency == 0
    monkeypatch.setenv("PRORATA_SANDBOX_LATENCY_MS", "250")
    slow = bootstrap._gateway()
    assert isinstance(slow, SandboxGateway)
    assert slow.latency == 0.25


@pytest.mark.parametrize("value", ["fast", "-5", "1.5"])
def test_a_latency_that_is_not_whole_milliseconds_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.delenv("PRORATA_GATEWAY", raising=False)
    monkeypatch.setenv("PRORATA_SANDBOX_LATENCY_MS", value)
    with pytest.raises(InvalidInput) as refused:
        bootstrap._gateway()
    assert (refused.value.code, refused.value.field) == ("config.sandbox_latency", "PRORATA_SANDBOX_LATENCY_MS")


def test_a_slow_sandbox_takes_its_time_and_answers_as_the_fast_one() -> None:
    slow, fast = SandboxGateway(latency_ms=20), SandboxGateway()
    token, _ = fast.tokenize_card("4000000000000002", 12, 2035, date(2026, 1, 1))
    started = time.monotonic()
    answer = slow.charge(token, 1000, "USD", "key-1")
    assert time.monotonic() - started >= 0.02
    assert answer == fast.charge(token, 1000, "USD", "key-1")
    assert (answer.succeeded, answer.failure_code) == (False, "card_declined")
