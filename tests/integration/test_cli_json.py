"""``--json`` on ``bill``, ``invoices list``, ``reconcile`` and ``clock show|advance``: one JSON object on standard
output, parsed here as a program would (rules X1, X2): money in integer minor units beside its currency, instants
ISO 8601 with their offset, the billing run shaped as the API's answer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from prorata.adapters.db.api_keys import create_api_key
from prorata.adapters.db.queries import account_id_by_code
from prorata.adapters.db.schema import orders
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.bootstrap import build
from prorata.catalogs import default_tax_rules
from prorata.domain.cart import SetLicenses
from prorata.domain.payments import ChargeResult
from prorata.entrypoints.api.schemas import BillingRunOut
from prorata.entrypoints.cli.main import main
from prorata.entrypoints.web import create_app
from prorata.services.place_order import PlaceOrder, place_order

SELLER_ZONE = ZoneInfo(default_tax_rules().seller.time_zone)


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    status = main([*args, "--json"])
    out = capsys.readouterr().out
    return status, json.loads(out)


def aware(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    assert instant.utcoffset() is not None, text
    return instant


def test_clock_show_and_advance_print_the_installations_time(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["demo", "--database", database_url])
    capsys.readouterr()
    status, shown = run_json(capsys, "clock", "show", "--database", database_url)
    assert status == 0
    assert set(shown) == {"now", "simulation"}
    assert shown["simulation"] is True

    status, advanced = run_json(capsys, "clock", "advance", "--days", "31", "--database", database_url)

    assert status == 0
    assert set(advanced) == {"now", "simulation", "billing", "emails"}
    assert aware(advanced["now"]) - aware(shown["now"]) == timedelta(days=31)
    assert advanced["billing"]["accounts"] == 2
    assert advanced["emails"] == {"sent": 4, "resent": 0, "failed": []}


def test_bill_prints_the_run_as_the_api_answers_it(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["demo", "--database", database_url])
    capsys.readouterr()
    main(["clock", "advance", "--days", "31", "--database", database_url])  # renewed; now nothing is due
    capsys.readouterr()

    status, billed = run_json(capsys, "bill", "--database", database_url)

    assert status == 0
    assert set(billed) == {"until", "billing", "emails"}
    aware(billed["until"])
    assert set(billed["billing"]) == set(BillingRunOut.model_fields)  # the API's answer, field for field
    assert billed["billing"]["complete"] is True
    assert (billed["billing"]["accounts"], billed["billing"]["invoices"]) == (0, [])
    assert billed["billing"]["accounts_refused"] == []


def test_invoices_list_gives_the_figures_the_api_gives(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # rules X1, I3: integer minor units beside the currency, the same numbers as the API's Invoice History
    main(["demo", "--database", database_url])
    main(["clock", "advance", "--days", "31", "--database", database_url])
    capsys.readouterr()

    status, listed = run_json(capsys, "invoices", "list", "--account", "demo-business", "--database", database_url)

    assert status == 0
    assert listed["account"] == "demo-business"
    rows = listed["invoices"]
    assert len(rows) == 2
    for row in rows:
        assert row["currency"] == "PLN"
        assert all(type(row[money]) is int for money in ("subtotal", "tax", "total", "credit_applied", "amount_due"))
        assert row["total"] == row["subtotal"] + row["tax"]
        assert (row["status"], row["amount_due"]) == ("paid", 0)
        assert aware(row["issued_at"]) <= aware(row["paid_at"])
        # rule I2: the date printed on the invoice is the seller's
        assert row["issue_date"] == aware(row["issued_at"]).astimezone(SELLER_ZONE).date().isoformat()
    app = build(database_url)
    try:
        with app.engine.begin() as conn:
            _, secret = create_api_key(conn, account_id=None, name="test", now=app.clock.now())
        with TestClient(create_app(app)) as client:
            operator = {"Authorization": f"Bearer {secret}"}
            account = client.get("/api/v1/accounts?code=demo-business", headers=operator).json()[0]["id"]
            served = client.get(f"/api/v1/accounts/{account}/invoices", headers=operator).json()
    finally:
        app.close()
    figures = ("id", "number", "status", "currency", "subtotal", "tax", "total", "credit_applied")
    assert sorted(tuple(i[k] for k in figures) for i in served) == sorted(tuple(r[k] for k in figures) for r in rows)
    assert [aware(i["issued_at"]) for i in sorted(served, key=lambda i: i["id"])] == [
        aware(r["issued_at"]) for r in rows
    ]


class CrashingGateway(SandboxGateway):
    """Takes the money, then the process dies before the outcome reaches the database."""

    def charge(self, token: str, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        super().charge(token, amount, currency, idempotency_key)
        raise SystemExit("killed after the gateway answered")


def test_reconcile_prints_what_it_completed(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # rules K8, X3: an order whose process died at the gateway is completed by reconcile, and says so
    main(["demo", "--database", database_url])
    capsys.readouterr()
    app = build(database_url)
    app.gateway = CrashingGateway()
    with app.engine.connect() as conn:
        account = account_id_by_code(conn, "demo-pro")
    assert account is not None
    with pytest.raises(SystemExit):
        place_order(PlaceOrder(account, (SetLicenses(5),), "crash", actor="owner", terms_version="2026-01",
                               terms_accepted=True), uow=app.uow, clock=app.clock, gateway=app.gateway,
                    catalog=app.catalog, tax=app.tax)  # fmt: skip
    with app.engine.connect() as conn:
        order = conn.execute(select(orders.c.id).where(orders.c.idempotency_key == "crash")).scalar_one()
    app.close()

    young = run_json(capsys, "reconcile", "--database", database_url)  # within the grace: left to its process
    status, done = run_json(capsys, "reconcile", "--grace", "0", "--database", database_url)

    assert young == (0, {"complete": True, "orders_placed": [], "orders_failed": [], "invoices_paid": [],
                         "payments_failed": [], "mismatches": [], "credited": [], "waiting": [],
                         "unanswered": [], "refunds_settled": []})  # fmt: skip
    assert status == 0
    assert done == {"complete": True, "orders_placed": [order], "orders_failed": [], "invoices_paid": [],
                    "payments_failed": [], "mismatches": [], "credited": [], "waiting": [],
                    "unanswered": [], "refunds_settled": []}  # fmt: skip
    assert main(["verify", "--database", database_url]) == 0  # and the books balance


def test_a_refusal_under_json_is_the_json_error_on_standard_error(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["init", "--database", database_url])
    capsys.readouterr()

    status = main(["bill", "--until", "someday", "--json", "--database", database_url])

    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    assert json.loads(err)["error"] == {
        "code": "time.not_a_datetime", "message": "until: 'someday' is not an ISO 8601 instant", "rule": None,
        "field": "until",
    }  # fmt: skip
