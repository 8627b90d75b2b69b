"""Extra notice addresses (rule N1), on SQLite and PostgreSQL: up to 5 addresses beside the Sold-To and Bill-To
contacts receive the account's new-invoice e-mails (an order's confirmation, a renewal's receipt) and nothing else
(no dunning); addresses that are wrong, repeated or beyond the fifth are refused, naming the field and the rule, and
nothing changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from prorata.adapters.db.schema import credit_ledger, notice_addresses, outbox
from prorata.domain.cart import ChangePlan
from prorata.domain.errors import FieldErrors, ProrataError
from prorata.services.billing_information import Contact, set_contacts
from prorata.services.notice_addresses import (
    AddNoticeAddress,
    RemoveNoticeAddress,
    SetNoticeAddresses,
    add_notice_address,
    remove_notice_address,
    set_notice_addresses,
)
from prorata.services.renew_due import RenewDue, renew_due
from tests.helpers import CATALOG
from tests.integration.shop import NOW, Shop
from tests.races import together

SOLD_TO = Contact("Łucja Świątek", "lucja@acme.pl", "ul. Żółta 5", "Gdańsk", "80-001", "PL")
BILL_TO = Contact("Jan Kowalski", "faktury@acme.pl", "ul. Długa 1", "Łódź", "90-001", "PL")
EXTRA = ("ksiegowosc@acme.pl", "archiwum@biuro-rachunkowe.pl")
DEC_15 = datetime(2026, 12, 15, tzinfo=UTC)


def customer(engine: Engine, card: str = "4242424242424242", code: str = "acme") -> Shop:
    """An account with Sold-To and Bill-To contacts, an owner, and two extra notice addresses (rule N1)."""
    shop = Shop(engine, card=card, code=code)
    set_contacts(shop.account_id, SOLD_TO, BILL_TO, uow=shop.uow, clock=shop.clock)
    shop.add_user(f"owner@{code}.test", role="owner")
    set_notice_addresses(SetNoticeAddresses(shop.account_id, EXTRA), uow=shop.uow, clock=shop.clock)
    return shop


def sent(engine: Engine) -> list[tuple[str, list[str]]]:
    """Each e-mail in the outbox: its kind and recipients."""
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.kind, outbox.c.recipients).order_by(outbox.c.id)).all()
    return [(kind, json.loads(recipients)) for kind, recipients in rows]


def stored(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(notice_addresses.c.account_id, notice_addresses.c.email)
                            .order_by(notice_addresses.c.id)).all()  # fmt: skip
    return [(int(a), e) for a, e in rows]


def renew(shop: Shop, at: datetime) -> None:
    shop.clock.at = at
    renew_due(RenewDue(at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG, dunning=shop.dunning)


def test_an_order_confirmation_goes_to_the_extra_notice_addresses_too(engine: Engine) -> None:
    # rules N1, I4: the order's invoice, attached to its confirmation
    shop = customer(engine)

    shop.order(ChangePlan("pro", 3))

    assert sent(engine) == [("order_confirmation", ["lucja@acme.pl", "faktury@acme.pl", *EXTRA])]


def test_a_renewal_invoice_goes_to_the_extra_addresses_and_a_dunning_notice_does_not(engine: Engine) -> None:
    # rules N1, I8: the renewal's invoice comes with its receipt; a failed payment and overdue are dunning, for the
    # contacts and the owner only
    paying = customer(engine)
    paying.order(ChangePlan("pro", 2))
    declining = customer(engine, card="4242424242424242", code="beta")
    declining.order(ChangePlan("pro", 2))
    with engine.begin() as conn:
        declining.set_card(conn, "4000000000000002")

    for day in (0, 1, 3, 5, 7):
        renew(paying, DEC_15 + timedelta(days=day))

    mails = sent(engine)
    receipts = [to for kind, to in mails if kind == "receipt"]
    assert receipts == [["lucja@acme.pl", "faktury@acme.pl", *EXTRA]]
    dunning = [(kind, to) for kind, to in mails if kind in ("payment_failed", "overdue")]
    assert [kind for kind, _ in dunning] == ["payment_failed"] * 5 + ["overdue"]
    assert all(to == ["lucja@acme.pl", "faktury@acme.pl", "owner@beta.test"] for _, to in dunning)


def test_a_renewal_paid_from_the_credit_balance_sends_its_receipt_to_the_extra_addresses(engine: Engine) -> None:
    # rules N1, I4: the billing run's receipts written in bulk, for a renewal the balance paid at once
    shop = customer(engine)
    shop.order(ChangePlan("pro", 2))
    with engine.begin() as conn:
        conn.execute(insert(credit_ledger).values(account_id=shop.account_id, amount=10**6, currency="USD",
                                                  reason="prepaid", created_at=NOW))  # fmt: skip

    renew(shop, DEC_15)

    assert [to for kind, to in sent(engine) if kind == "receipt"] == [["lucja@acme.pl", "faktury@acme.pl", *EXTRA]]


def test_addresses_are_kept_normalised_once_each_and_removed(engine: Engine) -> None:
    # rule N1
    shop = Shop(engine)
    email = add_notice_address(AddNoticeAddress(shop.account_id, "  Ksiegowosc@ACME.pl "), uow=shop.uow,
                               clock=shop.clock)  # fmt: skip
    assert email == "ksiegowosc@acme.pl"
    remove_notice_address(RemoveNoticeAddress(shop.account_id, "KSIEGOWOSC@acme.pl"), uow=shop.uow, clock=shop.clock)
    assert stored(engine) == []
    kept = set_notice_addresses(SetNoticeAddresses(shop.account_id, ("b@x.pl", "A@x.pl")), uow=shop.uow,
                                clock=shop.clock)  # fmt: skip
    again = set_notice_addresses(SetNoticeAddresses(shop.account_id, ("a@x.pl", "b@x.pl", "c@x.pl")), uow=shop.uow,
                                 clock=shop.clock)  # fmt: skip
    assert (kept, again) == (("b@x.pl", "a@x.pl"), ("a@x.pl", "b@x.pl", "c@x.pl"))
    assert stored(engine) == [(shop.account_id, e) for e in ("b@x.pl", "a@x.pl", "c@x.pl")]  # kept ones keep place


def test_a_sixth_address_is_refused_naming_the_field_and_rule_n1_and_nothing_changes(engine: Engine) -> None:
    # rules N1, X4
    shop = Shop(engine)
    five = tuple(f"a{n}@x.pl" for n in range(5))
    set_notice_addresses(SetNoticeAddresses(shop.account_id, five), uow=shop.uow, clock=shop.clock)

    with pytest.raises(ProrataError) as added:
        add_notice_address(AddNoticeAddress(shop.account_id, "sixth@x.pl"), uow=shop.uow, clock=shop.clock)
    with pytest.raises(ProrataError) as replaced:
        set_notice_addresses(SetNoticeAddresses(shop.account_id, (*five, "sixth@x.pl")), uow=shop.uow,
                             clock=shop.clock)  # fmt: skip

    assert (added.value.code, added.value.field, added.value.rule) == ("notice_address.limit", "notice_address", "N1")
    assert (replaced.value.code, replaced.value.field, replaced.value.rule) == ("notice_address.limit", "addresses",
                                                                                "N1")  # fmt: skip
    assert stored(engine) == [(shop.account_id, e) for e in five]


@pytest.mark.parametrize(
    ("addresses", "expected"),
    [
        (("ok@x.pl", "not an address"), [("notice_address.invalid", "addresses[1]")]),
        (("ok@x.pl", "OK@x.pl "), [("notice_address.duplicate", "addresses[1]")]),
        (("a\n@x.pl", "b@x", "c@x.pl", "c@x.pl", "d@x.pl", "e@x.pl", "f@x.pl"),
         [("notice_address.invalid", "addresses[0]"), ("notice_address.invalid", "addresses[1]"),
          ("notice_address.duplicate", "addresses[3]"), ("notice_address.limit", "addresses")]),
        ((("x" * 320) + "@x.pl",), [("notice_address.invalid", "addresses[0]")]),
    ],
    ids=["not-an-address", "twice", "every-fault-at-once", "too-long"],
)  # fmt: skip
def test_wrong_addresses_are_refused_all_at_once_and_nothing_changes(
    engine: Engine, addresses: tuple[str, ...], expected: list[tuple[str, str]]
) -> None:
    # rules N1, X4
    shop = Shop(engine)
    set_notice_addresses(SetNoticeAddresses(shop.account_id, ("kept@x.pl",)), uow=shop.uow, clock=shop.clock)

    with pytest.raises(ProrataError) as error:
        set_notice_addresses(SetNoticeAddresses(shop.account_id, addresses), uow=shop.uow, clock=shop.clock)

    found = error.value.errors if isinstance(error.value, FieldErrors) else (error.value,)
    assert [(e.code, e.field) for e in found] == expected
    assert {e.rule for e in found} == {"N1"}
    assert stored(engine) == [(shop.account_id, "kept@x.pl")]


def test_an_address_added_twice_or_not_on_the_list_is_refused(engine: Engine) -> None:
    # rule N1
    shop = Shop(engine)
    add_notice_address(AddNoticeAddress(shop.account_id, "a@x.pl"), uow=shop.uow, clock=shop.clock)
    with pytest.raises(ProrataError) as twice:
        add_notice_address(AddNoticeAddress(shop.account_id, "A@X.PL"), uow=shop.uow, clock=shop.clock)
    with pytest.raises(ProrataError) as unknown:
        remove_notice_address(RemoveNoticeAddress(shop.account_id, "b@x.pl"), uow=shop.uow, clock=shop.clock)
    assert (twice.value.code, unknown.value.code) == ("notice_address.duplicate", "notice_address.unknown")
    assert stored(engine) == [(shop.account_id, "a@x.pl")]


def test_adds_released_together_never_take_an_account_past_five(engine: Engine) -> None:
    # rule N1 under concurrency: the account's lock makes the count and the insert one step
    shop = Shop(engine)
    set_notice_addresses(SetNoticeAddresses(shop.account_id, ("a@x.pl", "b@x.pl", "c@x.pl")), uow=shop.uow,
                         clock=shop.clock)  # fmt: skip

    results = together([lambda n=n: add_notice_address(AddNoticeAddress(shop.account_id, f"new{n}@x.pl"),  # type: ignore[misc]
                                                        uow=shop.uow, clock=shop.clock) for n in range(4)])  # fmt: skip

    refused = [r for r in results if isinstance(r, ProrataError)]
    assert len(refused) == 2
    assert {r.code for r in refused} == {"notice_address.limit"}
    assert len(stored(engine)) == 5
