"""The customer portal: server-rendered pages (Jinja2) in Polish and English."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from prorata.bootstrap import App


def create_portal(app: App) -> FastAPI:
    portal = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    portal.state.prorata = app

    @portal.get("/", response_class=PlainTextResponse)
    def home() -> str:
        return "Prorata"

    return portal
