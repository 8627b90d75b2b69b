"""User Management -> Users: assign and unassign plan licenses and add-on seats (rules U1, U2, A7, L4, L5)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from prorata.adapters.db.queries import SubscriptionView, UserView, account_view, subscription_views, user_views
from prorata.domain.catalog import Catalog, Unit
from prorata.domain.errors import ProrataError
from prorata.entrypoints.portal import i18n
from prorata.entrypoints.portal.pages import Form, Visit, form_id, member_visit, posted, redirect, render
from prorata.entrypoints.portal.refusals import message_of
from prorata.services.assign_license import Assignment, assign_license, unassign_license

router = APIRouter()


def _users(found: Visit, status: int = 200, **context: object) -> Response:
    catalog = found.app.catalog
    with found.app.engine.connect() as conn:
        account = account_view(conn, found.signed_in.account_id)
        people = user_views(conn, found.signed_in.account_id)
        # a product the catalog no longer has is not offered for assignment (its licenses stay as they are)
        subs = [s for s in subscription_views(conn, found.signed_in.account_id)
                if s.product in catalog.products and catalog.products[s.product].unit is Unit.PER_USER]  # fmt: skip
    # the plan first, then its add-ons: a plan license is what makes a user Licensed (A7)
    subs.sort(key=lambda s: (not catalog.products[s.product].is_plan, s.id))
    zone = account.time_zone if account is not None else "UTC"  # the dates of scheduled changes are the account's
    return render(found, "users.html", status, people=people, subs=subs, catalog=catalog, zone=zone,
                  why_not=_why_not(people, subs, catalog), **context)  # fmt: skip


def _why_not(people: list[UserView], subs: list[SubscriptionView], catalog: Catalog) -> dict[tuple[int, int], str]:
    """(user, subscription) -> why Assign would be refused, for each pair the user does not hold: the page offers
    Assign only where it can succeed (rules U1, A7, L4). "none_free": no license or seat is free (or free only until a
    scheduled reduction); "needs_license": add-on seats go to Licensed users. Pairs missing here can be assigned."""
    plans = {s.id for s in subs if catalog.products[s.product].is_plan}
    refused: dict[tuple[int, int], str] = {}
    for person in people:
        licensed = bool(plans.intersection(person.subscriptions))
        for sub in subs:
            if sub.id in person.subscriptions:
                continue
            if sub.assignable <= 0:
                refused[person.id, sub.id] = "none_free"
            elif sub.id not in plans and not licensed:
                refused[person.id, sub.id] = "needs_license"
    return refused


@router.get("/users", response_class=HTMLResponse)
def users(request: Request) -> Response:
    return _users(member_visit(request))


@router.post("/users/assignments", response_model=None)
def change_assignment(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    subscription, user = form_id(form.get("subscription")), form_id(form.get("user"))
    if subscription is None or user is None:  # not a form this page drew
        return _users(found, 400, error=i18n.gettext_("The page was out of date; choose again."))
    command = Assignment(found.signed_in.account_id, subscription, user)
    act = assign_license if form.get("action") == "assign" else unassign_license
    try:
        act(command, uow=found.app.uow, clock=found.app.clock, catalog=found.app.catalog, actor=found.signed_in.email)
    except ProrataError as error:
        return _users(found, 400, error=message_of(error), error_user=command.user_id)
    return redirect("/users")
