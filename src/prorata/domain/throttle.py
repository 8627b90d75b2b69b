"""The sign-in throttle's arithmetic: how many attempts a key (an e-mail address, a client address) may make, and
for how long it is locked once it has made them.

Every attempt is counted before the password is checked, so a burst of parallel guesses cannot outrun the count.
``limit`` attempts in ``window`` are allowed; the next one locks the key for ``first_lock``, and each further lock in
the same series doubles it, up to ``longest_lock``. After a lock runs out one attempt is allowed again (the right
password still gets in); a wrong one locks again, for twice as long. A key quiet for a whole window starts afresh.
A successful sign-in clears its e-mail's key (never the client address's: one good account must not buy an
attacker more guesses at others).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    limit: int
    window: timedelta
    first_lock: timedelta
    longest_lock: timedelta


# 5 wrong passwords for one e-mail in 15 minutes, or 20 from one client address: locked 1 minute, then 2, 4 ... 1 hour
PER_EMAIL = ThrottlePolicy(5, timedelta(minutes=15), timedelta(minutes=1), timedelta(hours=1))
PER_ADDRESS = ThrottlePolicy(20, timedelta(minutes=15), timedelta(minutes=1), timedelta(hours=1))
# a password-reset link asked for one e-mail: 3 an hour, so nobody fills a mailbox through Prorata
RESET_PER_EMAIL = ThrottlePolicy(3, timedelta(hours=1), timedelta(hours=1), timedelta(hours=24))
# rule EP1: express pay's tries for one account number (a lookup and a payment are a try each): 10 in 15 minutes
EXPRESS_PER_ACCOUNT = ThrottlePolicy(10, timedelta(minutes=15), timedelta(minutes=1), timedelta(hours=1))


@dataclass(frozen=True, slots=True)
class ThrottleState:
    attempts: int
    window_start: datetime
    locks: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    state: ThrottleState
    retry_after: timedelta = timedelta(0)  # when refused: how long until an attempt is allowed again
    locked_now: bool = False  # this attempt locked the key (the first lock of a series is told to the owner)


def attempt(state: ThrottleState | None, now: datetime, policy: ThrottlePolicy) -> Decision:
    """Count one attempt on a key whose stored state is ``state`` (None: never seen)."""
    if state is not None and state.locked_until is not None and now < state.locked_until:
        return Decision(False, state, state.locked_until - now)
    if state is None or _quiet(state, now, policy):
        state = ThrottleState(0, now)
    attempts = state.attempts + 1
    if attempts <= policy.limit:
        return Decision(True, replace(state, attempts=attempts))
    locks = state.locks + 1
    delay = min(policy.first_lock * 2 ** min(locks - 1, 30), policy.longest_lock)
    # after the lock one attempt is allowed again: the count stands one short of the limit
    locked = ThrottleState(policy.limit - 1, state.window_start, locks, now + delay)
    return Decision(False, locked, delay, locked_now=True)


def _quiet(state: ThrottleState, now: datetime, policy: ThrottlePolicy) -> bool:
    """No attempt is counted against the key any more: its window has passed, and so has a whole window since its
    last lock ended."""
    last = state.locked_until or state.window_start
    return now - state.window_start >= policy.window and now - last >= policy.window
