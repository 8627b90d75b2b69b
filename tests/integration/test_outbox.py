"""Billing e-mails through the outbox, delivered to a real SMTP server on 127.0.0.1 (rules I4, I8, L3, L5).

Each message is written in the transaction of its event and sent once; a sender killed mid-way and started again
delivers what it had not delivered, and a message it may have delivered already goes again under the same
Message-ID, by which receivers drop the copy.
"""

from __future__ import annotations

import asyncio
import email
import io
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from sqlalchemy import Engine, insert, select

from prorata.adapters.db.database import create_database_engine
from prorata.adapters.db.schema import outbox, users
from prorata.adapters.documents.pdf import render_pdf
from prorata.adapters.mail.files import FileMailer
from prorata.adapters.mail.smtp import SmtpMailer, SmtpSettings
from prorata.domain.cart import Cancel, ChangePlan, SetLicenses
from prorata.domain.dunning import DunningPolicy
from prorata.services.billing_information import Contact, set_contacts
from prorata.services.outbox import SendReport, send_outbox
from prorata.services.ports import Mailer
from prorata.services.renew_due import RenewDue, renew_due
from tests.helpers import CATALOG
from tests.integration.shop import Shop

SOLD_TO = Contact("Łucja Świątek", "lucja@acme.pl", "ul. Żółta 5", "Gdańsk", "80-001", "PL", tax_id="1234563218")
BILL_TO = Contact("Jan Kowalski", "faktury@acme.pl", "ul. Długa 1", "Łódź", "90-001", "PL")
ROOT = Path(__file__).resolve().parents[2]


class Inbox:
    """What the SMTP server received. ``mode``: accept; hold (never answer: the client dies mid-DATA, nothing is
    delivered); keep_then_hold (keep the message, then never answer: delivered, but the client never hears it)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.mode = "accept"
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        received = (list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=policy.default))
        if self.mode == "keep_then_hold":
            self.messages.append(received)
        if self.mode != "accept":
            self.arrived.set()
            await asyncio.sleep(30)
            return "451 try again later"
        self.messages.append(received)
        return "250 OK"

    def ids(self) -> list[str]:
        return [str(message["Message-ID"]) for _, message in self.messages]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's controller cannot start on port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def send(shop: Shop, mailer: Mailer, lease: float = 300.0) -> SendReport:
    return send_outbox(uow=shop.uow, clock=shop.clock, mailer=mailer, render=render_pdf, catalog=CATALOG,
                       sender="billing@prorata.example", lease_seconds=lease)  # fmt: skip


def shop_with_contacts(engine: Engine, **kwargs: str) -> Shop:
    shop = Shop(engine, **kwargs)
    set_contacts(shop.account_id, SOLD_TO, BILL_TO, uow=shop.uow, clock=shop.clock)
    shop.add_user("owner@acme.test", role="owner")
    return shop


def queued(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(outbox.c.kind, outbox.c.recipients, outbox.c.status)
                                               .order_by(outbox.c.id))]  # type: ignore[misc]  # fmt: skip


def pdf_text(message: Message) -> tuple[str, str]:
    (part,) = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return part.get_filename() or "", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_the_order_confirmation_reaches_sold_to_and_bill_to_once_with_the_invoice_attached(
    engine: Engine, inbox: tuple[Inbox, int]
) -> None:
    # rules I4, L5, X5: a Polish Sold-To contact gets Polish words
    server, port = inbox
    shop = shop_with_contacts(engine)
    shop.order(ChangePlan("pro", 3))
    assert [kind for kind, _, _ in queued(engine)] == ["order_confirmation"]
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port))
    assert len(send(shop, mailer).sent) == 1
    assert send(shop, mailer).sent == []  # nothing twice
    ((recipients, message),) = server.messages
    assert sorted(recipients) == ["faktury@acme.pl", "lucja@acme.pl"]
    number = "INV-2026-000001"
    assert number in str(message["Subject"])
    assert "Potwierdzenie zamówienia" in str(message["Subject"])
    body = message.get_body(("plain",))
    assert body is not None
    assert "Do przypisania: Dla profesjonalistów: 3 licencje." in body.get_content()  # type: ignore[attr-defined]
    filename, text = pdf_text(message)
    assert filename == f"{number}.pdf"
    assert f"Faktura {number}" in text
    assert "Łucja Świątek" in text


def test_a_failed_order_writes_no_e_mail(engine: Engine) -> None:
    # rule K8: nothing of a failed order takes effect, its confirmation included
    shop = shop_with_contacts(engine, card="4000000000000002")
    assert shop.order(ChangePlan("pro", 3)).status == "failed"
    assert queued(engine) == []


def test_a_reduction_waiting_for_the_term_end_is_confirmed_with_its_date(engine: Engine, tmp_path: Path) -> None:
    # rule L3: written to .eml files by default, one file per Message-ID
    shop = shop_with_contacts(engine)
    shop.order(ChangePlan("pro", 5))
    shop.order(SetLicenses(3), key="k2")
    assert [kind for kind, _, _ in queued(engine)] == ["order_confirmation", "reduction_scheduled"]
    mailer = FileMailer(tmp_path / "mail")
    send(shop, mailer)
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    texts = [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    (scheduled,) = [m for m in texts if "koniec okresu" in str(m["Subject"])]
    body = scheduled.get_payload(decode=True).decode()  # type: ignore[union-attr]
    # rule X5: the product's Polish name, the glossary's plural, the date as Polish writes it
    assert "- Dla profesjonalistów: 3 licencje od 15 gru 2026" in body
    assert "nic nie jest zwracane" in body  # rule L3: no refund


def test_an_order_confirms_only_what_it_leaves_waiting_and_a_cancellation_too(engine: Engine, tmp_path: Path) -> None:
    # rules L6, D1: a reduction the same order replaced is not confirmed; a cancellation is, with its date
    shop = shop_with_contacts(engine)
    shop.order(ChangePlan("pro", 5))
    shop.order(SetLicenses(3), SetLicenses(4), key="k2")  # the later total replaces the earlier one
    shop.order(Cancel(), key="k3")
    mailer = FileMailer(tmp_path / "mail")
    send(shop, mailer)
    messages = [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in (tmp_path / "mail").glob("*")]
    bodies = [message.get_body(preferencelist=("plain",)).get_content() for message in messages]  # type: ignore[union-attr]
    changes = [
        line
        for body in bodies
        for line in body.splitlines()
        if line.startswith("- Dla profesjonalistów:") and " – " not in line
    ]  # not the invoice's lines
    assert sorted(changes) == [
        "- Dla profesjonalistów: 4 licencje od 15 gru 2026",
        "- Dla profesjonalistów: anulowanie z dniem 15 gru 2026 (do tego dnia możesz je reaktywować)",
    ]


def test_every_dunning_step_writes_to_the_owner_as_well(engine: Engine) -> None:
    # rule I8: a failed attempt, each retry, then overdue
    shop = shop_with_contacts(engine)
    shop.order(ChangePlan("pro", 3))
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    for day in (15, 16, 18, 20, 22):
        shop.clock.at = datetime(2026, 12, day, 9, 0, tzinfo=UTC)
        renew_due(RenewDue(shop.clock.at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                  catalog=CATALOG, dunning=shop.dunning)  # fmt: skip
    kinds = [kind for kind, _, _ in queued(engine)]
    assert kinds == ["order_confirmation"] + ["payment_failed"] * 5 + ["overdue"]
    assert all(
        "owner@acme.test" in recipients for kind, recipients, _ in queued(engine) if kind != "order_confirmation"
    )


def test_the_dunning_e_mails_name_the_dates_of_the_configured_schedule(engine: Engine, tmp_path: Path) -> None:
    # rule I8 configured (retries 2 and 4 days after the issue date, cancelled 10 days overdue), rule X5: each failed
    # attempt names the next one's date, the overdue notice the day the subscriptions end, the cancellation its days
    shop = shop_with_contacts(engine, dunning=DunningPolicy(retry_after_days=(2, 4), cancel_after_overdue_days=10))
    shop.order(ChangePlan("pro", 3))
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    for day in (15, 17, 19, 29):
        shop.clock.at = datetime(2026, 12, day, 9, 0, tzinfo=UTC)
        renew_due(RenewDue(shop.clock.at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                  catalog=CATALOG, dunning=shop.dunning)  # fmt: skip

    send(shop, FileMailer(tmp_path / "mail"))

    assert [kind for kind, _, _ in queued(engine)] == ["order_confirmation", *["payment_failed"] * 3, "overdue",
                                                       "cancelled"]  # fmt: skip
    messages = [email.message_from_bytes(f.read_bytes(), policy=policy.default)
                for f in sorted((tmp_path / "mail").glob("*.eml"))]  # fmt: skip
    bodies = [(str(m["Subject"]), m.get_body(("plain",)).get_content()) for m in messages]  # type: ignore[union-attr]
    retries = sorted(body.split("Spróbujemy ponownie ")[1].split(".")[0] for subject, body in bodies
                     if subject.startswith("Płatność nieudana") and "Spróbujemy ponownie" in body)  # fmt: skip
    assert retries == ["17 gru 2026", "19 gru 2026"]  # the third failure names no retry: the account is overdue
    (overdue,) = [body for subject, body in bodies if subject.startswith("Zaległa płatność")]
    assert "Jeśli 29 gru 2026 (10 dni zaległości) nadal nie będzie opłacona, subskrypcje zostaną anulowane." in overdue
    (cancelled,) = [body for subject, body in bodies if subject == "Subskrypcje zostały anulowane"]
    assert "Konto miało zaległe faktury przez 10 dni i jego subskrypcje zostały anulowane." in cancelled


def _sender(database_url: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PRORATA_SMTP_HOST": "127.0.0.1", "PRORATA_SMTP_PORT": str(port)}
    return subprocess.Popen([sys.executable, "-m", "prorata", "outbox", "send", "--database", database_url, *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _orders(database_url: str, count: int) -> Shop:
    """Orders placed and committed by a process that then stopped: their e-mails are in the outbox, unsent."""
    engine = create_database_engine(database_url)
    shops = [shop_with_contacts(engine, code=f"acme{n}") for n in range(count)]
    for shop in shops:
        shop.order(ChangePlan("pro", 2))
    return shops[0]


@pytest.mark.parametrize("mode", ["hold", "keep_then_hold"])
def test_a_sender_killed_mid_send_and_started_again_delivers_each_message_once_by_message_id(
    engine: Engine, database_url: str, inbox: tuple[Inbox, int], mode: str
) -> None:
    # rule I4: "hold" kills the sender before the server took the message; "keep_then_hold" after the server kept
    # it but before the sender heard so: SMTP is at-least-once, and the copy carries the same Message-ID
    server, port = inbox
    _orders(database_url, 3)
    server.mode = mode
    first = _sender(database_url, port)
    try:
        assert server.arrived.wait(30), first.communicate(timeout=5)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    kept_before = server.ids()
    server.mode = "accept"
    again = _sender(database_url, port, "--lease", "0")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()
    assert "e-mails sent: 3" in out.decode()
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.message_id, outbox.c.status, outbox.c.attempts)).all()
    assert sorted(set(server.ids())) == sorted(r.message_id for r in rows)  # every message arrived
    assert all(r.status == "sent" for r in rows)
    if mode == "hold":
        assert kept_before == []
        assert sorted(server.ids()) == sorted(r.message_id for r in rows)  # once each
    else:
        assert len(kept_before) == 1
        assert server.ids().count(kept_before[0]) == 2  # the one the server kept before the kill: same ID twice
        assert len(server.ids()) == len(rows) + 1
    done = _sender(database_url, port)
    assert "e-mails sent: 0" in done.communicate(timeout=60)[0].decode()


def test_an_unreachable_server_leaves_every_message_for_the_next_run(engine: Engine) -> None:
    shop = shop_with_contacts(engine)
    shop.order(ChangePlan("pro", 3))
    report = send(shop, SmtpMailer(SmtpSettings("127.0.0.1", 1, timeout=2)))
    assert report.sent == []
    assert len(report.failed) == 1
    assert [status for _, _, status in queued(engine)] == ["claimed"]
    with engine.begin() as conn:
        conn.execute(insert(users).values(account_id=shop.account_id, email="x@acme.test", name="x", role="member",
                                          created_at=shop.clock.at))  # fmt: skip
    assert send(shop, SmtpMailer(SmtpSettings("127.0.0.1", 1, timeout=2))).failed == []  # its lease still holds
