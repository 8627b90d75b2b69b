"""The article's flows in a real browser (rules K1-K7, L1, L4, C1, A3, A4, I6, U1, X5), a screenshot at each step, and
the Billing information page's backup method and extra notice addresses (rules BM1, N1)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from prorata.services.billing_information import AddCard, add_card
from prorata.services.notice_addresses import SetNoticeAddresses, set_notice_addresses
from tests.browser.conftest import Server, Walk
from tests.browser.test_checkout_pages_fit_and_pass_axe import Audit
from tests.e2e.conftest import account_id, make_overdue


def save(walk: Walk) -> None:
    walk.follow("main button.primary")


def review(walk: Walk) -> str:
    """A returning buyer's checkout (rule K2): the order summary, its Terms shown as accepted before -> Place order;
    returns the amount due shown."""
    walk.page.wait_for_url("**/checkout/summary")
    expect(walk.page.locator("#terms-standing")).to_be_visible()
    amount = walk.page.inner_text("#amount-due")
    walk.shot("summary-returning")
    walk.follow("#place-order")
    walk.page.wait_for_url("**/checkout/done/*")
    walk.shot("confirmation")
    return amount


def accept_terms(walk: Walk) -> str:
    """The Terms of Service -> the order summary -> Place order; returns the amount due shown. The last steps of a
    first order, and the only ones of a demo account's first change (rule K2): its contacts and card are as they
    were, and its demo order accepted an older version of the Terms."""
    walk.page.wait_for_url("**/checkout/terms")
    walk.page.check("#terms")
    walk.shot("terms")
    walk.follow("#to-summary")
    walk.page.wait_for_url("**/checkout/summary")
    amount = walk.page.inner_text("#amount-due")
    walk.shot("summary")
    walk.follow("#place-order")
    walk.page.wait_for_url("**/checkout/done/*")
    walk.shot("confirmation")
    return amount


def checkout(walk: Walk, *, new_card: bool = False) -> str:
    """Contacts -> payment method -> Terms of Service -> order summary -> Confirm; returns the amount due shown."""
    walk.page.wait_for_url("**/checkout/contacts")
    walk.shot("contacts")
    save(walk)
    if "/checkout/payment" not in walk.page.url:  # rule K5: the validator had a suggestion; keep what was entered
        walk.shot("contact-address-suggestion")
        walk.page.check("input[name^='choice.'][value=keep] >> nth=0")
        save(walk)
    walk.page.wait_for_url("**/checkout/payment")
    if new_card:
        walk.page.check("#method-card")
        walk.page.fill("input[name=card_number]", "4242 4242 4242 4242")
        walk.page.fill("input[name=exp_month]", "12")
        walk.page.fill("input[name=exp_year]", "2030")
        expect(walk.page.locator("#card-address")).to_be_hidden()
        walk.page.uncheck("#same_as_bill_to")  # rule K4: the card's own address
        expect(walk.page.locator("#card-address")).to_be_visible()
        walk.page.fill("input[name='card.address_line1']", "ul. Kartowa 5")
        walk.page.fill("input[name='card.city']", "Kraków")
        walk.page.fill("input[name='card.postal_code']", "30001")
        walk.page.fill("input[name='card.country']", "PL")
        walk.shot("payment-card-address")
        save(walk)
        expect(walk.page.locator("#suggestion-card")).to_contain_text("30-001")  # rule K5: the suggestion
        walk.page.check("input[name='choice.card'][value=take]")
        walk.page.fill("input[name=card_number]", "4242 4242 4242 4242")  # rule Y2: never sent back
        walk.shot("card-address-suggestion")
        save(walk)
    else:
        walk.shot("payment")
        save(walk)
    return accept_terms(walk)


def upgrade_to_business(walk: Walk, licenses: int, *, new_card: bool = False) -> str:
    walk.follow("#upgrade-account")
    walk.shot("upgrade-account")
    walk.follow("#plan-business a.primary")
    walk.page.fill("#licenses", str(licenses))
    walk.page.check("input[name=interval][value=month]")
    walk.shot("licenses")
    save(walk)
    walk.page.wait_for_url("**/checkout/products")
    walk.shot("other-products")
    walk.follow("#skip")
    return checkout(walk, new_card=new_card)


def current_plans(walk: Walk) -> None:
    walk.go("/billing")
    walk.shot("current-plans")


@pytest.mark.parametrize("language", ["en", "pl"])
def test_k1_upgrades_a_basic_account_to_business_with_ten_licenses(walk: Walk, language: str) -> None:
    walk.sign_in("owner@demo-basic.test", language)
    amount = upgrade_to_business(walk, 10, new_card=language == "en")
    expect(walk.page.locator("#confirmation")).to_contain_text(amount)  # rule C6: the invoice's amount
    expect(walk.page.locator("#assign-link")).to_have_attribute("href", "/users")  # rule L5
    current_plans(walk)
    expect(walk.page.locator("#plan-card h2")).to_have_text("Business" if language == "en" else "Dla firm")
    expect(walk.page.locator("#plan-licenses")).to_contain_text("10 licenses" if language == "en" else "10 licencji")


def test_k2_adds_two_licenses_by_entering_twelve_then_switches_to_yearly(walk: Walk) -> None:
    walk.sign_in("owner@demo-basic.test")
    upgrade_to_business(walk, 10)
    current_plans(walk)
    walk.follow("#edit-plan")
    walk.page.fill("#licenses", "12")  # rule L1: the new total
    walk.shot("edit-twelve")
    save(walk)
    expect(walk.page.locator("#cart-count")).to_have_text("1")  # rule K3
    walk.follow("#skip")
    review(walk)  # the upgrade was an order under these Terms (rule K2)
    current_plans(walk)
    expect(walk.page.locator("#plan-licenses")).to_contain_text("12 licenses")
    walk.follow("#edit-plan")
    walk.page.check("input[name=interval][value=year]")  # rule C1
    walk.shot("edit-yearly")
    save(walk)
    walk.follow("#skip")
    review(walk)
    current_plans(walk)
    expect(walk.page.locator("#plan-interval")).to_have_text("yearly")


def test_webinar_500_then_webinar_1000_are_two_items_and_a_webinar_grows_by_editing_it(walk: Walk) -> None:
    # rules A1, A3, A4
    walk.sign_in("owner@demo-business.test")
    walk.follow("#offer-webinar_500 a")
    save(walk)
    walk.page.wait_for_url("**/checkout/products")
    walk.shot("webinar-500-in-cart")
    walk.follow("#offer-webinar_1000 a")
    save(walk)
    walk.page.wait_for_url("**/checkout/products")
    expect(walk.page.locator("#cart-count")).to_have_text("2")
    walk.shot("webinar-1000-in-cart")
    walk.follow("#skip")
    accept_terms(walk)
    current_plans(walk)
    expect(walk.page.locator("#addon-webinar_500")).to_be_visible()
    expect(walk.page.locator("#addon-webinar_1000")).to_be_visible()
    walk.follow("#addon-webinar_500 a.button")
    walk.page.fill("#quantity", "3")
    walk.shot("webinar-500-three-seats")
    save(walk)
    walk.follow("#skip")
    review(walk)
    current_plans(walk)
    expect(walk.page.locator("#addon-webinar_500")).to_contain_text("3 seats · 0 assigned")


def test_a_reduction_below_the_assigned_licenses_is_refused_then_accepted_after_unassigning(walk: Walk) -> None:
    # rule L4: demo-pro holds 3 licenses, 2 of them assigned
    walk.sign_in("owner@demo-pro.test")
    walk.follow("#edit-plan")
    walk.page.fill("#licenses", "1")
    save(walk)
    expect(walk.page.locator("#error-licenses")).to_contain_text("Unassign 1 user")
    walk.shot("reduction-refused")
    walk.follow("#unassign-link")
    walk.page.wait_for_url("**/users")
    walk.page.locator("tr", has_text="user1@demo-pro.test").locator("button.unassign").click()
    expect(walk.page.locator("#licenses-pro")).to_contain_text("1 assigned")
    walk.shot("unassigned")
    current_plans(walk)
    walk.follow("#edit-plan")
    walk.page.fill("#licenses", "1")
    save(walk)
    walk.page.wait_for_url("**/checkout/products")
    walk.follow("#skip")
    accept_terms(walk)
    current_plans(walk)
    expect(walk.page.locator("#plan-card .pending")).to_contain_text("1 license from")  # rule L3


def test_the_editor_is_disabled_with_its_reason_while_an_invoice_is_overdue_and_returns_after_paying(
    walk: Walk, server: Server
) -> None:
    # rule I6
    make_overdue(server.app, "demo-pro")
    walk.sign_in("owner@demo-pro.test")
    expect(walk.page.locator("#edit-plan")).to_be_disabled()
    expect(walk.page.locator("#locked-reason")).to_contain_text("overdue invoices")
    walk.shot("editor-disabled")
    walk.go("/billing/payment")
    walk.page.check("#method-card")
    walk.page.fill("input[name=card_number]", "4242424242424242")
    walk.page.fill("input[name=exp_month]", "12")
    walk.page.fill("input[name=exp_year]", "2030")
    save(walk)
    walk.go("/billing")
    walk.follow("#locked-reason a")
    walk.page.wait_for_url("**/billing/invoices")
    walk.shot("invoice-history-open")
    walk.follow("#pay-all")
    expect(walk.page.locator("#paid-message")).to_contain_text("enabled again")
    walk.shot("paid")
    current_plans(walk)
    expect(walk.page.locator("#edit-plan")).to_be_enabled()


def test_a_license_is_assigned_in_user_management(walk: Walk) -> None:
    # rule U1: demo-business has 12 licenses, 7 assigned
    walk.sign_in("owner@demo-business.test")
    walk.go("/users")
    row = walk.page.locator("tr", has_text="user8@demo-business.test")
    row.locator("button.assign[data-product=business]").click()
    expect(walk.page.locator("#licenses-business")).to_contain_text("8 assigned")
    expect(walk.page.locator("tr", has_text="user8@demo-business.test")).to_contain_text("Licensed")
    walk.shot("assigned")
    assert re.search(r"12 licenses", walk.page.inner_text("#licenses-business"))


@pytest.mark.parametrize("language", ["en", "pl"])
def test_billing_information_sets_a_backup_method_swaps_it_and_manages_the_extra_notice_addresses(
    walk: Walk, server: Server, language: str
) -> None:
    # rules BM1, N1, X5: the Billing information page in Chromium, each state saved at 1280 and 390 px, fitting a
    # phone and passing axe-core
    app = server.app
    business = account_id(app, "demo-business")
    add_card(AddCard(business, "5555555555554444", 11, 2031), uow=app.uow, clock=app.clock, gateway=app.gateway)
    check = Audit(walk)
    walk.sign_in("owner@demo-business.test", language)
    walk.go("/billing/information")
    check("billing-information-no-backup")

    walk.page.select_option("#backup-choice", label="Visa •••• 4242")
    walk.follow("#set-backup")
    expect(walk.page.locator("#backup-method")).to_contain_text("Visa •••• 4242")
    expect(walk.page.locator("#methods em.backup")).to_have_count(1)
    check("billing-information-backup")
    walk.follow("#swap-backup")
    expect(walk.page.locator("#backup-method")).to_contain_text("Mastercard •••• 4444")

    walk.page.fill("#notice-address", "ksiegowosc@demo-business.test")
    walk.follow("#add-notice")
    expect(walk.page.locator("#notices li")).to_contain_text(["ksiegowosc@demo-business.test"])
    walk.page.fill("#notice-address", "ksiegowosc@biuro")  # the browser takes it; the server does not (rule N1)
    walk.follow("#add-notice")
    expect(walk.page.locator("#error-notice_address")).to_be_visible()
    check("billing-information-notice-refused")
    set_notice_addresses(SetNoticeAddresses(business, tuple(f"biuro{n}@demo-business.test" for n in range(5))),
                         uow=app.uow, clock=app.clock)  # fmt: skip
    walk.go("/billing/information")
    expect(walk.page.locator("#notices-full")).to_contain_text("N1")
    check("billing-information-notices-full")
    check.check()
