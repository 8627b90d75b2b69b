"""Send the outbox: every billing e-mail delivered, none lost, none sent twice by Prorata's own doing (rule I4).

The guarantee, honestly stated. A message is written in the transaction of its event, so it exists exactly when the
event happened: a crash never loses one. The sender claims a batch (a committed claim with a time), sends each, and
marks it sent in a transaction of its own. A sender that dies before the receiving server accepted a message leaves
it claimed; once the lease runs out another run sends it (once). A sender that dies after the server accepted it but
before marking it sent makes the next run send it again: SMTP itself is at-least-once, and no sender can know
whether a server it lost touch with kept a message. That second copy carries the same Message-ID, fixed when the
message was written, so receivers (and mail clients) drop it as a duplicate. The ``.eml`` folder mailer writes one
file per Message-ID, so there a second attempt replaces the first and the folder holds each message once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prorata.catalogs import default_tax_rules
from prorata.domain.catalog import Catalog, Unit
from prorata.domain.tax import TaxRules
from prorata.services.invoice_documents import invoice_document
from prorata.services.mail_texts import compose
from prorata.services.ports import Attachment, Clock, DocumentRenderer, Mailer, OutboxMessage, OutgoingMail, UnitOfWork

LEASE_SECONDS = 300.0  # a claim older than this belongs to a sender that died


@dataclass(slots=True)
class SendReport:
    sent: list[str] = field(default_factory=list)  # Message-IDs
    failed: list[tuple[str, str]] = field(default_factory=list)  # (Message-ID, why): left for the next run
    resent: list[str] = field(default_factory=list)  # Message-IDs sent again after an unfinished attempt


def send_outbox(
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    mailer: Mailer,
    render: DocumentRenderer,
    catalog: Catalog,
    sender: str,
    tax: TaxRules | None = None,
    lease_seconds: float = LEASE_SECONDS,
    batch: int = 50,
    portal_url: str = "",
) -> SendReport:
    report = SendReport()
    while True:
        with uow() as tx:
            claimed = tx.claim_mail(clock.now(), lease_seconds, batch)
        if not claimed:
            return report
        for message in claimed:
            try:
                mailer.send(_mail(message, sender, uow=uow, render=render, catalog=catalog, tax=tax,
                                  portal=portal_url))  # fmt: skip
            except Exception as error:  # a refused or unreachable server: the claim lapses, the next run retries
                report.failed.append((message.message_id, f"{type(error).__name__}: {error}"))
                continue
            with uow() as tx:
                # a password link is used by its receiver only: once sent, the outbox keeps no copy of it
                kept = {**message.data, "token": "(sent)"} if "token" in message.data else None
                tx.mark_mail_sent(message.id, clock.now(), kept)
            report.sent.append(message.message_id)
            if message.attempt > 1:
                report.resent.append(message.message_id)
        if report.failed:
            return report  # do not spin on a server that refuses: what failed waits for its lease


def _mail(
    message: OutboxMessage,
    sender: str,
    *,
    uow: Callable[[], UnitOfWork],
    render: DocumentRenderer,
    catalog: Catalog,
    tax: TaxRules | None,
    portal: str = "",
) -> OutgoingMail:
    document = None
    attachments: tuple[Attachment, ...] = ()
    if message.invoice_number is not None:
        document = invoice_document(message.invoice_number, uow=uow, catalog=catalog, tax=tax)
        pdf = render(document, message.language)
        attachments = (Attachment(f"{message.invoice_number}.pdf", "application/pdf", pdf),)
    names = {code: product.names for code, product in catalog.products.items()}
    units = {code: "license" if p.is_plan else "seat" if p.unit is Unit.PER_USER else ""
             for code, p in catalog.products.items()}  # fmt: skip
    seller = (tax if tax is not None else default_tax_rules()).seller  # who sends it now signs it
    subject, body = compose(message.kind, message.language, message.invoice_number, message.data, document=document,
                            time_zone=message.time_zone, names=names, units=units, portal=portal,
                            seller=seller)  # fmt: skip
    return OutgoingMail(message.message_id, sender, message.recipients, subject, body, attachments,
                        sender_name=seller.name)  # fmt: skip
