"""What the installation bills with, through the API (``GET /operator/configuration``), on SQLite and PostgreSQL:
the configured dunning schedule (rule I8) and seller (rules I2, I5), as ``prorata config show --json`` prints them;
an operator's key reads it, an account's key does not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from prorata.bootstrap import App, build
from prorata.entrypoints.cli.main import main
from prorata.entrypoints.web import create_app
from tests.branding import LOGO_SIZE, NAME, image, write_config
from tests.e2e.api_client import Api
from tests.e2e.test_api_access import assert_problem

ROUTE = "/api/v1/operator/configuration"


@pytest.fixture
def configured(api_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The API of an installation configured with a dunning schedule of its own and a branded seller."""
    monkeypatch.setenv("PRORATA_DUNNING_RETRY_DAYS", "2,4")
    monkeypatch.setenv("PRORATA_DUNNING_CANCEL_AFTER_DAYS", "10")
    monkeypatch.setenv("PRORATA_TAX", str(write_config(tmp_path / "config", logo=image("PNG"))))
    app = build(api_app.engine.url.render_as_string(hide_password=False))
    try:
        with TestClient(create_app(app)) as client:
            yield Api(app, client)
    finally:
        app.close()


def test_an_operator_reads_the_configured_schedule_and_seller_as_the_command_line_prints_them(
    configured: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = configured.client.get(ROUTE, headers=configured.operator)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["dunning"] == {"retry_after_days": [2, 4], "attempts": 3, "cancel_after_overdue_days": 10}
    seller = body["seller"]
    assert (seller["name"], seller["bank"]["iban"], seller["bank"]["swift"]) == (NAME, "PL61109010140000071219812874",
                                                                                 "WBKPPLPP")  # fmt: skip
    assert sorted(seller["footer"]) == ["en", "pl"]
    assert seller["logo"] == {"media_type": "image/png", "width": LOGO_SIZE[0], "height": LOGO_SIZE[1]}
    assert main(["config", "show", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == body  # field for field


def test_an_accounts_key_or_no_key_does_not_read_the_configuration(configured: Api) -> None:
    account = configured.open_account("acme")
    assert_problem(configured.client.get(ROUTE, headers=configured.key(account.id)), 403, "auth.operator_only")
    assert_problem(configured.client.get(ROUTE), 401, "auth.invalid_key")


def test_the_command_line_refuses_a_setting_that_cannot_be_used_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # rules I8, X4: the same check as at a process's start; one line, or the JSON error with --json
    monkeypatch.setenv("PRORATA_DUNNING_CANCEL_AFTER_DAYS", "0")
    assert main(["config", "show"]) == 1
    assert "PRORATA_DUNNING_CANCEL_AFTER_DAYS: a whole number of days from 1 to 365" in capsys.readouterr().err
    assert main(["config", "show", "--json"]) == 1
    assert json.loads(capsys.readouterr().err)["error"]["field"] == "PRORATA_DUNNING_CANCEL_AFTER_DAYS"
