"""The web server: the REST API under ``/api/v1`` and the customer portal at ``/``, one ASGI application.

``create_app(app)`` wires both to one ``bootstrap.App`` (database, catalog, clock, gateway); ``prorata serve`` runs it
with uvicorn. Both front ends call the same services the CLI calls; neither holds business rules of its own.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from prorata import __version__
from prorata.bootstrap import App, build


def create_app(app: App | None = None) -> FastAPI:
    """The whole web application; ``app`` defaults to one built from the settings (``PRORATA_*``)."""
    from prorata.entrypoints.api import create_api
    from prorata.entrypoints.portal import create_portal

    context = app or build()
    web = create_portal(context)
    web.mount("/api/v1", create_api(context))
    web.state.prorata = context
    web.add_middleware(SimulatedTime, app_context=context)
    return web


class SimulatedTime:
    """On an installation in simulation, every request reads the simulated instant first: the operator may have moved
    it (``prorata clock advance``) since the last request, from another process. A production installation runs on
    the real clock and pays nothing here."""

    def __init__(self, app: ASGIApp, app_context: App) -> None:
        self.app = app
        self.context = app_context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.context.clock.simulated:
            self.context.clock.refresh()
        await self.app(scope, receive, send)


def asgi() -> FastAPI:  # pragma: no cover - uvicorn's factory entry point
    return create_app()


__all__ = ["__version__", "asgi", "create_app"]
