"""The console's sign-in, sign-out and language switch.

The sign-in form carries a double-submit CSRF token from a cookie (no session exists yet). A throttled attempt is
answered 429 with ``Retry-After`` and checks no password (``services/operators.py``).
"""

from __future__ import annotations

import math
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from prorata.adapters.db.operator_store import close_operator_session, open_operator_session, set_operator_language
from prorata.adapters.db.web_sessions import SESSION_LIFETIME, wall_clock
from prorata.entrypoints.cli.demo import DEMO_OPERATOR
from prorata.entrypoints.console.pages import (
    CSRF_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    Desk,
    desk,
    posted,
    render,
)
from prorata.entrypoints.portal import i18n
from prorata.entrypoints.web.forms import (
    LANGUAGE_COOKIE,
    Form,
    client_address,
    form_text,
    language_chosen,
    redirect,
    set_cookie,
)
from prorata.services.operators import OperatorSignIn, operator_sign_in

router = APIRouter()


def _sign_in_page(found: Desk, status: int = 200, **context: object) -> Response:
    token = found.request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    # a demonstration installation (its clock simulated, as `prorata demo` makes it) shows its operator's sign-in
    demo = DEMO_OPERATOR if found.app.clock.simulated else None
    response = render(found, "signin.html", status, csrf=token, demo=demo, **context)
    set_cookie(found.request, response, CSRF_COOKIE, token, path=PREFIX)
    return response


@router.get("/signin", response_model=None)
def sign_in_page(request: Request) -> Response:
    found = desk(request)
    if found.session is not None:
        return redirect(f"{PREFIX}/")
    return _sign_in_page(found)


@router.post("/signin", response_model=None)
def sign_in_post(request: Request, form: Form) -> Response:
    found = desk(request)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get("csrf")
    if not cookie or not isinstance(sent, str) or not secrets.compare_digest(sent, cookie):
        raise HTTPException(status_code=403, detail="csrf")
    email = form_text(form, "email", 320)
    app = found.app
    result = operator_sign_in(OperatorSignIn(email, form_text(form, "password", 4096), client_address(request)),
                              uow=app.uow, hasher=app.hasher, now=wall_clock())  # fmt: skip
    i18n.use_language(found.language)
    if result.retry_after is not None:
        seconds = max(1, math.ceil(result.retry_after.total_seconds()))
        minutes = max(1, math.ceil(seconds / 60))
        message = i18n.ngettext_("Too many sign-in attempts. Try again in %(num)d minute.",
                                 "Too many sign-in attempts. Try again in %(num)d minutes.", minutes)  # fmt: skip
        refused = _sign_in_page(found, 429, email=email, errors={"password": message})
        refused.headers["Retry-After"] = str(seconds)
        return refused
    if result.operator is None:
        return _sign_in_page(found, 400, email=email, errors={"password": i18n.gettext_("Wrong e-mail or password.")})
    # the language chosen on this browser (the switch before sign-in), else the operator's own
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    language = chosen if chosen in i18n.LANGUAGES else result.operator.language
    token = open_operator_session(app.engine, result.operator.id, language, wall_clock())
    response = redirect(f"{PREFIX}/")
    set_cookie(request, response, SESSION_COOKIE, token, int(SESSION_LIFETIME.total_seconds()), path=PREFIX)
    response.delete_cookie(CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/signout", response_model=None)
def sign_out(request: Request, form: Form) -> Response:
    found = posted(request, form)
    close_operator_session(found.app.engine, found.operator.token_hash)
    response = redirect(f"{PREFIX}/signin")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/language/{language}", response_model=None)
def switch_language(request: Request, language: str, next: str = "/operator/") -> RedirectResponse:
    """The language is kept in the operator's session (and in the shared cookie before sign-in)."""
    if language not in i18n.LANGUAGES:
        raise HTTPException(status_code=404)
    found = desk(request)
    if found.session is not None:
        set_operator_language(found.app.engine, found.session.token_hash, language)
    return language_chosen(request, language, next, f"{PREFIX}/")
