"""The security suite uses the portal's and the API's fixtures (the demo installation, a visitor, the API client)."""

from tests.e2e.conftest import PREPARED, Visitor, api, api_app, app, visitor

__all__ = ["PREPARED", "Visitor", "api", "api_app", "app", "visitor"]
