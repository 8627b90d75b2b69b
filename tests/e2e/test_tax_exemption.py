"""Tax exemption certificates end to end (rule TE1), on SQLite and on PostgreSQL: a US customer sends one (API and
portal), the account is pending, an operator accepts it (API, console, CLI) and the next order carries no tax; a
rejection says why; a new Sold-To country clears it; bad files and wrong senders change nothing."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import select

from prorata.adapters.db.schema import accounts, audit_log, tax_exemptions
from prorata.bootstrap import App
from prorata.domain.exemptions import MAX_BYTES
from prorata.domain.tax import Seller, TaxRules
from prorata.services.billing_information import Contact, set_contacts
from prorata.services.tax_exemption import SendCertificate, send_certificate
from tests.e2e.api_client import Account, Api
from tests.e2e.conftest import CSRF, Visitor, account_id, member_with_password
from tests.e2e.language_leaks import leaks
from tests.e2e.test_console import audited, operator

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXAS = {"name": "Ada", "email": "ada@yankee.test", "address_line1": "1 Congress Ave", "city": "Austin",
         "postal_code": "78701", "region": "TX", "country": "US"}  # fmt: skip
# a US seller that charges its US buyers, so that an exemption shows on the invoice (a Polish seller charges a US
# buyer nothing whatever the certificate)
US_SELLER = TaxRules(Seller("US", "Seller Inc.", ("1 Market St", "San Francisco"), "12-3456789", "billing@seller.test",
                            "America/Los_Angeles"), {"US": 725})  # fmt: skip


def us_customer(api: Api, code: str = "yankee") -> Account:
    account = api.open_account(code)
    put = api.client.put(f"{account.url}/contacts", json={"sold_to": TEXAS}, headers=account.headers)
    assert put.status_code == 200, put.text
    return account


def send(api: Api, account: Account, content: bytes, filename: str = "texas-exemption.pdf") -> Any:
    body = {"filename": filename, "content_base64": base64.b64encode(content).decode()}
    return api.client.put(f"{account.url}/tax-exemption/certificate", json=body, headers=account.headers)


def decide(api: Api, account: Account, exemption_id: int, decision: str, reason: str = "") -> Any:
    body = {"exemption_id": exemption_id, "decision": decision, "reason": reason}
    return api.client.post(f"{account.url}/tax-exemption/decision", json=body, headers=api.operator)


def order_tax(account: Account, key: str, licenses: int) -> int:
    """The tax of an order: Pro with one license first, then licenses added (charged to the period's end)."""
    change = {"type": "change_plan", "product": "pro", "licenses": 1} if licenses == 1 else {
        "type": "set_licenses", "total": licenses}  # fmt: skip
    placed = account.order(change, key=key)
    assert placed.status_code == 201, placed.text
    return int(account.get(f"/invoices/{placed.json()['invoice_id']}").json()["tax"])


def test_an_accepted_certificate_takes_the_tax_off_the_next_order_and_a_new_country_clears_it(api: Api) -> None:
    # rule TE1: pending until an operator accepts; exempt from then on; a new Sold-To country clears it
    api.app.tax = US_SELLER
    account = us_customer(api)
    assert order_tax(account, "first", 1) > 0  # taxed before any certificate

    sent = send(api, account, PDF)
    assert sent.status_code == 200, sent.text
    pending = sent.json()
    assert (pending["status"], pending["country"], pending["media_type"]) == ("pending", "US", "application/pdf")
    assert pending["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert order_tax(account, "while-pending", 2) > 0  # pending is not exempt
    accepted = decide(api, account, pending["exemption_id"], "accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "exempt"
    assert order_tax(account, "exempt", 3) == 0
    kept = api.client.get(
        f"{account.url}/tax-exemption/certificates/{pending['exemption_id']}", headers=account.headers
    )
    assert (kept.content, kept.headers["content-type"]) == (PDF, "application/pdf")

    moved = api.client.put(f"{account.url}/contacts", json={"sold_to": {**TEXAS, "region": "ON", "country": "CA",
                           "postal_code": "K1A 0B1", "city": "Ottawa"}}, headers=account.headers)  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert account.get("/tax-exemption").json()["status"] == "none"
    with api.app.engine.connect() as conn:
        statuses = list(conn.execute(select(tax_exemptions.c.status)).scalars())
        mirror = conn.execute(select(accounts.c.tax_exemption).where(accounts.c.id == account.id)).scalar_one()
        actions = set(conn.execute(select(audit_log.c.action).where(audit_log.c.account_id == account.id)).scalars())
    assert (statuses, mirror) == (["cleared"], None)
    assert {"tax_exemption.sent", "tax_exemption.accepted", "tax_exemption.cleared"} <= actions


def test_a_rejection_says_why_and_only_the_certificate_read_is_decided(api: Api) -> None:
    # rule TE1: no reason, no rejection; a certificate replaced meanwhile is not decided by a decision on the old one
    account = us_customer(api)
    first = send(api, account, PDF).json()["exemption_id"]
    second = send(api, account, b"\x89PNG\r\n\x1a\nrest", filename="scan.png").json()

    unexplained = decide(api, account, second["exemption_id"], "reject")
    stale = decide(api, account, first, "accept")
    rejected = decide(api, account, second["exemption_id"], "reject", "The certificate has expired.")
    by_customer = api.client.post(f"{account.url}/tax-exemption/decision", headers=account.headers,
                                  json={"exemption_id": second["exemption_id"], "decision": "accept"})  # fmt: skip

    assert (unexplained.status_code, unexplained.json()["code"]) == (422, "tax_exemption.reason_missing")
    assert (stale.status_code, stale.json()["code"]) == (409, "tax_exemption.not_pending")
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["reason"] == "The certificate has expired."
    assert by_customer.status_code == 403
    assert second["filename"] == "scan.png"


@pytest.mark.parametrize(
    ("content", "code", "status"),
    [(b"<svg/>", "tax_exemption.file_type", 422), (b"", "request.invalid", 422),
     (PDF + b"0" * MAX_BYTES, "tax_exemption.too_large", 422), (PDF + b"0" * (6 * MAX_BYTES // 5), "request.too_large",
                                                                  413)],
)  # fmt: skip
def test_a_wrong_file_is_refused_and_changes_nothing(api: Api, content: bytes, code: str, status: int) -> None:
    account = us_customer(api)
    before = api.snapshot()

    refused = send(api, account, content)

    assert (refused.status_code, refused.json()["code"]) == (status, code)
    assert api.snapshot() == before


def test_a_customer_outside_the_us_cannot_send_one_and_bad_base64_is_named(api: Api) -> None:
    account = api.open_account("warsaw")
    polish = {**TEXAS, "region": None, "country": "PL", "postal_code": "00-001", "city": "Warszawa"}
    assert (
        api.client.put(f"{account.url}/contacts", json={"sold_to": polish}, headers=account.headers).status_code == 200
    )
    before = api.snapshot()

    refused = send(api, account, PDF)
    garbled = api.client.put(f"{account.url}/tax-exemption/certificate", headers=account.headers,
                             json={"filename": "a.pdf", "content_base64": "not base64!"})  # fmt: skip

    assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == (
        422, "tax_exemption.not_eligible", "certificate")  # fmt: skip
    assert (garbled.status_code, garbled.json()["field"]) == (422, "content_base64")
    assert api.snapshot() == before


def _us_demo(app: App) -> int:
    """The demo's US account with a Sold-To contact in Texas."""
    found = account_id(app, "demo-pro")
    set_contacts(found, Contact(**TEXAS), None, uow=app.uow, clock=app.clock)  # type: ignore[arg-type]
    return found


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_portal_sends_a_certificate_and_shows_the_operators_decision(app: App, language: str) -> None:
    # rule TE1 in the portal and the console, in the customer's and the operator's language
    demo = _us_demo(app)
    visitor = Visitor(app)
    visitor.sign_in("owner@demo-pro.test")
    visitor.language(language)
    page = visitor.get("/billing/tax-exemption")
    assert page.status_code == 200
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    wrong = visitor.client.post("/billing/tax-exemption", data={"csrf": csrf},
                                files={"certificate": ("c.gif", b"GIF89a", "image/gif")})  # fmt: skip
    sent = visitor.client.post("/billing/tax-exemption", data={"csrf": csrf},
                               files={"certificate": ("Certyfikat.pdf", PDF, "application/pdf")})  # fmt: skip

    assert wrong.status_code == 400
    assert ("Send a PDF, PNG or JPEG file." if language == "en" else "Prześlij plik PDF, PNG lub JPEG.") in wrong.text
    assert sent.status_code == 200
    assert ("Exemption pending" if language == "en" else "Zwolnienie oczekuje na weryfikację") in sent.text
    with app.engine.connect() as conn:
        exemption_id = conn.execute(select(tax_exemptions.c.id).where(tax_exemptions.c.account_id == demo)).scalar_one()
    cli = subprocess.run([sys.executable, "-m", "prorata", "exemptions", "reject", "--account", "demo-pro",
                          "--exemption", str(exemption_id), "--reason", "Unsigned certificate.",
                          "--database", str(app.engine.url.render_as_string(hide_password=False))],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    shown = visitor.get("/billing/tax-exemption")
    assert "Unsigned certificate." in shown.text
    assert ("Rejected" if language == "en" else "Odrzucone") in shown.text
    assert re.search(r'href="/billing/tax-exemption/\d+/file"', shown.text)


def test_a_member_reads_the_state_but_sends_nothing(app: App) -> None:
    # rule P6: only owners and admins change billing
    _us_demo(app)
    member_with_password(app, "user1@demo-pro.test")
    visitor = Visitor(app)
    visitor.sign_in("user1@demo-pro.test")
    page = visitor.get("/billing/tax-exemption")
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    refused = visitor.client.post("/billing/tax-exemption", data={"csrf": csrf},
                                  files={"certificate": ("c.pdf", PDF, "application/pdf")})  # fmt: skip

    assert page.status_code == 200
    assert 'id="certificate-form"' not in page.text
    assert refused.status_code == 403
    with app.engine.connect() as conn:
        assert conn.execute(select(tax_exemptions.c.id)).first() is None


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_console_lists_a_waiting_certificate_and_accepts_it(app: App, language: str) -> None:
    # rule TE1 in the console: the waiting list, the file, a rejection without a reason refused, the acceptance
    demo = _us_demo(app)
    exemption_id = send_certificate(SendCertificate(demo, "cert.pdf", PDF, "portal:owner@demo-pro.test"),
                                    uow=app.uow, clock=app.clock)  # fmt: skip
    desk = operator(app, language)
    waiting = desk.get("/operator/exemptions")
    assert f'href="/operator/accounts/{demo}/exemption"' in waiting.text
    page = desk.get(f"/operator/accounts/{demo}/exemption")
    assert desk.get(f"/operator/accounts/{demo}/exemption/{exemption_id}/file").content == PDF

    unexplained = desk.post(f"/operator/accounts/{demo}/exemption",
                            {"exemption": str(exemption_id), "decision": "reject", "reason": ""})  # fmt: skip
    accepted = desk.post(f"/operator/accounts/{demo}/exemption",
                         {"exemption": str(exemption_id), "decision": "accept", "reason": ""})  # fmt: skip

    assert page.status_code == 200
    assert not leaks(page.text, language)
    assert unexplained.status_code == 400
    assert ("Say why the certificate is rejected" if language == "en" else "Podaj powód odrzucenia") in unexplained.text
    assert accepted.status_code == 200
    assert ("Exempt" if language == "en" else "Zwolnione z podatku") in accepted.text
    assert audited(app, "tax_exemption.accepted") == ["operator:ops@example.test"]
    assert "none-waiting" in desk.get("/operator/exemptions").text
