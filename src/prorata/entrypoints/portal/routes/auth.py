"""Sign-in with e-mail and password, sign-out, and the language switch (rules P6, X5)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from prorata.adapters.db.web_sessions import SESSION_LIFETIME, authenticate, close_session, open_session, wall_clock
from prorata.entrypoints.portal import i18n
from prorata.entrypoints.portal.pages import (
    CSRF_COOKIE,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    Form,
    posted,
    redirect,
    render,
    set_cookie,
    visit,
)

router = APIRouter()


@router.get("/", response_model=None)
def home(request: Request) -> Response:
    found = visit(request)
    return redirect("/billing" if found.session is not None else "/signin")


@router.get("/signin", response_class=HTMLResponse)
def sign_in_page(request: Request) -> Response:
    found = visit(request)
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(found, "signin.html", csrf=token)
    set_cookie(request, response, CSRF_COOKIE, token)
    return response


@router.post("/signin", response_model=None)
def sign_in(request: Request, form: Form) -> Response:
    found = visit(request)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get("csrf")
    if not cookie or not isinstance(sent, str) or not secrets.compare_digest(sent, cookie):
        raise HTTPException(status_code=403, detail="csrf")
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    user_id = authenticate(found.app.engine, email, password)
    if user_id is None:
        i18n.use_language(found.language)
        return render(found, "signin.html", 400, email=email, csrf=cookie,
                      errors={"password": i18n.gettext_("Wrong e-mail or password.")})  # fmt: skip
    token = open_session(found.app.engine, user_id, found.language, wall_clock())
    response = redirect("/billing")
    set_cookie(request, response, SESSION_COOKIE, token, int(SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/signout", response_model=None)
def sign_out(request: Request, form: Form) -> Response:
    found = posted(request, form)
    close_session(found.app.engine, request.cookies[SESSION_COOKIE])
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
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = redirect(target)
    set_cookie(request, response, LANGUAGE_COOKIE, language, 365 * 24 * 3600)
    return response
