"""Tax exemption in a real browser, in both languages, at 1280 and 390 px (rule TE1): the customer sends a
certificate from Billing information, the operator reads it in the console and rejects it with a reason, and the
customer reads the reason; each page passes axe-core."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from prorata.services.billing_information import Contact, set_contacts
from prorata.services.operators import CreateOperator, create_operator
from tests.browser.conftest import Walk
from tests.browser.test_express_pay_in_chromium import step
from tests.e2e.conftest import account_id

TEXAS = Contact("Ada", "ada@demo-pro.test", "1 Congress Ave", "Austin", "78701", "US", region="TX")
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXTS = {
    "en": ("Exemption pending", "Rejected", "Tax exemptions"),
    "pl": ("Zwolnienie oczekuje na weryfikację", "Odrzucone", "Zwolnienia z podatku"),
}


@pytest.mark.parametrize("language", ["en", "pl"])
def test_a_certificate_is_sent_read_by_an_operator_and_rejected_with_a_reason(
    walk: Walk, language: str, tmp_path: Path
) -> None:
    app = walk.server.app
    set_contacts(account_id(app, "demo-pro"), TEXAS, None, uow=app.uow, clock=app.clock)
    create_operator(CreateOperator("ops@example.test", "Olga", "correct horse battery staple", language),
                    uow=app.uow, hasher=app.hasher, now=datetime.now(UTC))  # fmt: skip
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(PDF)
    pending, rejected, menu = TEXTS[language]

    walk.sign_in("owner@demo-pro.test", language)
    walk.go("/billing/information")
    walk.follow("#exemption a")
    walk.page.set_input_files("input[name=certificate]", str(certificate))
    step(walk, "exemption-form")
    walk.follow("#certificate-form button[type=submit]")
    expect(walk.page.locator("#exemption-status")).to_contain_text(pending)
    step(walk, "exemption-pending")

    walk.go("/operator/signin")
    walk.page.fill("input[name=email]", "ops@example.test")
    walk.page.fill("input[name=password]", "correct horse battery staple")
    walk.follow("button[type=submit]")
    walk.follow(f"nav >> text={menu}")
    walk.follow("#waiting a")
    step(walk, "console-exemption")
    walk.page.fill("textarea[name=reason]", "The certificate is not signed.")
    walk.follow("button[value=reject]")
    expect(walk.page.locator("#exemption")).to_contain_text(rejected)

    walk.go("/billing/tax-exemption")
    expect(walk.page.locator("#rejected-reason")).to_contain_text("The certificate is not signed.")
    step(walk, "exemption-rejected")
