"""The backup payment method (rule BM1) and the extra notice addresses (rule N1) through the API, on SQLite and
PostgreSQL: the roles set, swapped and cleared; a renewal declined on the default card paid by the backup, with both
charges in the invoice's payments; the notice addresses replaced, and every refusal an RFC 9457 problem naming the
field and the rule, with nothing changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prorata.adapters.db.api_keys import create_api_key
from tests.e2e.api_client import DECLINED_CARD, GOOD_CARD, NOW, Account, Api


def put(account: Account, path: str, body: Any) -> Any:
    return account.api.client.put(account.url + path, json=body, headers=account.headers)


def delete(account: Account, path: str) -> Any:
    return account.api.client.delete(account.url + path, headers=account.headers)


def roles(account: Account) -> dict[int, tuple[bool, bool]]:
    return {m["id"]: (m["is_default"], m["is_backup"]) for m in account.get("/payment-methods").json()}


def test_a_saved_card_becomes_the_backup_swaps_with_the_default_and_is_cleared(api: Api) -> None:
    # rule BM1
    acme = api.open_account("acme", card=None)
    visa = acme.add_card(GOOD_CARD)
    mastercard = acme.add_card("5555555555554444")  # the newest: the default

    made = put(acme, "/payment-methods/backup", {"payment_method_id": visa})
    assert made.status_code == 200, made.text
    assert {m["id"]: m["is_backup"] for m in made.json()} == {visa: True, mastercard: False}

    swapped = put(acme, "/payment-methods/default", {"payment_method_id": visa})
    again = put(acme, "/payment-methods/default", {"payment_method_id": visa})  # a retry never swaps back
    assert (swapped.status_code, again.status_code) == (200, 200)
    assert roles(acme) == {visa: (True, False), mastercard: (False, True)}

    assert delete(acme, "/payment-methods/backup").status_code == 204
    assert delete(acme, "/payment-methods/backup").status_code == 204
    assert roles(acme) == {visa: (True, False), mastercard: (False, False)}


def test_the_default_method_as_backup_is_refused_as_a_problem_naming_the_field_and_rule(api: Api) -> None:
    # rules BM1, X4
    acme = api.open_account("acme", card=None)
    visa = acme.add_card(GOOD_CARD)
    before = api.snapshot()

    refused = put(acme, "/payment-methods/backup", {"payment_method_id": visa})
    not_backup = put(acme, "/payment-methods/default", {"payment_method_id": visa + 1000})
    malformed = put(acme, "/payment-methods/backup", {"payment_method_id": "one"})

    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert (problem["code"], problem["field"], problem["rule"]) == (
        "payment_method.backup_is_default", "payment_method_id", "BM1")  # fmt: skip
    assert (not_backup.status_code, not_backup.json()["code"]) == (422, "payment_method.unknown")
    assert (malformed.status_code, malformed.json()["code"]) == (422, "request.invalid")
    assert api.snapshot() == before


def test_another_accounts_method_cannot_be_the_backup(api: Api) -> None:
    # an account's key reaches its own methods only
    acme = api.open_account("acme")
    other = api.open_account("other", card=None)
    theirs = other.add_card(GOOD_CARD)
    acme.add_card("5555555555554444")

    refused = put(acme, "/payment-methods/backup", {"payment_method_id": theirs})

    assert (refused.status_code, refused.json()["code"]) == (422, "payment_method.unknown")
    assert all(not backup for _, backup in roles(acme).values())


def test_a_renewal_declined_on_the_default_card_is_paid_by_the_backup_and_both_charges_are_listed(api: Api) -> None:
    # rule BM1: the invoice's payments show the declined charge and the backup's, which paid it
    acme = api.open_account("acme")
    placed = acme.order({"type": "change_plan", "product": "pro", "licenses": 2, "interval": "month"}, key="buy")
    assert placed.status_code == 201, placed.text
    good = next(iter(roles(acme)))
    acme.add_card(DECLINED_CARD)  # the new default, which declines
    assert put(acme, "/payment-methods/backup", {"payment_method_id": good}).status_code == 200

    api.bill_day_by_day(NOW + timedelta(days=30), 0)

    invoices = acme.get("/invoices").json()
    renewal = max(invoices, key=lambda invoice: invoice["id"])
    assert renewal["status"] == "paid"
    detail = acme.get(f"/invoices/{renewal['id']}").json()
    assert [(p["status"], p["failure_code"], p["method"], p["backup"]) for p in detail["payments"]] == [
        ("failed", "card_declined", "Visa •••• 0002", False), ("succeeded", None, "Visa •••• 4242", True)]  # fmt: skip


def test_an_invoice_whose_backup_charge_waits_for_the_customer_is_read_with_both_charges(api: Api) -> None:
    # rules BM1, X4: a charge waiting for 3-D Secure is a payment status the API answers, never a server error
    acme = api.open_account("acme")
    acme.order({"type": "change_plan", "product": "pro", "licenses": 2, "interval": "month"}, key="buy")
    confirm = acme.add_card("4000002760003184")
    acme.add_card(DECLINED_CARD)
    assert put(acme, "/payment-methods/backup", {"payment_method_id": confirm}).status_code == 200

    api.bill_day_by_day(NOW + timedelta(days=30), 0)

    renewal = max(acme.get("/invoices").json(), key=lambda invoice: invoice["id"])
    detail = acme.get(f"/invoices/{renewal['id']}")
    assert detail.status_code == 200, detail.text
    assert [(p["status"], p["backup"]) for p in detail.json()["payments"]] == [("failed", False),
                                                                                ("action_required", True)]  # fmt: skip


def test_notice_addresses_are_replaced_read_back_normalised_and_a_sixth_is_refused_with_rule_n1(api: Api) -> None:
    # rules N1, X4
    acme = api.open_account("acme")
    assert acme.get("/notice-addresses").json() == {"addresses": [], "limit": 5}

    kept = put(acme, "/notice-addresses", {"addresses": [" Ksiegowosc@Acme.pl", "archiwum@biuro.pl"]})
    assert kept.status_code == 200, kept.text
    assert kept.json() == {"addresses": ["ksiegowosc@acme.pl", "archiwum@biuro.pl"], "limit": 5}
    before = api.snapshot()

    six = put(acme, "/notice-addresses", {"addresses": [f"a{n}@x.pl" for n in range(6)]})
    wrong = put(acme, "/notice-addresses", {"addresses": ["a@x.pl", "not an address", "A@X.pl"]})

    assert six.status_code == 422
    assert six.headers["content-type"] == "application/problem+json"
    assert (six.json()["code"], six.json()["field"], six.json()["rule"]) == ("notice_address.limit", "addresses",
                                                                            "N1")  # fmt: skip
    assert [(e["field"], e["code"], e["rule"]) for e in wrong.json()["errors"]] == [
        ("addresses[1]", "notice_address.invalid", "N1"),
        ("addresses[2]", "notice_address.duplicate", "N1"),
    ]
    assert api.snapshot() == before
    assert put(acme, "/notice-addresses", {"addresses": []}).json()["addresses"] == []


def test_a_read_only_key_reads_the_notice_addresses_and_changes_nothing(api: Api) -> None:
    acme = api.open_account("acme")
    with api.app.engine.begin() as conn:
        _, secret = create_api_key(conn, account_id=acme.id, name="reports", now=NOW, scope="read_only")
    reader = {"Authorization": f"Bearer {secret}"}

    read = api.client.get(acme.url + "/notice-addresses", headers=reader)
    refused = api.client.put(acme.url + "/notice-addresses", json={"addresses": ["a@x.pl"]}, headers=reader)

    assert read.status_code == 200
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.read_only_key")
