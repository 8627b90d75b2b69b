"""The customer portal: server-rendered pages (Jinja2) in Polish and English, forms that work without JavaScript.

Pages mirror the help article: Account Management -> Billing (Current Plans, Invoice History, Billing information),
Upgrade Account, Edit current plan, the cart and the checkout, and User Management -> Users. Routes map forms to
the services' commands and the domain's refusals to form fields; no business rule lives here.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import Scope

from prorata.bootstrap import App
from prorata.entrypoints.portal import i18n
from prorata.entrypoints.portal.pages import LANGUAGE_COOKIE, TEMPLATES, compile_templates, render, visit
from prorata.entrypoints.portal.routes import (
    auth,
    billing,
    billing_info,
    checkout,
    confirm,
    express,
    invoices,
    tax_exemption,
    users,
)


def create_portal(app: App) -> FastAPI:
    compile_templates()
    portal = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    portal.state.prorata = app
    for module in (auth, billing, billing_info, checkout, confirm, express, invoices, tax_exemption, users):
        portal.include_router(module.router)
    portal.mount("/static", StaticFiles(directory=str(files("prorata.entrypoints.portal").joinpath("static"))),
                 name="static")  # fmt: skip

    @portal.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> Response:
        """A path whose id cannot be a row's is a page that does not exist; any other malformed request (the forms
        read their fields themselves) is a bad request. Never a crash (rule X4)."""
        if any(e.get("loc", ("",))[0] == "path" for e in error.errors()):
            return _not_found(request)
        return PlainTextResponse("Bad request", status_code=400)

    @portal.exception_handler(HTTPException)
    async def refused(request: Request, error: HTTPException) -> Response:
        if error.status_code == 303 and error.headers:
            return RedirectResponse(error.headers["Location"], status_code=303)
        if error.status_code == 403 and error.detail == "P6":
            return render(visit(request), "forbidden.html", 403)
        if error.status_code == 403:
            return _problem(
                request,
                403,
                "The form has expired",
                "The form's security token is missing or wrong: open the page again and send it from there.",
            )
        if error.status_code == 404:
            return _not_found(request)
        return PlainTextResponse(str(error.detail), status_code=error.status_code)

    return portal


def _problem(request: Request, status: int, heading: str, message: str) -> Response:
    """A page the portal cannot show (not found, a stale form), in the visitor's language (rule X5): ``heading`` and
    ``message`` are the catalog's English ids, translated once the visit has chosen the language."""
    found = visit(request)
    _ = i18n.gettext_
    signed_in = found.session is not None
    return render(found, "problem.html", status, heading=_(heading), message=_(message),
                  back="/billing" if signed_in else "/",
                  back_label=_("Back to Billing") if signed_in else _("Back to the first page"))  # fmt: skip


def _not_found(request: Request) -> Response:
    return _problem(request, 404, "Page not found", "There is no such page, or it belongs to another account.")


def error_page(scope: Scope, request_id: str) -> str:
    """The page shown when the server failed to answer: in the visitor's language (read without the database, which
    may be what failed), with the reference the operator finds in the log."""
    request = Request(scope)
    language = request.cookies.get(LANGUAGE_COOKIE) or i18n.choose_language(request.headers.get("accept-language"))
    if language not in i18n.LANGUAGES:
        language = i18n.DEFAULT_LANGUAGE
    i18n.use_language(language)
    return TEMPLATES.get_template("error.html").render(
        session=None, language=language, path="/billing", csrf="", errors={}, request_id=request_id
    )
