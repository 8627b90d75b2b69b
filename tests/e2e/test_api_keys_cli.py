"""``prorata apikey create``: a key printed once, kept as a hash, that opens exactly its account."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from prorata.adapters.db.schema import api_keys
from prorata.bootstrap import build
from prorata.entrypoints.cli.main import main
from prorata.entrypoints.web import create_app


def prorata(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out.strip(), err


def test_a_key_made_on_the_command_line_opens_its_account_and_no_other(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert prorata(capsys, "demo", "--database", database_url)[0] == 0
    status, pro_key, _ = prorata(capsys, "apikey", "create", "--account", "demo-pro", "--database", database_url)
    assert status == 0
    status, operator_key, _ = prorata(capsys, "apikey", "create", "--operator", "--name", "ops", "--database",
                                      database_url)  # fmt: skip
    assert status == 0
    assert pro_key.startswith("prk_")

    app = build(database_url)
    try:
        with app.engine.connect() as conn:
            stored = conn.execute(select(api_keys.c.name, api_keys.c.secret_hash)).all()
        assert sorted(name for name, _ in stored) == ["demo-pro", "ops"]
        assert all(pro_key not in secret_hash and len(secret_hash) == 64 for _, secret_hash in stored)
        with TestClient(create_app(app)) as client:
            mine = client.get("/api/v1/key", headers={"Authorization": f"Bearer {pro_key}"}).json()["account_id"]
            operator = {"Authorization": f"Bearer {operator_key}"}
            theirs = client.get("/api/v1/accounts?code=demo-business", headers=operator).json()[0]["id"]
            assert client.get(f"/api/v1/accounts/{mine}", headers={"Authorization": f"Bearer {pro_key}"}).json()[
                "code"] == "demo-pro"  # fmt: skip
            assert client.get(f"/api/v1/accounts/{theirs}", headers={"Authorization": f"Bearer {pro_key}"}
                              ).status_code == 404  # fmt: skip
            assert client.get(f"/api/v1/accounts/{theirs}", headers=operator).json()["code"] == "demo-business"
    finally:
        app.close()


def test_a_key_for_an_unknown_account_is_refused(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    prorata(capsys, "init", "--database", database_url)
    status, _, err = prorata(capsys, "apikey", "create", "--account", "nobody", "--database", database_url)
    assert status == 1
    assert "account: there is no account 'nobody' [account.unknown]" in err
