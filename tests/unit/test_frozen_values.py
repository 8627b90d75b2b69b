"""The value classes built with ``direct_init`` stay frozen dataclasses: same fields, defaults, equality, hashing and
``repr``, ``__post_init__`` still refuses what it refused, and nothing can be assigned once built."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from prorata.domain.account import Account, Charge, Pending, PendingKind, Subscription
from prorata.domain.errors import InvalidInput
from prorata.domain.frozen import direct_init
from prorata.domain.invoice_lines import Line, LineKind
from prorata.domain.periods import Granularity, Interval, Period

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 2, 1, tzinfo=UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class Generated:
    """The same shape as ``Direct``, with the ``__init__`` dataclasses writes."""

    a: int
    b: str = "b"
    c: tuple[int, ...] = ()


@direct_init
@dataclasses.dataclass(frozen=True, slots=True)
class Direct:
    a: int
    b: str = "b"
    c: tuple[int, ...] = ()


def test_the_same_parameters_defaults_and_values_as_the_generated_init() -> None:
    for args, kwargs in (((1,), {}), ((1, "x"), {}), ((1,), {"c": (2, 3)}), ((), {"a": 4, "b": "y", "c": ()})):
        direct, generated = Direct(*args, **kwargs), Generated(*args, **kwargs)  # type: ignore[arg-type]
        assert dataclasses.astuple(direct) == dataclasses.astuple(generated)
        assert repr(direct).removeprefix("Direct") == repr(generated).removeprefix("Generated")
    with pytest.raises(TypeError):
        Direct()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Direct(1, "b", (), 4)  # type: ignore[call-arg]


def test_values_are_still_frozen_equal_and_hashable() -> None:
    line = Line(LineKind.CHARGE, "plan", "pro", "Pro x 2, 31 of 31 days", 2, 1500, Period(START, END), 31, 31, 3000)
    same = dataclasses.replace(line)
    assert line == same
    assert hash(line) == hash(same)
    assert line.basis is None
    assert line.tax_rate == 0
    assert line.billing_period is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.amount = 1  # type: ignore[misc]
    sub = Subscription("plan", "pro", Interval.MONTH, 2, START, Period(START, END), (Charge(3000, START, END),))
    assert sub.evolve(quantity=3) == Subscription("plan", "pro", Interval.MONTH, 3, START, Period(START, END),
                                                  (Charge(3000, START, END),))  # fmt: skip
    assert {Pending(PendingKind.CANCEL, END), Pending(PendingKind.CANCEL, END)} == {Pending(PendingKind.CANCEL, END)}


def test_post_init_still_refuses() -> None:
    with pytest.raises(InvalidInput) as empty:
        Period(END, START)
    assert empty.value.code == "period.empty"
    with pytest.raises(InvalidInput) as negative:
        Account("USD", "UTC", Granularity.DAY, -1)
    assert negative.value.code == "credit_balance.negative"
    with pytest.raises(InvalidInput) as floating:
        Account("USD", "UTC", Granularity.DAY, 1.5)  # type: ignore[arg-type]
    assert floating.value.code == "money.not_integer_minor_units"
    with pytest.raises(InvalidInput) as currency:
        Account("XYZ", "UTC", Granularity.DAY, 0)
    assert currency.value.code == "currency.unknown"
    with pytest.raises(InvalidInput) as zone:
        Account("USD", "Mars/Olympus", Granularity.DAY, 0)
    assert zone.value.code == "time_zone.unknown"


def test_only_frozen_slotted_dataclasses_with_plain_defaults() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    for cls in (NoSlots, NotFrozen, Factory):
        with pytest.raises(TypeError):
            direct_init(cls)
