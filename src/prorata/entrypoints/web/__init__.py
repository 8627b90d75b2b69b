"""The web server: the REST API under ``/api/v1``, the operator console under ``/operator`` and the customer portal
at ``/``, one ASGI application.

``create_app(app)`` wires both to one ``bootstrap.App`` (database, catalog, clock, gateway); ``prorata serve`` runs it
with uvicorn. Both front ends call the same services the CLI calls; neither holds business rules of its own.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.routing import Mount

from prorata import __version__
from prorata.bootstrap import App, build
from prorata.entrypoints.web.guard import Guard


def create_app(app: App | None = None) -> FastAPI:
    """The whole web application; ``app`` defaults to one built from the settings (``PRORATA_*``)."""
    from prorata.entrypoints.api import create_api
    from prorata.entrypoints.console import create_console
    from prorata.entrypoints.portal import create_portal, error_page

    context = app or build()
    web = create_portal(context)
    api = Mount("/api/v1", app=create_api(context))
    # Starlette matches the rest of a mount's path with ".", which stops at a newline: /api/v1/accounts/%0A fell
    # through to the portal and was answered with its HTML page. Every path under /api/v1 is the API's.
    api.path_regex = re.compile(api.path_regex.pattern, re.DOTALL)
    web.router.routes.append(api)
    console = Mount("/operator", app=create_console(context))
    console.path_regex = re.compile(console.path_regex.pattern, re.DOTALL)
    web.router.routes.append(console)
    web.add_middleware(Guard, page=error_page, gateway_origins=gateway_origins(context))
    web.state.prorata = context
    return web


def gateway_origins(app: App) -> tuple[str, ...]:
    """Where a real gateway's browser script, frames and API live (Stripe.js and its API); none for the sandbox."""
    settings = getattr(app.gateway, "settings", None)
    if settings is None:
        return ()
    found = [settings.js_url, settings.api_base or "https://api.stripe.com", "https://hooks.stripe.com"]
    return tuple(dict.fromkeys(_origin(url) for url in found))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def asgi() -> FastAPI:  # pragma: no cover - uvicorn's factory entry point
    return create_app()


__all__ = ["__version__", "asgi", "create_app"]
