"""User Management -> Users as a customer reads it (rules U1, U2, A7, X5), in both languages, on SQLite and
PostgreSQL: each role in the page's language, Assign offered only where assigning can succeed, and the refusal of an
add-on seat in the page's language, naming seats.

``demo-business``: Business x 12 (7 assigned: the owner and User1-User6) and Large Meetings 500 x 2 (the owner and
User1); User7 and User8 are Basic.
"""

from __future__ import annotations

import pytest

from prorata.adapters.db.queries import subscription_views, user_views
from prorata.services.assign_license import Assignment, unassign_license
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.order_page import Node, parse

BUSINESS = "owner@demo-business.test"
ROLES = {"en": ("Owner", "Member"), "pl": ("Właściciel", "Członek")}
NO_FREE_SEAT = {"en": "No free seat", "pl": "Brak wolnego miejsca"}
NEEDS_LICENSE = {"en": "Needs a plan license first", "pl": "Wymaga licencji planu"}
SEATS_TAKEN = {
    "en": "All seats of this add-on are assigned: buy more, or unassign one first.",
    "pl": "Wszystkie miejsca w tym dodatku są przypisane: dokup miejsca albo najpierw cofnij jedno przypisanie.",
}


def row(page: Node, email: str) -> Node:
    found = next((n for n in page.all("tr") if n.attrs.get("data-email") == email), None)
    assert found is not None, f"no row for {email}"
    return found


def offers(page: Node, email: str, product: str) -> str:
    """What the user's cell for ``product`` offers: "assign", "unassign", or the note said instead."""
    for node in row(page, email).walk():
        if node.attrs.get("data-product") == product:
            return node.attrs.get("value") or node.text
    return ""


def ids(visitor: Visitor) -> tuple[int, dict[str, int], dict[str, int]]:
    """demo-business's id, its subscriptions by product and its users by e-mail."""
    account = account_id(visitor.app, "demo-business")
    with visitor.app.engine.connect() as conn:
        subs = {s.product: s.id for s in subscription_views(conn, account)}
        people = {u.email: u.id for u in user_views(conn, account)}
    return account, subs, people


@pytest.mark.parametrize("language", ["en", "pl"])
def test_roles_read_in_the_page_s_language(visitor: Visitor, language: str) -> None:
    # rule X5: the page showed the stored words "owner" and "member" in both languages
    visitor.sign_in(BUSINESS)
    visitor.language(language)

    page = parse(visitor.get("/users").text)

    owner, member = ROLES[language]
    assert row(page, BUSINESS).all("td", "role")[0].text == owner
    assert row(page, "user7@demo-business.test").all("td", "role")[0].text == member


@pytest.mark.parametrize("language", ["en", "pl"])
def test_assign_is_offered_only_where_it_can_succeed(visitor: Visitor, language: str) -> None:
    # rules U1, A7: both Large Meetings seats are taken, so no user is offered one; Basic users are offered a plan
    # license (5 are free)
    visitor.sign_in(BUSINESS)
    visitor.language(language)

    page = parse(visitor.get("/users").text)

    assert offers(page, "user7@demo-business.test", "business") == "assign"
    assert offers(page, "user1@demo-business.test", "large_meetings_500") == "unassign"
    for n in range(2, 9):
        assert offers(page, f"user{n}@demo-business.test", "large_meetings_500") == NO_FREE_SEAT[language]

    # a seat freed: offered to every Licensed user without one, never to a Basic user (rule A7)
    account, subs, people = ids(visitor)
    app = visitor.app
    unassign_license(Assignment(account, subs["large_meetings_500"], people["user1@demo-business.test"]), uow=app.uow,
                     clock=app.clock, catalog=app.catalog, actor="test")  # fmt: skip
    page = parse(visitor.get("/users").text)
    for n in range(1, 7):
        assert offers(page, f"user{n}@demo-business.test", "large_meetings_500") == "assign"
    for n in (7, 8):
        assert offers(page, f"user{n}@demo-business.test", "large_meetings_500") == NEEDS_LICENSE[language]


@pytest.mark.parametrize("language", ["en", "pl"])
def test_an_add_on_seat_refused_reads_in_the_page_s_language_and_names_seats(visitor: Visitor, language: str) -> None:
    # rules U2, X5: a page from before the last seat was taken asks for one more; the refusal speaks of seats
    visitor.sign_in(BUSINESS)
    visitor.language(language)
    visitor.get("/users")
    _account, subs, people = ids(visitor)

    form = {"subscription": str(subs["large_meetings_500"]), "user": str(people["user2@demo-business.test"])}

    refused = visitor.post("/users/assignments", {**form, "action": "assign"})

    assert refused.status_code == 400
    error = parse(refused.text).find("assignment-error")
    assert error is not None
    assert error.text == SEATS_TAKEN[language]
