"""The REST API (``/api/v1``): OpenAPI 3.1, bearer API keys, errors as RFC 9457 problem+json."""

from __future__ import annotations

from fastapi import FastAPI

from prorata import __version__
from prorata.bootstrap import App


def create_api(app: App) -> FastAPI:
    api = FastAPI(title="Prorata API", version=__version__, docs_url="/docs", redoc_url=None)
    api.state.prorata = app

    @api.get("/health", tags=["operator"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return api
