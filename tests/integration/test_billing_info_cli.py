"""``prorata payment-methods list|backup|swap`` and ``prorata notice-addresses list|add|remove`` on SQLite and
PostgreSQL (rules BM1, N1): the same use cases as the portal and the API, refusals on one line with their code and
rule and exit status 1, nothing changed."""

from __future__ import annotations

import json

import pytest

from prorata.bootstrap import build
from prorata.entrypoints.cli.main import main
from prorata.services.billing_information import AddCard, add_card
from tests.e2e.conftest import account_id


def demo_with_two_cards(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo, demo-pro with a Mastercard added after its Visa (the new default)."""
    assert main(["demo", "--database", database_url]) == 0
    app = build(database_url)
    try:
        add_card(AddCard(account_id(app, "demo-pro"), "5555555555554444", 11, 2031), uow=app.uow, clock=app.clock,
                 gateway=app.gateway)  # fmt: skip
    finally:
        app.close()
    capsys.readouterr()


def listed(database_url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[bool, bool]]:
    assert main(["payment-methods", "list", "--account", "demo-pro", "--json", "--database", database_url]) == 0
    shown = json.loads(capsys.readouterr().out)["payment_methods"]
    return {m["label"]: (m["is_default"], m["is_backup"]) for m in shown}


def test_the_cli_makes_a_backup_swaps_it_with_the_default_and_clears_it(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rule BM1
    demo_with_two_cards(database_url, capsys)
    assert main(["payment-methods", "list", "--account", "demo-pro", "--database", database_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    visa = lines[0].split(":")[0].removeprefix("method ")
    assert len(lines) == 2
    assert lines[0].startswith(f"method {visa}: Visa •••• 4242, 12/")  # the demo card, without a role
    assert not lines[0].endswith(("default", "backup"))
    assert lines[1].startswith("method ")
    assert lines[1].endswith(": Mastercard •••• 4444, 11/2031, default")

    made = main(["payment-methods", "backup", "--account", "demo-pro", "--method", visa, "--database", database_url])
    assert f"method {visa}: Visa •••• 4242, 12/" in (shown := capsys.readouterr().out)
    assert shown.splitlines()[0].endswith(", backup")
    swapped = [main(["payment-methods", "swap", "--account", "demo-pro", "--method", visa, "--database",
                     database_url]) for _ in range(2)]  # fmt: skip  # the second finds it done
    capsys.readouterr()
    assert (made, swapped) == (0, [0, 0])
    assert listed(database_url, capsys) == {"Visa •••• 4242": (True, False), "Mastercard •••• 4444": (False, True)}
    assert main(["payment-methods", "backup", "--account", "demo-pro", "--clear", "--database", database_url]) == 0
    capsys.readouterr()
    assert listed(database_url, capsys) == {"Visa •••• 4242": (True, False), "Mastercard •••• 4444": (False, False)}


def test_the_cli_refuses_the_default_as_backup_with_its_code_and_rule(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rules BM1, X4
    demo_with_two_cards(database_url, capsys)
    before = listed(database_url, capsys)
    default = next(label for label, (is_default, _) in before.items() if is_default)
    assert main(["payment-methods", "list", "--account", "demo-pro", "--json", "--database", database_url]) == 0
    ids = {m["label"]: m["id"] for m in json.loads(capsys.readouterr().out)["payment_methods"]}

    refused = main(["payment-methods", "backup", "--account", "demo-pro", "--method", str(ids[default]),
                    "--database", database_url])  # fmt: skip
    error = capsys.readouterr().err
    in_json = main(["payment-methods", "swap", "--account", "demo-pro", "--method", "999999", "--json", "--database",
                    database_url])  # fmt: skip
    problem = json.loads(capsys.readouterr().err)["error"]
    unknown = main(["payment-methods", "list", "--account", "nobody", "--database", database_url])

    assert refused == in_json == unknown == 1
    assert "[payment_method.backup_is_default, rule BM1]" in error
    assert (problem["code"], problem["field"]) == ("payment_method.unknown", "payment_method_id")
    assert "there is no account 'nobody'" in capsys.readouterr().err
    assert listed(database_url, capsys) == before


def test_the_cli_adds_lists_and_removes_notice_addresses_and_refuses_a_sixth_naming_rule_n1(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rule N1
    assert main(["demo", "--database", database_url]) == 0
    capsys.readouterr()
    for n in range(5):
        assert main(["notice-addresses", "add", f"A{n}@Demo-Pro.test", "--account", "demo-pro", "--database",
                     database_url]) == 0  # fmt: skip
    capsys.readouterr()

    sixth = main(["notice-addresses", "add", "sixth@demo-pro.test", "--account", "demo-pro", "--database",
                  database_url])  # fmt: skip
    error = capsys.readouterr().err
    assert main(["notice-addresses", "remove", "a0@demo-pro.test", "--account", "demo-pro", "--database",
                 database_url]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["notice-addresses", "list", "--account", "demo-pro", "--json", "--database", database_url]) == 0
    shown = json.loads(capsys.readouterr().out)

    assert sixth == 1
    assert "at most 5 extra notice addresses" in error
    assert "[notice_address.limit, rule N1]" in error
    assert shown == {"account": "demo-pro", "addresses": [f"a{n}@demo-pro.test" for n in range(1, 5)], "limit": 5}
