"""An account holding a product its catalog no longer has (the operator removed it from the catalog file): every
portal page answers, Current Plans shows the subscription as it is held with why nothing can be changed online, and
the pages that buy or change lead back there (rules I7, X4: no crash, and no change the engine could not price). The
billing run lists such an account for the operator (tests/integration/test_billing_run.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from prorata.adapters.db.schema import subscriptions
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.order_page import text_by_id

PAGES = ["/billing", "/billing/invoices", "/billing/information", "/users", "/cart", "/account/password"]
BUYING = ["/billing/edit", "/billing/upgrade", "/billing/upgrade/business_plus", "/billing/addons/add/webinar_500"]
REASON = {
    "en": "Your subscription includes a product that is no longer offered: contact your account manager to change it.",
    "pl": "Twoja subskrypcja obejmuje produkt, który nie jest już oferowany: w sprawie zmian skontaktuj się ze swoim "
    "opiekunem klienta.",
}


def retire(visitor: Visitor, product: str) -> int:
    business = account_id(visitor.app, "demo-business")
    with visitor.app.engine.begin() as conn:
        return int(
            conn.execute(
                update(subscriptions)
                .where(subscriptions.c.account_id == business, subscriptions.c.product == product)
                .values(product="legacy_meetings")
                .returning(subscriptions.c.id)
            ).scalar_one()
        )


@pytest.mark.parametrize("language", ["en", "pl"])
@pytest.mark.parametrize("product", ["large_meetings_500", "business"])
def test_every_page_answers_and_current_plans_says_why_nothing_can_be_changed(
    visitor: Visitor, language: str, product: str
) -> None:
    sub_id = retire(visitor, product)
    visitor.sign_in("owner@demo-business.test")
    visitor.language(language)

    answers = {url: visitor.get(url) for url in PAGES}

    assert {url: page.status_code for url, page in answers.items()} == dict.fromkeys(PAGES, 200)
    plans = answers["/billing"]
    assert text_by_id(plans.text, "locked-reason") == "i " + REASON[language]
    assert f'id="retired-{sub_id}"' in plans.text
    assert "legacy_meetings" in plans.text
    assert 'id="edit-plan" href' not in plans.text  # no action is offered
    assert 'id="upgrade-account" href' not in plans.text
    assert "/billing/addons/add/" not in plans.text
    for url in BUYING:
        assert visitor.get(url).url.path == "/billing", url
    assert visitor.post("/billing/cancel", {"with_addons": "1"}).url.path == "/billing"
