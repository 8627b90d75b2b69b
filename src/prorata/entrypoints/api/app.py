"""The REST API application: routers, the one error mapper, the OpenAPI document and its docs page."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from prorata import __version__
from prorata.bootstrap import App
from prorata.entrypoints.api.docs import PAGE
from prorata.entrypoints.api.errors import install_error_handlers
from prorata.entrypoints.api.openapi import PAYMENT_FAILED, PROBLEMS, install_openapi
from prorata.entrypoints.api.routers import accounts, billing, catalog, licenses, operator, orders

DESCRIPTION = (
    "Seat-based subscription billing: catalog, accounts, quotes, orders, invoices, payments, licenses. "
    "Authenticate with `Authorization: Bearer <API key>`; an account's key reaches only its own account."
)


def create_api(app: App) -> FastAPI:
    api = FastAPI(
        title="Prorata API", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None,
        openapi_url="/openapi.json",
    )  # fmt: skip
    api.state.prorata = app
    install_error_handlers(api)

    @api.get("/health", tags=["operator"], summary="Liveness: answers without a key")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @api.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE)

    for router in (catalog.router, accounts.router, licenses.router, operator.router):
        api.include_router(router, responses=PROBLEMS)
    for router in (orders.router, billing.router):
        api.include_router(router, responses={**PROBLEMS, **PAYMENT_FAILED})
    install_openapi(api)
    return api
