"""Sign-in with e-mail and password, the choice of account, passwords (forgotten, set by link, changed), sign-out
and the language switch (rules P6, X5).

The sign-in form and the forms before it (a forgotten password, a link's new password) carry a double-submit CSRF
token from a cookie, as no session exists yet; every form after sign-in carries the session's.
"""

from __future__ import annotations

import math
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from prorata.adapters.db.web_sessions import (
    SESSION_LIFETIME,
    choose_account,
    close_session,
    find_person_session,
    open_session,
    wall_clock,
)
from prorata.domain.errors import ProrataError
from prorata.entrypoints.cli.demo import DEMO, DEMO_PASSWORD
from prorata.entrypoints.portal import i18n
from prorata.entrypoints.portal.pages import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Form,
    Visit,
    check_cookie_csrf,
    client_address,
    cookie_form,
    form_id,
    member_visit,
    posted,
    redirect,
    render,
    set_cookie,
    visit,
)
from prorata.entrypoints.portal.refusals import message_of
from prorata.entrypoints.web.forms import language_chosen
from prorata.services.passwords import (
    ChangePassword,
    RequestReset,
    SetPassword,
    change_password,
    link_purpose,
    request_reset,
    set_password_with_link,
)
from prorata.services.sign_in import SignIn, sign_in

router = APIRouter()
_TOKEN_LENGTH = 64  # a link's token is 43 characters; anything much longer is no link


@router.get("/", response_model=None)
def home(request: Request) -> Response:
    """The first page: a signed-in visitor goes on to Billing; anyone else reads what Prorata is, and signs in."""
    found = visit(request)
    if found.session is not None:
        return redirect("/billing")
    return render(found, "home.html")


def _demo_logins(found: Visit) -> tuple[tuple[str, ...], str] | None:
    """On a demonstration installation (its clock simulated, as `prorata demo` makes it): the demo owners' e-mails
    and their password, for the sign-in page to show. A production installation never runs on a simulated clock."""
    if not found.app.clock.simulated:
        return None
    return tuple(account[5] for account in DEMO), DEMO_PASSWORD


def _text(form: Form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


@router.get("/signin", response_class=HTMLResponse)
def sign_in_page(request: Request, done: str = "") -> Response:
    found = visit(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token and found.session is None and find_person_session(found.app.engine, token, wall_clock()) is not None:
        return redirect("/signin/account")  # signed in, the account still to be chosen
    notice = i18n.gettext_("Your password is set: sign in with it.") if done == "password" else None
    return cookie_form(found, "signin.html", notice=notice, demo=_demo_logins(found))


@router.post("/signin", response_model=None)
def sign_in_post(request: Request, form: Form) -> Response:
    found = visit(request)
    cookie = check_cookie_csrf(request, form)
    email, password = _text(form, "email")[:320], _text(form, "password")
    app = found.app
    result = sign_in(SignIn(email, password, client_address(request), found.language), uow=app.uow, hasher=app.hasher,
                     now=wall_clock())  # fmt: skip
    i18n.use_language(found.language)
    if result.retry_after is not None:
        seconds = max(1, math.ceil(result.retry_after.total_seconds()))
        minutes = max(1, math.ceil(seconds / 60))
        message = i18n.ngettext_(
            "Too many sign-in attempts. Try again in %(num)d minute, or set a new password.",
            "Too many sign-in attempts. Try again in %(num)d minutes, or set a new password.",
            minutes,
        )
        refused = render(found, "signin.html", 429, email=email, csrf=cookie, errors={"password": message},
                         demo=_demo_logins(found))  # fmt: skip
        refused.headers["Retry-After"] = str(seconds)
        return refused
    if result.person_id is None:
        return render(found, "signin.html", 400, email=email, csrf=cookie, demo=_demo_logins(found),
                      errors={"password": i18n.gettext_("Wrong e-mail or password.")})  # fmt: skip
    only = result.memberships[0].user_id if len(result.memberships) == 1 else None
    token = open_session(app.engine, result.person_id, only, found.language, wall_clock())
    response = redirect("/billing" if only is not None else "/signin/account")
    set_cookie(request, response, SESSION_COOKIE, token, int(SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


def _person_session(request: Request, found: Visit) -> tuple[str, int, str]:
    token = request.cookies.get(SESSION_COOKIE)
    held = find_person_session(found.app.engine, token, wall_clock()) if token else None
    if held is None:
        raise HTTPException(status_code=303, headers={"Location": "/signin"})
    return held.token_hash, held.person_id, held.csrf_token


@router.get("/signin/account", response_class=HTMLResponse)
def choose_account_page(request: Request) -> Response:
    """A person who belongs to several accounts chooses one (and may switch later)."""
    found = visit(request)
    _hash, person_id, csrf = _person_session(request, found)
    with found.app.uow() as tx:
        memberships = tx.memberships(person_id)
    return render(found, "choose_account.html", memberships=memberships, csrf=csrf)


@router.post("/signin/account", response_model=None)
def choose_account_post(request: Request, form: Form) -> Response:
    found = visit(request)
    token_hash, person_id, csrf = _person_session(request, found)
    sent = form.get("csrf")
    if not isinstance(sent, str) or not secrets.compare_digest(sent, csrf):
        raise HTTPException(status_code=403, detail="csrf")
    user_id = form_id(form.get("user"))
    if user_id is None or not choose_account(found.app.engine, token_hash, person_id, user_id):
        with found.app.uow() as tx:
            memberships = tx.memberships(person_id)
        return render(found, "choose_account.html", 400, memberships=memberships, csrf=csrf,
                      errors={"user": i18n.gettext_("Choose one of your accounts.")})  # fmt: skip
    return redirect("/billing")


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_page(request: Request) -> Response:
    return cookie_form(visit(request), "password_forgot.html")


@router.post("/password/forgot", response_model=None)
def forgot_post(request: Request, form: Form) -> Response:
    found = visit(request)
    cookie = check_cookie_csrf(request, form)
    email = _text(form, "email")[:320]
    if "@" not in email:
        return render(found, "password_forgot.html", 400, email=email, csrf=cookie,
                      errors={"email": i18n.gettext_("Enter your e-mail address.")})  # fmt: skip
    request_reset(RequestReset(email, found.language), uow=found.app.uow, now=wall_clock())
    # the same answer whether or not the address belongs to anybody
    return render(found, "password_forgot.html", csrf=cookie, sent=True, email=email)


def _link_page(found: Visit, token: str, status: int = 200, **context: object) -> Response:
    purpose = link_purpose(token, uow=found.app.uow, now=wall_clock()) if len(token) <= _TOKEN_LENGTH else None
    if purpose is None:
        return render(found, "password_set.html", 410, dead=True)
    return cookie_form(found, "password_set.html", status, purpose=purpose, token=token, **context)


@router.get("/password/set/{token}", response_class=HTMLResponse)
def set_password_page(request: Request, token: str) -> Response:
    return _link_page(visit(request), token)


@router.post("/password/set/{token}", response_model=None)
def set_password_post(request: Request, token: str, form: Form) -> Response:
    found = visit(request)
    check_cookie_csrf(request, form)
    command = SetPassword(token[:_TOKEN_LENGTH], _text(form, "password"), _text(form, "repeat"), found.language)
    try:
        set_password_with_link(command, uow=found.app.uow, hasher=found.app.hasher, now=wall_clock())
    except ProrataError as error:
        if error.code == "password.link_invalid":
            return render(found, "password_set.html", 410, dead=True)
        return _link_page(found, token, 400, errors={error.field or "password": message_of(error)})
    response = redirect("/signin?done=password")
    response.delete_cookie(SESSION_COOKIE, path="/")  # the person's sessions ended with the new password
    return response


@router.get("/account/password", response_class=HTMLResponse)
def change_password_page(request: Request, done: str = "") -> Response:
    found = member_visit(request)
    return render(found, "password_change.html", changed=done == "1")


@router.post("/account/password", response_model=None)
def change_password_post(request: Request, form: Form) -> Response:
    found = posted(request, form)
    session = found.signed_in
    command = ChangePassword(session.person_id, _text(form, "current"), _text(form, "password"), _text(form, "repeat"),
                             session.token_hash, client_address(request), found.language)  # fmt: skip
    try:
        change_password(command, uow=found.app.uow, hasher=found.app.hasher, now=wall_clock())
    except ProrataError as error:
        status = 429 if error.code == "password.locked" else 400
        return render(found, "password_change.html", status, errors={error.field or "password": message_of(error)})
    return redirect("/account/password?done=1")


@router.post("/signout", response_model=None)
def sign_out(request: Request, form: Form) -> Response:
    found = visit(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    held = find_person_session(found.app.engine, token, wall_clock()) if token else None
    sent = form.get("csrf")
    if held is None or not isinstance(sent, str) or not secrets.compare_digest(sent, held.csrf_token):
        raise HTTPException(status_code=403, detail="csrf")
    close_session(found.app.engine, token)
    response = redirect("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/language/{language}", response_model=None)
def switch_language(request: Request, language: str, next: str = "/") -> RedirectResponse:
    """Rule X5: the language is kept in the session (and in a cookie before sign-in)."""
    if language not in i18n.LANGUAGES:
        raise HTTPException(status_code=404)
    found = visit(request)
    if found.session is not None:
        found.session.language = language
        found.save()
    return language_chosen(request, language, next, "/")
