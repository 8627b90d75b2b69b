"""Clocks (rule X2): the real one, and the simulation clock an operator moves forward to rehearse renewals and
dunning. The simulated instant is kept in the database, so every process of the installation sees the same time.
An installation is in simulation only when it was created so (``prorata init --simulation`` or ``prorata demo``, on a
new, empty database); one that holds accounts on the real clock never becomes a simulation.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from prorata.adapters.db.database import shown
from prorata.adapters.db.schema import accounts, settings
from prorata.domain.errors import RuleViolation
from prorata.domain.periods import require_aware

SIMULATION = "clock.simulation"
SIMULATED_NOW = "clock.now"


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class DatabaseClock:
    """The simulated instant when the installation is in simulation, the real time otherwise.

    The simulated instant is read by ``refresh()``, outside any transaction (a read inside a SQLite write
    transaction of the same process would wait for itself), and then held: within one command time stands where
    the operator put it.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._simulated: datetime | None = None

    def refresh(self) -> None:
        try:
            with self.engine.connect() as conn:
                value = conn.execute(
                    select(settings.c.value).where(settings.c.key == SIMULATED_NOW)
                ).scalar_one_or_none()
        except (OperationalError, ProgrammingError):  # a database not created yet: the real clock
            value = None
        self._simulated = datetime.fromisoformat(value) if value else None

    def refresh_if_simulated(self) -> None:
        """Read the simulated instant again on an installation in simulation: the operator may have moved it from
        another process since. On the real clock (production) this costs nothing."""
        if self._simulated is not None:
            self.refresh()

    @property
    def simulated(self) -> bool:
        """Whether the last ``refresh()`` found a simulated instant (a production installation never has one)."""
        return self._simulated is not None

    def now(self) -> datetime:
        return self._simulated if self._simulated is not None else datetime.now(UTC)


def _write(engine: Engine, key: str, value: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(settings).where(settings.c.key == key))
        conn.execute(insert(settings).values(key=key, value=value))


def start_simulation(engine: Engine, at: datetime) -> bool:
    """Put a new installation on a simulation clock at ``at``; whether it was started (an installation already in
    simulation keeps its time).

    Refused on an installation that holds accounts on the real clock (rule X2): their periods, invoices and
    payments happened at real instants, and a simulated time would renew, charge and cancel them at made-up ones.
    An empty database may become a simulation. Checked and written in one transaction, so an account opened at the
    same moment cannot slip between the two."""
    at = require_aware(at, field="at")
    with engine.begin() as conn:
        current = conn.execute(select(settings.c.value).where(settings.c.key == SIMULATION)).scalar_one_or_none()
        if current == "1":
            return False
        held = conn.execute(select(func.count()).select_from(accounts)).scalar_one()
        if held:
            name = shown(engine)
            raise RuleViolation(
                "clock.real_installation",
                f"simulation: the database {name} runs on the real clock and holds {held} "
                f"{'account' if held == 1 else 'accounts'}; a simulation clock would renew, charge and cancel them "
                "at made-up dates. Rehearse on a new, empty database instead (--database or PRORATA_DATABASE_URL)",
                rule="X2",
                field="simulation",
            )
        conn.execute(delete(settings).where(settings.c.key.in_((SIMULATION, SIMULATED_NOW))))
        conn.execute(insert(settings), [{"key": SIMULATION, "value": "1"}, {"key": SIMULATED_NOW,
                                                                              "value": at.isoformat()}])  # fmt: skip
    return True


def in_simulation(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(settings.c.value).where(settings.c.key == SIMULATION)).scalar_one_or_none() == "1"


def move_clock(engine: Engine, to: datetime) -> datetime:
    """Move the simulated time forward to ``to``; refused outside simulation and backwards."""
    if not in_simulation(engine):
        raise RuleViolation(
            "clock.not_simulated",
            "clock: this installation uses the real clock; create one with `prorata init --simulation`",
            rule="X2",
            field="clock",
        )
    to = require_aware(to, field="to")
    clock = DatabaseClock(engine)
    clock.refresh()
    current = clock.now()
    if to < current:
        raise RuleViolation(
            "clock.backwards", f"to: the clock only moves forward (it is {current.isoformat()})", rule="X2", field="to"
        )
    _write(engine, SIMULATED_NOW, to.isoformat())
    return to
