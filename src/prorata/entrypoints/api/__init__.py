"""The REST API (``/api/v1``): OpenAPI 3.1, bearer API keys, errors as RFC 9457 problem+json.

``app`` builds it; ``auth`` says who calls and what they reach; ``errors`` maps every refusal once; ``schemas``
are the bodies; ``routers`` the routes, one module per area.
"""

from __future__ import annotations

from prorata.entrypoints.api.app import create_api

__all__ = ["create_api"]
