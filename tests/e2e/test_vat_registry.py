"""EU VAT numbers checked in the VIES registry (rule T2), against a local stand-in speaking VIES's REST protocol, on
SQLite and on PostgreSQL: a registered number is kept and its answer reused, an unregistered one is refused with
nothing changed, and one the registry cannot answer for (down, or too slow) is accepted provisionally, asked again
later, and told to the operator when it then fails."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from prorata.adapters.db.schema import audit_log, contacts, outbox, vat_checks
from prorata.adapters.vat_registry.vies import ViesRegistry
from prorata.entrypoints.cli.worker import recheck_vat_numbers
from tests.e2e.api_client import NOW, Account, Api
from tests.vies_standin import Vies, vies

REGISTERED = "DE100000008"
UNKNOWN = "DE100000016"
BERLIN = {"name": "Jan", "company": "Jan GmbH", "email": "jan@berlin.test", "address_line1": "Unter den Linden 1",
          "city": "Berlin", "postal_code": "10117", "country": "DE"}  # fmt: skip


@pytest.fixture
def registry(api: Api) -> Iterator[Vies]:
    with vies() as stand_in:
        stand_in.registered[REGISTERED] = "JAN GMBH"
        api.app.vat_registry = ViesRegistry(stand_in.url, timeout=0.5)  # type: ignore[misc]
        yield stand_in
        api.app.vat_registry.close()  # type: ignore[union-attr]


def save(api: Api, account: Account, number: str) -> object:
    body = {"sold_to": {**BERLIN, "tax_id": number}}
    return api.client.put(f"{account.url}/contacts", json=body, headers=account.headers)


def status_of(api: Api, number: str) -> str | None:
    with api.app.engine.connect() as conn:
        return conn.execute(select(vat_checks.c.status).where(vat_checks.c.number == number)).scalar_one_or_none()


def test_a_registered_number_is_kept_and_its_answer_reused_for_a_month(api: Api, registry: Vies) -> None:
    account = api.open_account("berlin")

    first = save(api, account, REGISTERED)
    again = save(api, account, "DE 100 000 008")

    assert first.status_code == again.status_code == 200  # type: ignore[attr-defined]
    assert registry.asked == [REGISTERED]  # the second save used the answer kept
    assert status_of(api, REGISTERED) == "valid"
    placed = account.order({"type": "change_plan", "product": "pro", "licenses": 1}, key="buy")
    assert account.get(f"/invoices/{placed.json()['invoice_id']}").json()["tax"] == 0  # reverse charge (rule T2)


def test_a_number_the_registry_does_not_know_is_refused_and_nothing_is_saved(api: Api, registry: Vies) -> None:
    account = api.open_account("berlin")
    before = api.snapshot()

    refused = save(api, account, UNKNOWN)

    problem = refused.json()  # type: ignore[attr-defined]
    assert (refused.status_code, problem["code"], problem["field"], problem["rule"]) == (  # type: ignore[attr-defined]
        422, "contact.vat_not_registered", "sold_to.tax_id", "T2")  # fmt: skip
    after = api.snapshot()
    assert {name for name in after if after[name] != before[name]} == {"vat_checks"}  # only the answer is kept
    with api.app.engine.connect() as conn:
        assert conn.execute(select(contacts.c.id)).first() is None


@pytest.mark.parametrize("trouble", ["down", "slow"])
def test_a_number_the_registry_cannot_answer_for_is_accepted_then_told_to_the_operator_when_it_fails(
    api: Api, registry: Vies, trouble: str
) -> None:
    api.app.webhooks = replace(api.app.webhooks, operator_email="ops@seller.test")
    account = api.open_account("berlin")
    if trouble == "down":
        registry.down = True
    else:
        registry.delay = 2.0  # beyond the adapter's timeout of 0.5 s

    accepted = save(api, account, UNKNOWN)
    registry.down, registry.delay = False, 0.0
    too_early = recheck_vat_numbers(api.app)
    api.at(NOW + timedelta(hours=2))
    api.app.clock.refresh()
    later = recheck_vat_numbers(api.app)

    assert accepted.status_code == 200  # type: ignore[attr-defined]
    assert (too_early.invalid, later.invalid) == ([], [UNKNOWN])
    assert status_of(api, UNKNOWN) == "invalid"
    with api.app.engine.connect() as conn:
        told = conn.execute(select(outbox.c.recipients, outbox.c.data)
                            .where(outbox.c.kind == "vat_number_not_registered")).all()  # fmt: skip
        audited = conn.execute(select(audit_log.c.account_id)
                               .where(audit_log.c.action == "vat_number.not_registered")).scalars().all()  # fmt: skip
    assert len(told) == 1
    assert "ops@seller.test" in str(told[0].recipients)
    assert "berlin" in str(told[0].data)
    assert audited == [account.id]


def test_the_cli_lists_the_answers_and_rechecks_with_an_exit_status_that_tells_of_a_failure(
    api: Api, registry: Vies
) -> None:
    account = api.open_account("berlin")
    registry.down = True
    assert save(api, account, UNKNOWN).status_code == 200  # type: ignore[attr-defined]
    registry.down = False
    api.at(NOW + timedelta(hours=2))
    env = {**os.environ, "PRORATA_VIES_URL": registry.url, "PRORATA_VIES_TIMEOUT": "2"}
    url = api.app.engine.url.render_as_string(hide_password=False)

    listed = subprocess.run([sys.executable, "-m", "prorata", "vat", "list", "--status", "provisional", "--database",
                             url], capture_output=True, text=True, env=env, check=False)  # fmt: skip
    rechecked = subprocess.run([sys.executable, "-m", "prorata", "vat", "recheck", "--database", url],
                               capture_output=True, text=True, env=env, check=False)  # fmt: skip

    assert listed.returncode == 0, listed.stderr
    assert UNKNOWN in listed.stdout
    assert "MS_UNAVAILABLE" in listed.stdout
    assert rechecked.returncode == 2, rechecked.stderr
    assert "1 not registered" in rechecked.stdout
