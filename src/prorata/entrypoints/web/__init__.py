"""The web server: the REST API under ``/api/v1`` and the customer portal at ``/``, one ASGI application.

``create_app(app)`` wires both to one ``bootstrap.App`` (database, catalog, clock, gateway); ``prorata serve`` runs it
with uvicorn. Both front ends call the same services the CLI calls; neither holds business rules of its own.
"""

from __future__ import annotations

from fastapi import FastAPI

from prorata import __version__
from prorata.bootstrap import App, build
from prorata.entrypoints.web.guard import Guard


def create_app(app: App | None = None) -> FastAPI:
    """The whole web application; ``app`` defaults to one built from the settings (``PRORATA_*``)."""
    from prorata.entrypoints.api import create_api
    from prorata.entrypoints.portal import create_portal, error_page

    context = app or build()
    web = create_portal(context)
    web.mount("/api/v1", create_api(context))
    web.add_middleware(Guard, page=error_page)
    web.state.prorata = context
    return web


def asgi() -> FastAPI:  # pragma: no cover - uvicorn's factory entry point
    return create_app()


__all__ = ["__version__", "asgi", "create_app"]
