"""The e-mail outbox: messages written with the event they tell about, claimed and marked sent by the sender.

Writing a message resolves its recipients (the Sold-To and Bill-To contacts, rule I4; the account owner as well for
dunning, rule I8; the extra notice addresses for a new invoice, rule N1) and its language (Polish for a Polish Sold-To
contact) then, so that it says what was true at the event. Its Message-ID is fixed then too. A sender claims
messages (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two senders never take the same one) before it sends them; a
claim older than the lease is taken to be a sender that died, and the message is sent again with the same
Message-ID.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Select,
    and_,
    case,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)

from prorata.adapters.db.bulk import among, insert_rows
from prorata.adapters.db.schema import accounts, contacts, invoices, notice_addresses, outbox, users
from prorata.services.ports import OutboxMessage

# rule I8: the account owner hears of dunning; and of users a renewal unassigned (the owner assigns licenses, U1);
# rule TR1: and that the free trial ends soon
OWNER_TOO = frozenset({"payment_failed", "payment_action_required", "overdue", "cancelled", "licenses_unassigned",
                       "trial_ending"})  # fmt: skip
# Rule N1: the e-mails that bring the customer a new invoice, which the account's extra notice addresses receive too
# (an accounts-payable mailbox that books every invoice, and nothing else). An order's invoice comes with its
# confirmation; a renewal's comes with its receipt, whether the run's collection, the credit balance or the customer
# paid it: a renewal sends no e-mail when it is issued, and each invoice is paid (and receipted) once, so every
# invoice reaches those addresses once. Not dunning (a failed payment, a charge to confirm, overdue, cancelled: the
# Sold-To and Bill-To contacts and the owner act on those), not a scheduled change, a credit note's refund, licenses
# unassigned, a payment credited to the balance, nor anything about people's sign-in.
NEW_INVOICE = frozenset({"order_confirmation", "receipt"})


Mail = tuple[int, str, int | None, Mapping[str, object] | None]  # account, kind, invoice, what it says


def enqueue(
    connection: Connection,
    account_id: int,
    kind: str,
    now: datetime,
    *,
    invoice_id: int | None = None,
    data: Mapping[str, object] | None = None,
) -> None:
    enqueue_many(connection, [(account_id, kind, invoice_id, data)], now)


def _addressees(
    connection: Connection, accounts: Sequence[int], notices: Collection[int]
) -> tuple[dict[int, list[tuple[str, str, str | None]]], dict[int, list[str]]]:
    """Each account's contacts ``(kind, e-mail, country)``, Sold-To first, and for those in ``notices`` their extra
    notice addresses (rule N1), oldest first: one statement whatever their number."""
    people: dict[int, list[tuple[str, str, str | None]]] = {a: [] for a in accounts}
    extra: dict[int, list[str]] = {a: [] for a in accounts}
    query: Select[Any] | CompoundSelect[Any] = select(
        contacts.c.account_id, contacts.c.kind, contacts.c.email, contacts.c.country,
        case((contacts.c.kind == "sold_to", 0), else_=1).label("rank"), contacts.c.id.label("position"),
    ).where(among(connection, contacts.c.account_id, accounts))  # fmt: skip
    if notices:
        query = union_all(query, select(
            notice_addresses.c.account_id, literal("notice"), notice_addresses.c.email, null(), literal(2),
            notice_addresses.c.id,
        ).where(among(connection, notice_addresses.c.account_id, sorted(notices))))  # fmt: skip
    for account_id, kind, email, country, _, _ in connection.execute(query.order_by(text("1, 5, 6"))):
        if kind == "notice":
            extra[int(account_id)].append(email)
        else:
            people[int(account_id)].append((kind, email, country))
    return people, extra


def enqueue_many(connection: Connection, mails: Sequence[Mail], now: datetime) -> None:
    """Messages to the outbox, each to its account's contacts, Sold-To first (and to its owner for dunning, or when
    it has no contact; and to its extra notice addresses for a new invoice, rule N1), in the Sold-To contact's
    language: two statements for any number of accounts, three when an owner is needed. An account with nobody to
    write to gets none (only in tests and imports)."""
    if not mails:
        return
    wanted = sorted({account_id for account_id, _, _, _ in mails})
    people, extra = _addressees(connection, wanted, {a for a, kind, _, _ in mails if kind in NEW_INVOICE})
    needs_owner = [a for a in wanted if not people[a] or any(m[0] == a and m[1] in OWNER_TOO for m in mails)]
    owners: dict[int, str] = {}
    if needs_owner:
        for r in connection.execute(
            select(users.c.account_id, users.c.email)
            .where(users.c.account_id.in_(needs_owner), users.c.role == "owner")
            .order_by(users.c.account_id, users.c.id)
        ):
            owners.setdefault(int(r.account_id), r.email)
    rows = []
    for account_id, kind, invoice_id, data in mails:
        recipients = [email for _, email, _ in people[account_id]]
        country = next((c for k, _, c in people[account_id] if k == "sold_to"), None)
        if (kind in OWNER_TOO or not recipients) and owners.get(account_id):
            recipients.append(owners[account_id])
        if kind in NEW_INVOICE:
            recipients += extra[account_id]  # rule N1
        unique = list(dict.fromkeys(address.strip().lower() for address in recipients if address))
        if not unique:
            continue
        rows.append({"account_id": account_id, "invoice_id": invoice_id, "kind": kind,
                     "language": "pl" if country == "PL" else "en", "recipients": json.dumps(unique),
                     "data": json.dumps(dict(data or {}), sort_keys=True, default=str),
                     "message_id": f"<{uuid.uuid4().hex}@outbox.prorata>", "created_at": now})  # fmt: skip
    if rows:
        connection.execute(insert(outbox), rows)


def enqueue_receipts(connection: Connection, paid: Sequence[tuple[int, int]], now: datetime) -> None:
    """``enqueue`` of a receipt for each (account, invoice) in ``paid``, in three statements whatever their number:
    the billing run's renewals paid at once from the credit balance (rule I4), which bring the renewal's invoice to
    the extra notice addresses too (rule N1)."""
    if not paid:
        return
    accounts = sorted({account_id for account_id, _ in paid})
    found, extra = _addressees(connection, accounts, accounts)
    owners: dict[int, str] = {}
    if "receipt" in OWNER_TOO or any(not held for held in found.values()):
        for account_id, email in connection.execute(
            select(users.c.account_id, users.c.email)
            .where(among(connection, users.c.account_id, accounts), users.c.role == "owner")
            .order_by(users.c.id)
        ):
            owners.setdefault(int(account_id), email)
    rows: list[dict[str, object]] = []
    for account_id, invoice_id in paid:
        held = found[account_id]
        recipients = [email for _, email, _ in held]
        country = next((c for kind, _, c in held if kind == "sold_to"), None)
        if "receipt" in OWNER_TOO or not recipients:
            recipients += [owners[account_id]] if owners.get(account_id) else []
        recipients += extra[account_id]
        unique = list(dict.fromkeys(address.strip().lower() for address in recipients if address))
        if unique:
            rows.append(
                {"account_id": account_id, "invoice_id": invoice_id, "kind": "receipt",
                 "language": "pl" if country == "PL" else "en", "recipients": json.dumps(unique),
                 "data": json.dumps({}, sort_keys=True), "message_id": f"<{uuid.uuid4().hex}@outbox.prorata>",
                 "created_at": now}
            )  # fmt: skip
    insert_rows(connection, outbox, rows)


def claim(connection: Connection, now: datetime, lease_seconds: float, limit: int) -> list[OutboxMessage]:
    """Claim up to ``limit`` unsent messages: pending ones, and claimed ones whose sender has not finished within
    the lease (it died): these are sent again, with the same Message-ID."""
    stale = now - timedelta(seconds=lease_seconds)
    query = (
        select(outbox, invoices.c.series, invoices.c.year, invoices.c.number, accounts.c.time_zone)
        .select_from(
            outbox.outerjoin(invoices, invoices.c.id == outbox.c.invoice_id).outerjoin(
                accounts, accounts.c.id == outbox.c.account_id
            )
        )
        .where(or_(outbox.c.status == "pending", and_(outbox.c.status == "claimed", outbox.c.claimed_at <= stale)))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(of=outbox, skip_locked=True)
    rows = connection.execute(query).mappings().all()
    if not rows:
        return []
    ids = [int(r["id"]) for r in rows]
    connection.execute(
        update(outbox)
        .where(outbox.c.id.in_(ids))
        .values(status="claimed", claimed_at=now, attempts=outbox.c.attempts + 1)
    )
    return [
        OutboxMessage(
            int(r["id"]),
            None if r["account_id"] is None else int(r["account_id"]),
            r["kind"],
            r["language"],
            tuple(json.loads(r["recipients"])),
            json.loads(r["data"]),
            r["message_id"],
            f"{r['series']}-{r['year']}-{r['number']:06d}" if r["number"] is not None else None,
            int(r["attempts"]) + 1,
            r["time_zone"] or "UTC",
        )
        for r in rows
    ]


def mark_sent(connection: Connection, message_id: int, now: datetime, data: Mapping[str, object] | None = None) -> None:
    """Sent; ``data`` replaces what the message said when it held a secret (a password link: only its hash is kept,
    in ``person_tokens``)."""
    values: dict[str, object] = {"status": "sent", "sent_at": now}
    if data is not None:
        values["data"] = json.dumps(dict(data), sort_keys=True, default=str)
    connection.execute(update(outbox).where(outbox.c.id == message_id).values(**values))
