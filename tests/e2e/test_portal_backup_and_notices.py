"""Billing information in the portal: the backup payment method (rule BM1) and the extra notice addresses (rule N1),
through the forms as a browser without JavaScript sends them, on SQLite and PostgreSQL. Each refusal is shown beside
its form in the page's language, naming the field and the rule, and changes nothing (rules X4, X5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from prorata.adapters.db.clock import move_clock
from prorata.adapters.db.notice_store import notice_addresses_of
from prorata.adapters.db.queries import invoice_views, payment_method_views
from prorata.services.backup_method import SetBackupMethod, set_backup_method
from prorata.services.billing_information import AddCard, add_card
from prorata.services.notice_addresses import SetNoticeAddresses, set_notice_addresses
from prorata.services.renew_due import RenewDue, renew_due
from tests.e2e.conftest import Visitor, account_id, member_with_password
from tests.e2e.test_portal import text_of

BUSINESS = "owner@demo-business.test"


def roles(visitor: Visitor) -> dict[str, str]:
    """Each saved method of demo-business by its label: default, backup or ''."""
    with visitor.app.engine.connect() as conn:
        views = payment_method_views(conn, account_id(visitor.app, "demo-business"))
    return {v.label: "default" if v.is_default else "backup" if v.is_backup else "" for v in views}


def method_id(visitor: Visitor, label: str) -> str:
    with visitor.app.engine.connect() as conn:
        views = payment_method_views(conn, account_id(visitor.app, "demo-business"))
    return str(next(v.id for v in views if v.label == label))


def notices(visitor: Visitor) -> list[str]:
    account = account_id(visitor.app, "demo-business")
    with visitor.app.engine.connect() as conn:
        return notice_addresses_of(conn, (account,))[account]


def second_card(visitor: Visitor) -> None:
    """demo-business's demo card (Visa 4242) and a Mastercard added after it, the new default."""
    app = visitor.app
    add_card(AddCard(account_id(app, "demo-business"), "5555555555554444", 11, 2031), uow=app.uow, clock=app.clock,
             gateway=app.gateway)  # fmt: skip


def test_an_owner_sets_a_backup_swaps_it_with_the_default_and_removes_it(visitor: Visitor) -> None:
    # rule BM1, on the Billing information page itself
    second_card(visitor)
    visitor.sign_in(BUSINESS)
    page = visitor.get("/billing/information")
    assert text_of(page, "backup-method") == "No backup payment method."
    assert 'action="/billing/backup"' in page.text

    shown = visitor.post("/billing/backup", {"payment_method": method_id(visitor, "Visa •••• 4242")})
    assert shown.url.path == "/billing/information"
    assert roles(visitor) == {"Visa •••• 4242": "backup", "Mastercard •••• 4444": "default"}
    assert text_of(shown, "backup-method").startswith("Visa •••• 4242")

    swap = {"payment_method": method_id(visitor, "Visa •••• 4242")}
    visitor.post("/billing/backup/swap", swap)
    visitor.post("/billing/backup/swap", swap)  # a double click: the second finds it done and swaps nothing back
    assert roles(visitor) == {"Visa •••• 4242": "default", "Mastercard •••• 4444": "backup"}

    removed = visitor.post("/billing/backup/remove", {})
    assert roles(visitor) == {"Visa •••• 4242": "default", "Mastercard •••• 4444": ""}
    assert text_of(removed, "backup-method") == "No backup payment method."


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "The default payment method cannot also be the backup: choose another saved method (rule BM1)."),
     ("pl", "Domyślna metoda płatności nie może być jednocześnie zapasową: wybierz inną zapisaną metodę (zasada "
            "BM1).")],
)  # fmt: skip
def test_the_default_method_is_refused_as_backup_beside_the_form_and_nothing_changes(
    visitor: Visitor, language: str, expected: str
) -> None:
    # rules BM1, X4, X5: a page out of date (or edited by hand) names the default method
    second_card(visitor)
    visitor.sign_in(BUSINESS)
    visitor.language(language)
    before = roles(visitor)

    refused = visitor.post("/billing/backup", {"payment_method": method_id(visitor, "Mastercard •••• 4444")})
    unknown = visitor.post("/billing/backup", {"payment_method": "not a method"})

    assert refused.status_code == unknown.status_code == 400
    assert text_of(refused, "error-backup") == expected
    assert roles(visitor) == before


@pytest.mark.parametrize("language", ["en", "pl"])
def test_an_owner_adds_and_removes_notice_addresses_and_a_sixth_is_refused_naming_the_field_and_rule_n1(
    visitor: Visitor, language: str
) -> None:
    # rules N1, X4, X5
    visitor.sign_in(BUSINESS)
    visitor.language(language)

    added = visitor.post("/billing/notices", {"notice_address": " Ksiegowosc@Demo-Business.test "})
    assert added.url.path == "/billing/information"
    assert notices(visitor) == ["ksiegowosc@demo-business.test"]
    wrong = visitor.post("/billing/notices", {"notice_address": "not an address"})
    twice = visitor.post("/billing/notices", {"notice_address": "KSIEGOWOSC@demo-business.test"})
    assert wrong.status_code == twice.status_code == 400
    label = {"en": "Extra notice address", "pl": "Pole „Dodatkowy adres do powiadomień”"}[language]
    assert text_of(wrong, "error-notice_address").startswith(label)
    assert "ksiegowosc@demo-business.test" in text_of(twice, "error-notice_address")
    assert 'value="not an address"' in wrong.text  # what was typed is kept to be corrected

    app = visitor.app
    five = tuple(f"a{n}@demo-business.test" for n in range(5))
    set_notice_addresses(SetNoticeAddresses(account_id(app, "demo-business"), five), uow=app.uow, clock=app.clock)
    full = visitor.get("/billing/information")
    assert 'action="/billing/notices"' not in full.text  # no form for a sixth; the page says why
    assert "N1" in text_of(full, "notices-full")
    sixth = visitor.post("/billing/notices", {"notice_address": "sixth@demo-business.test"})  # a page out of date
    assert sixth.status_code == 400
    message = text_of(sixth, "error-notice_address")
    assert message.startswith(label)
    assert {"en": "at most 5 extra notice addresses (rule N1)", "pl": "najwyżej 5 dodatkowych adresów do "
            "powiadomień (zasada N1)"}[language] in message  # fmt: skip
    assert notices(visitor) == list(five)

    visitor.post("/billing/notices/remove", {"email": "a0@demo-business.test"})
    visitor.post("/billing/notices/remove", {"email": "a0@demo-business.test"})  # gone already: nothing to do
    assert notices(visitor) == list(five[1:])


def test_a_member_sees_the_backup_and_the_notice_addresses_but_changes_neither(visitor: Visitor) -> None:
    # rule P6: only an owner or an admin changes billing information
    second_card(visitor)
    member_with_password(visitor.app, "user1@demo-business.test")
    visitor.sign_in("user1@demo-business.test")

    page = visitor.get("/billing/information")
    refused = visitor.post("/billing/notices", {"notice_address": "member@demo-business.test"})
    backup = visitor.post("/billing/backup", {"payment_method": method_id(visitor, "Visa •••• 4242")})

    assert 'id="backup"' in page.text
    assert 'id="notices"' in page.text
    assert 'action="/billing/backup"' not in page.text
    assert 'action="/billing/notices"' not in page.text
    assert refused.status_code == backup.status_code == 403
    assert notices(visitor) == []
    assert "backup" not in roles(visitor).values()


@pytest.mark.parametrize(("language", "badge"), [("en", "backup payment method"), ("pl", "zapasowa metoda płatności")])
def test_the_invoice_page_lists_the_declined_charge_and_the_backups_that_paid_it(
    visitor: Visitor, language: str, badge: str
) -> None:
    # rules BM1, I5: the payment attempt log shows both charges of the attempt, the backup's marked
    app = visitor.app
    pro = account_id(app, "demo-pro")
    with app.engine.connect() as conn:
        (visa,) = [v.id for v in payment_method_views(conn, pro)]
    add_card(AddCard(pro, "4000000000000002", 11, 2031), uow=app.uow, clock=app.clock, gateway=app.gateway)
    set_backup_method(SetBackupMethod(pro, visa), uow=app.uow, clock=app.clock)
    renewal = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
    move_clock(app.engine, renewal)
    app.clock.refresh()
    renew_due(
        RenewDue(renewal), uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, dunning=app.dunning
    )
    with app.engine.connect() as conn:
        paid = max(invoice_views(conn, pro), key=lambda view: view.id)
    visitor.sign_in("owner@demo-pro.test")
    visitor.language(language)

    page = visitor.get(f"/billing/invoices/{paid.id}")

    rows = re.findall(r'<td data-label="[^"]+" class="method">(.*?)</td>', page.text)
    assert [re.sub(r"<[^>]+>", "", row).strip() for row in rows] == ["Visa •••• 0002", f"Visa •••• 4242 {badge}"]
    assert paid.status == "paid"
