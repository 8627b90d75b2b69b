"""What every page shares: the visitor's session and language, CSRF checks, rendering, redirects and the refusal
of members where only buyers may go (rule P6).

Forms are checked against the session's CSRF token (signed-in pages) or a CSRF cookie (the sign-in form, before any
session exists); a POST without the right token is refused with 403 and changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from prorata.adapters.db.web_sessions import WebSession, find_session, save_session, wall_clock
from prorata.bootstrap import App
from prorata.domain.engine import BUYER_ROLES
from prorata.entrypoints.portal import i18n

# the web plumbing shared with the console, which the portal's routes import from here
from prorata.entrypoints.web.forms import LANGUAGE_COOKIE as LANGUAGE_COOKIE
from prorata.entrypoints.web.forms import Form as Form
from prorata.entrypoints.web.forms import RowId as RowId
from prorata.entrypoints.web.forms import client_address as client_address
from prorata.entrypoints.web.forms import form_id as form_id
from prorata.entrypoints.web.forms import leave
from prorata.entrypoints.web.forms import redirect as redirect
from prorata.entrypoints.web.forms import set_cookie as set_cookie
from prorata.entrypoints.web.templates import compile_all, environment, page_language
from prorata.services.renew_account import RenewAccount, renew_account

SESSION_COOKIE = "prorata_session"
CSRF_COOKIE = "prorata_csrf"  # before sign-in only: the double-submit token of the sign-in form

# Built once per process, every template compiled when the portal is made (``compile_templates``)
TEMPLATES = environment("prorata.entrypoints.portal")
TEMPLATES.globals.update(
    tax_label=i18n.tax_label,
    total_with_tax_label=i18n.total_with_tax_label,
    seats=i18n.seats,
)


def compile_templates() -> None:
    compile_all(TEMPLATES)


@dataclass
class Visit:
    """One request: the application, the signed-in session (if any) and the page language."""

    request: Request
    app: App
    session: WebSession | None
    language: str

    @property
    def signed_in(self) -> WebSession:
        assert self.session is not None
        return self.session

    @property
    def is_buyer(self) -> bool:
        return self.session is not None and self.session.role in BUYER_ROLES

    def save(self) -> None:
        save_session(self.app.engine, self.signed_in)


def _app(request: Request) -> App:
    app: App = request.app.state.prorata
    return app


def visit(request: Request) -> Visit:
    app = _app(request)
    app.clock.refresh_if_simulated()  # the operator may have moved the simulation clock since the last request
    token = request.cookies.get(SESSION_COOKIE)
    session = find_session(app.engine, token, wall_clock()) if token else None
    language = page_language(request, session.language if session is not None else None)
    return Visit(request, app, session, language)


def member_visit(request: Request, *, renew: bool = True) -> Visit:
    """A signed-in visit; others are sent to the sign-in page. An account whose period has ended is renewed first,
    as the billing run would renew it (rule C7), so no page shows it, or prices a cart on it, behind the run.
    ``renew`` False: the page reads the account itself and renews it when it finds it due (Current Plans)."""
    found = visit(request)
    if found.session is None:
        leave("/signin")
    if not renew:
        return found
    app = found.app
    renew_account(RenewAccount(found.session.account_id, f"portal:{found.session.email}"), uow=app.uow,
                  clock=app.clock, catalog=app.catalog, tax=app.tax)  # fmt: skip
    return found


def buyer_visit(request: Request) -> Visit:
    """Rule P6: only the owner or an admin reaches purchases; a member is told so."""
    found = member_visit(request)
    if not found.is_buyer:
        raise HTTPException(status_code=403, detail="P6")
    return found


def posted(request: Request, form: FormData, *, buyer: bool = False) -> Visit:
    """A signed-in form post with its CSRF token checked (403 without it)."""
    found = buyer_visit(request) if buyer else member_visit(request)
    sent = form.get("csrf")
    if not isinstance(sent, str) or not secrets.compare_digest(sent, found.signed_in.csrf_token):
        raise HTTPException(status_code=403, detail="csrf")
    return found


def render(found: Visit, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    i18n.use_language(found.language)
    i18n.use_seller_country(found.app.tax.seller.country)
    session = found.session
    context.setdefault("errors", {})
    csrf = context.pop("csrf", None) or (session.csrf_token if session is not None else "")
    html = TEMPLATES.get_template(template).render(
        visit=found,
        session=session,
        language=found.language,
        csrf=csrf,
        cart_count=len(session.state.get("cart", [])) if session is not None else 0,
        path=found.request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def cookie_form(found: Visit, template: str, status: int = 200, **context: object) -> Response:
    """A page with a form sent before sign-in: its CSRF token is a cookie's double."""
    token = found.request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(found, template, status, csrf=token, **context)
    set_cookie(found.request, response, CSRF_COOKIE, token)
    return response


def check_cookie_csrf(request: Request, form: Form) -> str:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get("csrf")
    if not cookie or not isinstance(sent, str) or not secrets.compare_digest(sent, cookie):
        raise HTTPException(status_code=403, detail="csrf")
    return cookie
