"""The seller kept with every document it issues (rule I2): an issued invoice names the seller as the configuration
gave it then, whatever the configuration says later.

The configured seller is written once per version to ``sellers`` (its identity as canonical JSON, found by its
SHA-256) by the first transaction that issues a document with it, and each document row carries its id. A process
remembers the id once that transaction has committed, so the documents it issues afterwards cost no statement more.
The logo is not part of the identity: it is drawn from the configuration on every document.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from prorata.adapters.db.schema import sellers
from prorata.domain.seller import BankAccount, Seller


def identity(seller: Seller) -> dict[str, Any]:
    """The seller as documents keep it, plain JSON values."""
    bank = seller.bank
    return {
        "country": seller.country, "name": seller.name, "address": list(seller.address), "tax_id": seller.tax_id,
        "email": seller.email, "time_zone": seller.time_zone,
        "bank": None if bank is None else {"iban": bank.iban, "swift": bank.swift, "bank_name": bank.bank_name},
        "footer": dict(sorted(seller.footer.items())),
    }  # fmt: skip


def seller_from(text: str) -> Seller:
    """A kept seller, read back."""
    data: Mapping[str, Any] = json.loads(text)
    bank = data.get("bank")
    account = None if not bank else BankAccount(str(bank["iban"]), str(bank["swift"]), str(bank["bank_name"]))
    return Seller(
        str(data["country"]), str(data["name"]), tuple(str(line) for line in data["address"]), str(data["tax_id"]),
        str(data["email"]), str(data["time_zone"]), account,
        {str(k): str(v) for k, v in dict(data["footer"]).items()},
    )  # fmt: skip


def kept_seller(seller_id: int | None) -> dict[str, int]:
    """The column an issued document's row names its seller with; none without a kept seller, so that code without
    one (tools, and tests that write history at an earlier migration) writes the rows it always wrote."""
    return {} if seller_id is None else {"seller_id": seller_id}


class SellerVersions:
    """The configured seller and, once a committed transaction wrote or found it, the id of its row."""

    def __init__(self, seller: Seller) -> None:
        self.seller = seller
        self.text = json.dumps(identity(seller), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        self.digest = hashlib.sha256(self.text.encode()).hexdigest()
        self._id: int | None = None
        self._lock = threading.Lock()

    def id_in(self, conn: Connection, now: datetime) -> tuple[int, bool]:
        """The row's id, written in ``conn``'s transaction when no committed one is known; and whether it was
        (the caller tells ``kept`` once that transaction commits). Two transactions writing the first version at once
        keep one row: the second waits for the first and finds it."""
        with self._lock:
            known = self._id
        if known is not None:
            return known, False
        upsert = postgresql_insert(sellers) if conn.dialect.name == "postgresql" else sqlite_insert(sellers)
        conn.execute(upsert.values(digest=self.digest, identity=self.text, created_at=now)
                     .on_conflict_do_nothing(index_elements=[sellers.c.digest]))  # fmt: skip
        found = conn.execute(select(sellers.c.id).where(sellers.c.digest == self.digest)).scalar_one()
        return int(found), True

    def kept(self, seller_id: int) -> None:
        """The transaction that wrote or found the row committed: later ones use the id without a statement."""
        with self._lock:
            self._id = seller_id
