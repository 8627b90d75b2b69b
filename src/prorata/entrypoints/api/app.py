"""The REST API application: routers, the one error mapper, the OpenAPI document and its docs page."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, Response

from prorata import __version__
from prorata.adapters.db.database import DatabaseNotReady, check_ready
from prorata.bootstrap import App
from prorata.config import api_rate_limit
from prorata.entrypoints.api.body_limit import BodyLimit
from prorata.entrypoints.api.docs import PAGE, SCRIPT, STYLE
from prorata.entrypoints.api.errors import PROBLEM_JSON, install_error_handlers, problem_response
from prorata.entrypoints.api.openapi import PAYMENT_FAILED, PROBLEMS, install_openapi
from prorata.entrypoints.api.rate_limit import KeyRateLimiter, RateLimitHeaders
from prorata.entrypoints.api.routers import (
    accounts,
    api_keys,
    billing,
    billing_info,
    catalog,
    discounts,
    entitlements,
    events,
    express_pay,
    licenses,
    operator,
    orders,
    payment_terms,
    refunds,
    tax_exemption,
    webhook_endpoints,
    webhooks,
)

log = logging.getLogger("prorata.api")

DESCRIPTION = (
    "Seat-based subscription billing: catalog, accounts, quotes, orders, invoices, payments, licenses. "
    "Authenticate with `Authorization: Bearer <API key>`; an account's key reaches only its own account, an "
    "operator's key every account and the operator's routes. A read-only key may call every GET and the quotes "
    "(`x-read-only-key: true` on an operation); anything else answers it 403 `auth.read_only_key`. Each key may make "
    "`PRORATA_API_RATE_LIMIT` requests (default 600 a minute) to each server process: every answer to a key carries "
    "`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds) and `RateLimit-Policy`, and a request over "
    "the limit is answered 429 `auth.rate_limited` with `Retry-After`. A revoked key is refused at its next request."
)


def create_api(app: App) -> FastAPI:
    api = FastAPI(
        title="Prorata API", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None,
        openapi_url="/openapi.json",
    )  # fmt: skip
    api.state.prorata = app
    setting = api_rate_limit()
    api.state.rate_limiter = None if setting is None else KeyRateLimiter(setting)
    api.add_middleware(RateLimitHeaders)
    api.add_middleware(BodyLimit)
    install_error_handlers(api)

    @api.get(
        "/health", tags=["operator"], summary="Readiness: answers without a key",
        description="200 when the database answers and is migrated to this version; 503 (problem+json, code "
        "`server.database_not_ready`) otherwise. The reason is written to the server's log, not to the caller.",
        responses={503: {"description": "The database cannot be used", "content": {PROBLEM_JSON: {}}}},
    )  # fmt: skip
    def health() -> Response:
        try:
            check_ready(app.engine)
        except DatabaseNotReady as error:
            log.warning("health: %s", error)
            return problem_response(503, "server.database_not_ready", "The database cannot be reached or is not "
                                    "migrated to this version.", headers={"Retry-After": "10"})  # fmt: skip
        return JSONResponse({"status": "ok", "version": __version__})

    @api.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @api.get("/docs.css", include_in_schema=False)
    def docs_style() -> Response:
        return Response(STYLE, media_type="text/css")

    @api.get("/docs.js", include_in_schema=False)
    def docs_script() -> Response:
        return Response(SCRIPT, media_type="text/javascript")

    # billing_info before billing: its /payment-methods/backup is not a payment method's id
    for router in (catalog.router, accounts.router, licenses.router, entitlements.router, operator.router,
                   api_keys.router, refunds.router, webhooks.router, tax_exemption.router, payment_terms.router,
                   events.router, webhook_endpoints.router, billing_info.router, discounts.router):  # fmt: skip
        api.include_router(router, responses=PROBLEMS)
    for router in (orders.router, billing.router, express_pay.router):
        api.include_router(router, responses={**PROBLEMS, **PAYMENT_FAILED})
    install_openapi(api)
    return api
