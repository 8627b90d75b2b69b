"""``prorata serve`` sends the e-mail outbox and delivers webhooks while it runs (rules I4, I8), on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from prorata.adapters.db.clock import start_simulation
from prorata.adapters.db.database import migrate
from prorata.bootstrap import build
from prorata.entrypoints.cli.demo import load_demo
from prorata.entrypoints.cli.serve import work_every
from prorata.services import webhooks
from tests.e2e.conftest import START
from tests.webhook_receiver import WebhookReceiver


def test_the_server_sends_the_order_confirmations_and_the_webhooks_its_orders_wrote(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: WebhookReceiver
) -> None:
    mail = tmp_path / "mail"
    monkeypatch.setenv("PRORATA_DATABASE_URL", database_url)
    monkeypatch.setenv("PRORATA_MAIL_DIR", str(mail))
    monkeypatch.setenv("PRORATA_SECRET_FILE", str(tmp_path / "prorata.key"))
    monkeypatch.setenv("PRORATA_WEBHOOK_ALLOW_PRIVATE", "127.0.0.0/8")
    app = build()
    migrate(app.engine)
    start_simulation(app.engine, START)
    app.clock.refresh()
    webhooks.create_endpoint(webhooks.EndpointIn(receiver.url, ("order.placed",)), actor="operator", uow=app.uow,
                             clock=app.clock, secrets=app.secrets, check_url=app.check_webhook_url)  # fmt: skip
    load_demo(app)  # two orders, each with its confirmation waiting in the outbox and its event to deliver
    app.close()
    stop = threading.Event()
    worker = threading.Thread(target=work_every, args=(0.05, stop))
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while (len(list(mail.glob("*.eml"))) < 2 or len(receiver.requests) < 2) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    sent = sorted(path.read_text() for path in mail.glob("*.eml"))
    assert len(sent) == 2
    assert all("application/pdf" in message for message in sent)  # rule I4: the invoice attached
    assert [r.headers["webhook-id"].startswith("evt_") for r in receiver.requests] == [True, True]
