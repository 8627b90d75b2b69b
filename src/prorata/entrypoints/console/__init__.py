"""The operator console at ``/operator``: the business at a glance and every account one click away, in Polish and
English, for the people who run the installation.

Server-rendered pages (Jinja2) whose forms work without JavaScript, as the portal's do; charts are SVG drawn on the
server (``charts.py``), each with its figures in a table and a CSV export. Every action is confirmed, audited with
the operator's name, and done through the same use case as the REST API and the CLI. Operators sign in apart from
customers (``services/operators.py``; ``prorata operator create`` makes the first one).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from prorata.bootstrap import App
from prorata.entrypoints.console.pages import compile_templates, desk, render
from prorata.entrypoints.console.routes import (
    accounts,
    actions,
    auth,
    catalog,
    clock,
    dashboard,
    exemptions,
    runs,
    terms,
)
from prorata.entrypoints.portal import i18n


def create_console(app: App) -> FastAPI:
    """The console as an application of its own, mounted at ``/operator`` (``web.create_app``)."""
    compile_templates()
    console = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    console.state.prorata = app
    for module in (auth, dashboard, accounts, actions, exemptions, terms, catalog, runs, clock):
        console.include_router(module.router)
    static = str(files("prorata.entrypoints.console").joinpath("static"))
    console.mount("/static", StaticFiles(directory=static), name="console-static")

    @console.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> Response:
        """A path whose id cannot be a row's is a page that does not exist; other malformed requests are bad."""
        if any(e.get("loc", ("",))[0] == "path" for e in error.errors()):
            return _not_found(request)
        return PlainTextResponse("Bad request", status_code=400)

    @console.exception_handler(HTTPException)
    async def refused(request: Request, error: HTTPException) -> Response:
        if error.status_code == 303 and error.headers:
            return RedirectResponse(error.headers["Location"], status_code=303)
        if error.status_code == 403:
            return _problem(request, 403, "The form has expired",
                            "The form's security token is missing or wrong: open the page again and send it from "
                            "there.")  # fmt: skip
        if error.status_code == 404:
            return _not_found(request)
        return PlainTextResponse(str(error.detail), status_code=error.status_code)

    return console


def _problem(request: Request, status: int, heading: str, message: str) -> Response:
    found = desk(request)
    _ = i18n.gettext_
    return render(found, "problem.html", status, heading=_(heading), message=_(message))


def _not_found(request: Request) -> Response:
    return _problem(request, 404, "Page not found", "There is no such page in the operator console.")
