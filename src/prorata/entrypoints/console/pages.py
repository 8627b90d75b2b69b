"""What every console page shares: the operator's session and language, CSRF checks and rendering.

The console shares the portal's web plumbing, not its pages: the same security headers (``web.guard``), the same
gettext catalogs and formatting (``portal.i18n``), the same form and cookie helpers (``web.forms``). Its sessions are
its own (``adapters/db/operator_store.py``) under a cookie of its own, sent only to ``/operator``: a customer's session
never opens a console page, and an operator's never opens the portal.

Every page but the sign-in needs a signed-in operator (others are sent to the sign-in page); every form post carries
the session's CSRF token (403 without it, nothing changed). The sign-in form, before any session exists, carries a
double-submit token from a cookie of its own.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from babel.numbers import format_decimal
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from prorata.adapters.db.operator_store import OperatorSession, find_operator_session
from prorata.adapters.db.queries import InvoiceLineView
from prorata.adapters.db.web_sessions import wall_clock
from prorata.adapters.documents.labels import described, quantity_text
from prorata.bootstrap import App
from prorata.domain.catalog import Catalog
from prorata.entrypoints.portal import i18n
from prorata.entrypoints.web.forms import leave
from prorata.entrypoints.web.templates import compile_all, environment, page_language
from prorata.services.formatting import LOCALES
from prorata.services.invoice_documents import counted_as
from prorata.services.operators import actor

PREFIX = "/operator"
SESSION_COOKIE = "prorata_operator"
CSRF_COOKIE = "prorata_operator_csrf"  # before sign-in only: the double-submit token of the sign-in form

TEMPLATES = environment("prorata.entrypoints.console")
TEMPLATES.globals["prefix"] = PREFIX


def line_words(line: InvoiceLineView, catalog: Catalog, language: str) -> str:
    """An invoice line in the page's language from its fields (rule I5), as the portal writes it; a discount line
    (rule DC2) with its code, as the invoice's PDF writes it (``Discount SAVE20: Business, 10 licenses, 16 of 30
    days``)."""
    if line.kind == "discount":
        product = catalog.products.get(line.product)
        name = product.name(language) if product is not None else line.product
        quantity = quantity_text(line.quantity, counted_as(product) if product is not None else "", language)
        return described("discount", name, quantity, line.used, line.whole, catalog.granularity, language,
                         discount=line.discount_code or "")  # fmt: skip
    return i18n.catalog_line_text(line.kind, line.product, line.quantity, line.used, line.whole, catalog, language)


def number(value: float, digits: int = 1) -> str:
    """A measured figure (seconds a run took) as the page's language writes numbers."""
    return str(
        format_decimal(round(value, digits), format=f"#,##0.{'0' * digits}", locale=LOCALES[i18n.current_language()])
    )


TEMPLATES.globals["line_words"] = line_words
TEMPLATES.globals["number"] = number


def compile_templates() -> None:
    """Every template compiled before the first request, as the portal's are."""
    compile_all(TEMPLATES)


@dataclass
class Desk:
    """One request to the console: the application, the operator's session (if any) and the page language."""

    request: Request
    app: App
    session: OperatorSession | None
    language: str

    @property
    def operator(self) -> OperatorSession:
        assert self.session is not None
        return self.session

    @property
    def actor(self) -> str:
        """How the audit log names the operator acting on this request."""
        return actor(self.operator.email)


def desk(request: Request) -> Desk:
    app: App = request.app.state.prorata
    app.clock.refresh_if_simulated()
    token = request.cookies.get(SESSION_COOKIE)
    session = find_operator_session(app.engine, token, wall_clock()) if token else None
    language = page_language(request, session.language if session is not None else None)
    return Desk(request, app, session, language)


def operator_desk(request: Request) -> Desk:
    """A signed-in operator's request; anyone else is sent to the console's sign-in page."""
    found = desk(request)
    if found.session is None:
        leave(f"{PREFIX}/signin")
    return found


def posted(request: Request, form: FormData) -> Desk:
    """A signed-in operator's form post with its CSRF token checked (403 without it, nothing changed)."""
    found = operator_desk(request)
    sent = form.get("csrf")
    if not isinstance(sent, str) or not secrets.compare_digest(sent, found.operator.csrf_token):
        raise HTTPException(status_code=403, detail="csrf")
    return found


def render(found: Desk, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    i18n.use_language(found.language)
    i18n.use_seller_country(found.app.tax.seller.country)
    context.setdefault("errors", {})
    csrf = context.pop("csrf", None) or (found.session.csrf_token if found.session is not None else "")
    request = found.request
    html = TEMPLATES.get_template(template).render(
        desk=found,
        session=found.session,
        language=found.language,
        csrf=csrf,
        path=request.url.path,
        query=request.url.query,
        simulated=found.app.clock.simulated,
        now=found.app.clock.now(),
        **context,
    )
    return HTMLResponse(html, status_code=status)
