"""What the race tests share: calls released together at a barrier, each from a thread of its own (and so on
database connections of its own), a gateway that counts what it was asked to charge (rule X3), and a transaction
that holds an account's lock from a connection of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, select

from prorata.adapters.db.schema import accounts
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.domain.payments import ChargeResult


class CountingGateway(SandboxGateway):
    """The sandbox gateway, a little slow to widen every window a race could slip through, remembering every charge
    it was asked for; ``during`` runs inside the charge, while the payment is in flight."""

    def __init__(self, delay: float = 0.05) -> None:
        super().__init__()
        self.delay = delay
        self.lock = threading.Lock()
        self.keys: list[str] = []
        self.during: Callable[[], object] | None = None

    def charge(self, token: str, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        with self.lock:
            self.keys.append(idempotency_key)
        time.sleep(self.delay)
        if self.during is not None:
            self.during()
        return super().charge(token, amount, currency, idempotency_key)

    def charges(self) -> int:
        """Money actually taken: one charge per distinct key (the same key again is the gateway's replay)."""
        return len(set(self.keys))


def together(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """The calls released at once from their own threads; each one's result, or the error it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def one(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = calls[index]()
        except BaseException as error:
            results[index] = error

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


class Holder:
    """Another transaction, not a billing run, that holds an account from a connection of its own, as an operator's
    ``SELECT ... FOR UPDATE`` or an order being written does: on PostgreSQL the account's row lock, on SQLite the
    database's write lock (one writer at a time). ``release_after`` lets it go from a timer thread."""

    def __init__(self, engine: Engine, account_id: int) -> None:
        self.connection = engine.connect()
        self.transaction = self.connection.begin()  # SQLite: BEGIN IMMEDIATE, the write lock
        self.connection.execute(select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())
        self.timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if self.transaction.is_active:
                self.transaction.rollback()
                self.connection.close()

    def release_after(self, seconds: float) -> None:
        self.timer = threading.Timer(seconds, self.release)
        self.timer.start()

    def __enter__(self) -> Holder:
        return self

    def __exit__(self, *_: object) -> None:
        if self.timer is not None:
            self.timer.join()
        self.release()


class HeldGateway(CountingGateway):
    """Keeps the charges whose idempotency key starts with ``prefix`` in flight until released: an order or a
    customer's payment being paid for at the gateway."""

    def __init__(self, prefix: str) -> None:
        super().__init__(delay=0)
        self.prefix = prefix
        self.started = threading.Event()
        self.release = threading.Event()

    def charge(self, token: str, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        if idempotency_key.startswith(self.prefix):
            self.started.set()
            assert self.release.wait(timeout=60)
        return super().charge(token, amount, currency, idempotency_key)


def in_flight(gateway: HeldGateway, call: Callable[[], object]) -> threading.Thread:
    """``call`` started in a thread of its own, and its charge at the gateway, held there."""
    thread = threading.Thread(target=call)
    thread.start()
    assert gateway.started.wait(timeout=30)
    return thread
