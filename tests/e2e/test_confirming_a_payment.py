"""The confirmation page of a payment the bank asks the customer to confirm (3-D Secure; rules K8, I3, I6), with the
built-in sandbox, whose page stands for the bank: from Invoice History and from the e-mail's link, in both languages,
approved or declined, and never for another account's payment. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from prorata.adapters.db.schema import invoices, outbox, payments
from prorata.bootstrap import App
from prorata.services.billing_information import AddCard, add_card
from tests.e2e.conftest import Visitor, account_id, make_overdue

CONFIRMING_CARD = "4000002760003184"  # the sandbox's card whose bank asks to confirm each payment


def overdue_with_a_confirming_card(app: App) -> int:
    make_overdue(app, "demo-pro")
    found = account_id(app, "demo-pro")
    add_card(AddCard(found, CONFIRMING_CARD, 12, 2030), uow=app.uow, clock=app.clock, gateway=app.gateway)
    return found


def statuses(app: App, account: int) -> tuple[list[str], list[str]]:
    with app.engine.connect() as conn:
        paid = conn.execute(select(payments.c.status).where(payments.c.account_id == account)
                            .order_by(payments.c.id)).scalars()  # fmt: skip
        billed = conn.execute(select(invoices.c.status).where(invoices.c.account_id == account)
                              .order_by(invoices.c.id)).scalars()  # fmt: skip
        return list(paid), list(billed)


@pytest.mark.parametrize(("language", "words"), [("en", "Your bank asks you to confirm the payment of"),
                                                 ("pl", "Twój bank prosi o potwierdzenie płatności")])  # fmt: skip
def test_paying_an_invoice_the_bank_wants_confirmed_leads_to_the_page_that_pays_it(
    app: App, visitor: Visitor, language: str, words: str
) -> None:
    account = overdue_with_a_confirming_card(app)
    visitor.sign_in("owner@demo-pro.test")
    visitor.language(language)
    page = visitor.pay({"action": "all"})

    assert "/billing/payments/" in str(page.url)
    assert words in page.text
    assert statuses(app, account)[0][-1] == "action_required"
    assert statuses(app, account)[1][-1] == "open"  # nothing taken yet, the account still overdue (I6)

    done = visitor.post(str(page.url.path), {"answer": "approve"})
    assert 'id="confirm-outcome"' in done.text
    paid, billed = statuses(app, account)
    assert (paid[-1], billed[-1]) == ("succeeded", "paid")
    again = visitor.post(str(page.url.path), {"answer": "approve"})  # a second click: nothing more
    assert again.status_code == 200
    assert statuses(app, account) == (paid, billed)


def test_a_declined_confirmation_charges_nothing_and_says_what_to_do(app: App, visitor: Visitor) -> None:
    account = overdue_with_a_confirming_card(app)
    visitor.sign_in("owner@demo-pro.test")
    page = visitor.pay({"action": "all"})
    declined = visitor.post(str(page.url.path), {"answer": "decline"})
    assert "nothing was charged" in declined.text
    paid, billed = statuses(app, account)
    assert (paid[-1], billed[-1]) == ("failed", "open")


def test_the_e_mail_links_to_the_page_and_another_account_cannot_open_it(app: App, visitor: Visitor) -> None:
    account = overdue_with_a_confirming_card(app)
    owner = Visitor(app)
    owner.sign_in("owner@demo-pro.test")
    owner.pay({"action": "all"})
    with app.engine.connect() as conn:
        asked = outbox.c.kind == "payment_action_required"
        (data,) = conn.execute(select(outbox.c.data).where(outbox.c.account_id == account, asked)).scalars()
    link = f"/billing/payments/{json.loads(data)['payment']}/confirm"
    assert "Your bank asks you to confirm" in owner.get(link).text

    visitor.sign_in("owner@demo-business.test")
    assert visitor.get(link).status_code == 404
    assert visitor.post(link, {"answer": "approve"}).status_code == 404
    assert statuses(app, account)[0][-1] == "action_required"
