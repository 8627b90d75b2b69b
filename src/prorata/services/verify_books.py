"""Prove that the stored books balance: run every check of ``domain/invariants.py`` on one snapshot (``prorata
verify``, the operator API) and keep the result.

The checks read one consistent, read-only snapshot of the books and lock nothing a writer needs, so a billing run, a
payment or an order goes on while they run. ``account`` restricts the checks to one account's rows (the numbering,
which spans every account, is then not checked); ``since`` to documents issued, payments made and ledger entries
written from that instant on (license assignments are checked as they stand). The result (when, over what, which
checks with their times, what they found) is kept, so that the operator console can show the last one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from prorata.domain.errors import InvalidInput
from prorata.domain.invariants import BY_CODE, Verification, VerificationScope, count_by_code, invariants_for
from prorata.services.ports import BooksSnapshot, Clock, VerificationLog


@dataclass(frozen=True, slots=True)
class VerifyBooks:
    account: str | None = None  # an account's code
    since: datetime | None = None
    actor: str = "operator"  # who asked, for the log
    only: tuple[str, ...] | None = None  # invariant codes; None: every one the scope allows


def verify_books(
    command: VerifyBooks, *, books: Callable[[], BooksSnapshot], log: VerificationLog, clock: Clock
) -> Verification:
    unknown = [code for code in command.only or () if code not in BY_CODE]
    if unknown:
        raise InvalidInput("verify.unknown_check", f"only: {', '.join(unknown)} is not an invariant's code",
                           field="only")  # fmt: skip
    started = clock.now()
    began = time.perf_counter()
    with books() as snapshot:
        account_id = None
        if command.account is not None:
            account_id = snapshot.account_id(command.account)
            if account_id is None:
                raise InvalidInput("account.unknown", f"account: there is no account {command.account!r}",
                                   field="account")  # fmt: skip
        scope = VerificationScope(account_id, command.account, command.since)
        codes = [i.code for i in invariants_for(scope) if command.only is None or i.code in command.only]
        outcomes = snapshot.run(codes, scope, started)
    everything = tuple(violation for _, found in outcomes for violation in found)
    verification = Verification(started, clock.now(), scope, tuple(timing for timing, _ in outcomes), everything,
                                len(everything), counts=count_by_code(everything),
                                seconds=round(time.perf_counter() - began, 3))  # fmt: skip
    return replace(verification, id=log.save(verification, command.actor))


def last_verification(*, log: VerificationLog) -> Verification | None:
    return log.latest()
