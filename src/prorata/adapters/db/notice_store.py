"""What extra notice addresses store (rule N1): up to 5 addresses of an account, each once, that receive its
new-invoice e-mails. The limit is checked by ``services/notice_addresses.py`` under the account's lock, which every
writer takes first; the unique constraint keeps an address once per account even so.

A part of ``SqlUnitOfWork``, which provides the connection.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from prorata.adapters.db.bulk import among
from prorata.adapters.db.schema import notice_addresses


def notice_addresses_of(connection: Connection, account_ids: Collection[int]) -> dict[int, list[str]]:
    """Each account's extra notice addresses, oldest first (the outbox's recipients, the portal's list)."""
    found: dict[int, list[str]] = {account_id: [] for account_id in account_ids}
    if not found:
        return found
    for account_id, email in connection.execute(
        select(notice_addresses.c.account_id, notice_addresses.c.email)
        .where(among(connection, notice_addresses.c.account_id, sorted(found)))
        .order_by(notice_addresses.c.account_id, notice_addresses.c.id)
    ):
        found[int(account_id)].append(email)
    return found


class NoticeStore:
    """The notice addresses part of the unit of work; ``SqlUnitOfWork`` provides the connection."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def notice_addresses(self, account_id: int) -> list[str]:
        return notice_addresses_of(self.conn, (account_id,))[account_id]

    def add_notice_address(self, account_id: int, email: str, now: datetime) -> None:
        self.conn.execute(insert(notice_addresses).values(account_id=account_id, email=email, created_at=now))

    def remove_notice_address(self, account_id: int, email: str) -> bool:
        removed = self.conn.execute(
            delete(notice_addresses).where(notice_addresses.c.account_id == account_id,
                                           notice_addresses.c.email == email)
        )  # fmt: skip
        return bool(removed.rowcount)

    def replace_notice_addresses(self, account_id: int, emails: Sequence[str], now: datetime) -> None:
        """The account's addresses become ``emails``: those kept keep their place, the new ones follow in order."""
        kept = self.notice_addresses(account_id)
        gone = [email for email in kept if email not in emails]
        if gone:
            self.conn.execute(
                delete(notice_addresses).where(notice_addresses.c.account_id == account_id,
                                               notice_addresses.c.email.in_(gone))
            )  # fmt: skip
        new = [email for email in emails if email not in kept]
        if new:
            rows = [{"account_id": account_id, "email": email, "created_at": now} for email in new]
            self.conn.execute(insert(notice_addresses), rows)
