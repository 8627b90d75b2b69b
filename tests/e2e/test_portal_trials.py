"""Free trials in the portal, in Polish and English, on SQLite and PostgreSQL (rules TR1, X4, X5): the plan card and
the plan's form offer the trial to a Basic account, the cart and the order summary say nothing is charged now and
when the first charge comes, the confirmation says the trial started, Current Plans shows until when it runs; a
second trial is refused beside its box."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from prorata.adapters.db.queries import invoice_views
from prorata.adapters.db.schema import trials
from prorata.entrypoints.portal.i18n import day
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.test_portal import checkout, held, text_of

WORDS = {
    "en": {"card": "14-day free trial", "box": "Start with the 14-day free trial", "item": "14-day free trial",
           "now": "Free trial: nothing is charged now. The first invoice is issued and charged on {date}",
           "started": "Your free trial has started: nothing was charged. The first invoice is issued and charged "
           "on {date}", "used": "This account has had its free trial, and a trial is offered once per account "
           "(rule TR1). You can buy the plan without one."},
    "pl": {"card": "14-dniowy bezpłatny okres próbny", "box": "Zacznij od 14-dniowego bezpłatnego okresu próbnego",
           "item": "14-dniowy bezpłatny okres próbny",
           "now": "Bezpłatny okres próbny: teraz nic nie jest pobierane. Pierwsza faktura zostanie wystawiona i "
           "opłacona {date}", "started": "Twój bezpłatny okres próbny się rozpoczął: nic nie zostało pobrane. "
           "Pierwsza faktura zostanie wystawiona i opłacona {date}",
           "used": "To konto skorzystało już z bezpłatnego okresu próbnego, a okres próbny przysługuje raz na konto "
           "(zasada TR1). Możesz kupić plan bez niego."},
}  # fmt: skip
LANGUAGES = pytest.mark.parametrize("language", ["en", "pl"])
TRIAL_END = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)  # midnight of Nov 29 in Warsaw, 14 days after Nov 15


@LANGUAGES
def test_a_basic_account_starts_a_free_trial_and_is_told_when_the_first_charge_comes(
    visitor: Visitor, language: str
) -> None:
    # rule TR1: the card, the form, the cart, the summary and the confirmation, and nothing charged
    words = WORDS[language]
    visitor.sign_in("owner@demo-basic.test")
    visitor.language(language)
    date = day(TRIAL_END, "Europe/Warsaw", language)

    upgrade = visitor.get("/billing/upgrade")
    form = visitor.get("/billing/upgrade/pro")
    products = visitor.post("/billing/upgrade/pro", {"licenses": "3", "interval": "month", "trial": "1"})
    cart = visitor.get("/cart")
    summary, placed = checkout(visitor)

    assert words["card"] in text_of(upgrade, "trial-pro")
    assert words["box"] in text_of(form, "trial-choice")
    assert products.url.path == "/checkout/products"
    assert words["item"] in cart.text
    assert text_of(cart, "trial-note").startswith(words["now"].format(date=date))
    assert text_of(summary, "trial-note").startswith(words["now"].format(date=date))
    assert text_of(placed, "trial-note").startswith(words["started"].format(date=date))
    assert held(visitor.app, "demo-basic") == [("pro", 3, "month")]
    with visitor.app.engine.connect() as conn:
        assert invoice_views(conn, account_id(visitor.app, "demo-basic")) == []
        assert conn.execute(select(trials.c.ends_at)).scalar_one() == TRIAL_END
    assert 'id="trial-' not in visitor.get("/billing/upgrade").text  # a paid plan is held: no trial offered
    assert date in text_of(visitor.get("/billing"), "plan-trial")  # Current Plans: the trial and its end


@LANGUAGES
def test_a_second_trial_is_refused_beside_its_box_and_nothing_changes(visitor: Visitor, language: str) -> None:
    # rules TR1, X4: the account had its trial (it ended); the cards offer none, and a forged box is refused
    words = WORDS[language]
    basic = account_id(visitor.app, "demo-basic")
    with visitor.app.engine.begin() as conn:
        conn.execute(insert(trials).values(account_id=basic, product="pro", started_at=datetime(2026, 1, 1, tzinfo=UTC),
                                           ends_at=datetime(2026, 1, 15, tzinfo=UTC)))  # fmt: skip
    visitor.sign_in("owner@demo-basic.test")
    visitor.language(language)

    upgrade = visitor.get("/billing/upgrade")
    refused = visitor.post("/billing/upgrade/pro", {"licenses": "3", "interval": "month", "trial": "1"})

    assert 'id="trial-pro"' not in upgrade.text
    assert refused.status_code == 400
    assert text_of(refused, "error-trial") == words["used"]
    assert visitor.get("/cart").url.path == "/cart"
    assert held(visitor.app, "demo-basic") == []
