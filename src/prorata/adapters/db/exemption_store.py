"""Tax exemption certificates (rule TE1): the unit of work's part (``services/tax_exemption.py``) and the reads of
the portal, the console, the API and the CLI.

The certificate is kept in its row (at most 5 MB, ``domain/exemptions.py``) with its SHA-256, so a database backup
holds it and a download can be checked against what was sent. ``accounts.tax_exemption`` mirrors the current
certificate's state (pending or exempt) for the statements that decide tax, which read the account anyway.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from prorata.adapters.db.schema import accounts, tax_exemptions
from prorata.domain.exemptions import EXEMPT, PENDING, REJECTED, Certificate


@dataclass(frozen=True, slots=True)
class ExemptionView:
    id: int
    account_id: int
    status: str  # pending, exempt, rejected
    country: str
    filename: str
    media_type: str
    size: int
    sha256: str
    sent_by: str
    sent_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None


_VIEW = [c for c in tax_exemptions.c if c.name not in ("certificate", "cleared_at")]


def _view(row: object) -> ExemptionView:
    r = row._mapping  # type: ignore[attr-defined]
    return ExemptionView(
        int(r["id"]), int(r["account_id"]), r["status"], r["country"], r["filename"], r["media_type"], int(r["size"]),
        r["sha256"], r["sent_by"], r["sent_at"], r["decided_by"], r["decided_at"], r["reason"],
    )  # fmt: skip


def exemption_view(conn: Connection, account_id: int) -> ExemptionView | None:
    """The account's latest certificate that was not cleared: pending, accepted or rejected."""
    row = conn.execute(
        select(*_VIEW)
        .where(tax_exemptions.c.account_id == account_id, tax_exemptions.c.status != "cleared")
        .order_by(tax_exemptions.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _view(row)


def pending_exemptions(conn: Connection) -> list[tuple[ExemptionView, str]]:
    """Every certificate waiting for an operator, oldest first, with its account's code."""
    rows = conn.execute(
        select(*_VIEW, accounts.c.code)
        .join(accounts, accounts.c.id == tax_exemptions.c.account_id)
        .where(tax_exemptions.c.status == PENDING)
        .order_by(tax_exemptions.c.id)
    ).all()
    return [(_view(row), row.code) for row in rows]


def exemption_certificate(conn: Connection, account_id: int, exemption_id: int) -> tuple[str, str, bytes] | None:
    """(file name, media type, the file) of one of the account's certificates."""
    row = conn.execute(
        select(tax_exemptions.c.filename, tax_exemptions.c.media_type, tax_exemptions.c.certificate).where(
            tax_exemptions.c.id == exemption_id, tax_exemptions.c.account_id == account_id
        )
    ).first()
    return None if row is None else (row.filename, row.media_type, bytes(row.certificate))


class ExemptionStore:
    """The tax exemption part of ``SqlUnitOfWork``."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def current_exemption(self, account_id: int) -> ExemptionView | None:
        return exemption_view(self.conn, account_id)

    def add_exemption(self, account_id: int, country: str, certificate: Certificate, sent_by: str,
                      now: datetime) -> int:  # fmt: skip
        """The new certificate, pending; the one before (pending, accepted or rejected) is cleared by it."""
        self._clear(account_id, now, (PENDING, EXEMPT, REJECTED))
        made = self.conn.execute(
            insert(tax_exemptions)
            .values(account_id=account_id, status=PENDING, country=country, filename=certificate.filename,
                    media_type=certificate.media_type, size=len(certificate.content),
                    sha256=hashlib.sha256(certificate.content).hexdigest(), certificate=certificate.content,
                    sent_by=sent_by, sent_at=now)
            .returning(tax_exemptions.c.id)
        ).scalar_one()  # fmt: skip
        self.conn.execute(update(accounts).where(accounts.c.id == account_id).values(tax_exemption=PENDING))
        return int(made)

    def decide_exemption(self, exemption_id: int, account_id: int, accept: bool, reason: str | None,
                         decided_by: str, now: datetime) -> None:  # fmt: skip
        self.conn.execute(
            update(tax_exemptions)
            .where(tax_exemptions.c.id == exemption_id)
            .values(status=EXEMPT if accept else REJECTED, decided_by=decided_by, decided_at=now, reason=reason)
        )
        self.conn.execute(
            update(accounts).where(accounts.c.id == account_id).values(tax_exemption=EXEMPT if accept else None)
        )

    def clear_exemption(self, account_id: int, now: datetime) -> bool:
        """Clear a pending or accepted certificate (the Sold-To country changed); True when there was one."""
        return self._clear(account_id, now, (PENDING, EXEMPT))

    def _clear(self, account_id: int, now: datetime, states: tuple[str, ...]) -> bool:
        cleared = self.conn.execute(
            update(tax_exemptions)
            .where(tax_exemptions.c.account_id == account_id, tax_exemptions.c.status.in_(states))
            .values(status="cleared", cleared_at=now)
        ).rowcount
        self.conn.execute(update(accounts).where(accounts.c.id == account_id).values(tax_exemption=None))
        return bool(cleared)
