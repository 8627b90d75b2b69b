"""The OpenAPI document against the API itself: schemathesis generates requests for every operation, with an operator
key and with an account's key, and checks that no answer is a server error and every answer is one the document
describes (status, content type, body schema). The docs page beside it loads nothing from elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from prorata.adapters.db.clock import start_simulation
from prorata.adapters.db.database import migrate
from prorata.bootstrap import build
from prorata.entrypoints.web import create_app
from tests.conftest import postgres_database
from tests.e2e.api_client import NOW, Api

EXAMPLES = 15  # per operation: enough to reach each refusal, and the run stays in seconds
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Served:
    web: FastAPI
    operator: dict[str, str]
    account: dict[str, str]
    account_id: int


@pytest.fixture
def served() -> Iterator[Served]:
    # PostgreSQL only, the stricter of the two (NUL characters, lengths, integer ranges): the contract is the HTTP
    # layer's, and both databases are covered by the other API tests
    databases = postgres_database()
    url = next(databases)
    try:
        yield from _served(url)
    finally:
        databases.close()  # drops the database


def _served(url: str) -> Iterator[Served]:
    app = build(url)
    migrate(app.engine)
    start_simulation(app.engine, NOW)
    app.clock.refresh()
    web = create_app(app)
    with TestClient(web) as client:
        api = Api(app, client)
        acme = api.open_account("acme")
        assert acme.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="buy").status_code == 201
        acme.add_user("member@acme.test")
        yield Served(web, api.operator, acme.headers, acme.id)
    app.close()


def test_no_operation_answers_a_server_error_or_outside_its_schema(served: Served) -> None:
    # the operations are walked here rather than with schemathesis' pytest plugin, whose lazy schemas use a pytest
    # internal that pytest 9 removed
    loaded = schemathesis.openapi.from_asgi("/api/v1/openapi.json", served.web)
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def answers_within_the_document(case: schemathesis.Case) -> None:
            if "account_id" in (case.path_parameters or {}):
                case.path_parameters["account_id"] = served.account_id  # past the 404, into the operation itself
            for headers in (served.operator, served.account):
                case.call_and_validate(headers=headers, checks=CHECKS)

        answers_within_the_document()


def test_the_docs_page_is_served_and_loads_nothing_from_elsewhere(api: Api) -> None:
    page = api.client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "openapi.json" in page.text
    assert re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page.text) == []
    assert re.findall(r"fetch\(\s*[\"']https?:", page.text) == []
    document = api.client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
