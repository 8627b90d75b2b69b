"""``prorata serve`` sends the e-mail outbox while it runs (rules I4, I8), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from prorata.adapters.db.clock import start_simulation
from prorata.adapters.db.database import migrate
from prorata.bootstrap import build
from prorata.entrypoints.cli.demo import load_demo
from prorata.entrypoints.cli.serve import send_mail_every
from tests.e2e.conftest import START


def test_the_server_sends_the_order_confirmations_its_orders_wrote(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = tmp_path / "mail"
    monkeypatch.setenv("PRORATA_DATABASE_URL", database_url)
    monkeypatch.setenv("PRORATA_MAIL_DIR", str(mail))
    app = build()
    migrate(app.engine)
    start_simulation(app.engine, START)
    app.clock.refresh()
    load_demo(app)  # two orders, each with its confirmation waiting in the outbox
    app.close()
    stop = threading.Event()
    sender = threading.Thread(target=send_mail_every, args=(0.05, stop))
    sender.start()
    try:
        deadline = time.monotonic() + 20
        while len(list(mail.glob("*.eml"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        sender.join(timeout=10)
    sent = sorted(path.read_text() for path in mail.glob("*.eml"))
    assert len(sent) == 2
    assert all("application/pdf" in message for message in sent)  # rule I4: the invoice attached
