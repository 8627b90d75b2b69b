"""The books a test leaves, proved by ``prorata verify``'s checks: the race and crash tests end with them, so that
whatever interleaving or crash they provoke leaves no invariant of the books broken (domain/invariants.py)."""

from __future__ import annotations

from sqlalchemy import Engine

from prorata.adapters.db.verify import SqlBooks, SqlVerificationLog
from prorata.domain.catalog import Catalog
from prorata.domain.invariants import BY_CODE
from prorata.services.ports import Clock
from prorata.services.verify_books import VerifyBooks, verify_books
from tests.helpers import CATALOG


def assert_books_balance(engine: Engine, clock: Clock, *, catalog: Catalog = CATALOG, emails: bool = True) -> None:
    """Every invariant holds. ``emails=False`` leaves out the e-mail invariant (rule I4) for accounts made without
    a contact or an owner (``tests/integration/shop.py``): the outbox has nobody to write to for them."""
    only = None if emails else tuple(code for code in BY_CODE if code != "inv.invoice_email")
    result = verify_books(VerifyBooks(actor="test", only=only), books=lambda: SqlBooks(engine, catalog),
                          log=SqlVerificationLog(engine), clock=clock)  # fmt: skip
    assert [f"{v.code}: {v.message}" for v in result.violations] == []
    assert len(result.checks) == (len(BY_CODE) if only is None else len(only))
