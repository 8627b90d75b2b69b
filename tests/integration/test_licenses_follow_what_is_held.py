"""Licenses follow what is held, on SQLite and PostgreSQL: nothing is assigned beyond what a scheduled change leaves,
a renewal never drops an assignment silently, and what ends takes its assignments with it (rules U1, U2, A7, L4,
P5, A4, C7, D1, A8, I8); and what earlier versions left behind is mended by migration 0012."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, func, insert, select, update

from prorata.adapters.db.database import alembic_config, create_database_engine, migrate
from prorata.adapters.db.schema import audit_log, license_assignments, outbox, pending_changes, subscriptions, users
from prorata.domain.cart import AddAddon, Cancel, ChangeAddon, ChangePlan, SetLicenses
from prorata.domain.errors import ProrataError
from prorata.services.mail_texts import compose
from tests.integration.shop import NOW, Shop
from tests.integration.test_billing_run import DEC_15, run
from tests.integration.test_payments_and_assignments import assign, user_type

JAN_15 = DEC_15 + timedelta(days=31)


def people(shop: Shop, count: int) -> list[int]:
    return [shop.add_user(f"user{n:02}@acme.test") for n in range(count)]


def holders(engine: Engine, product: str) -> list[int]:
    """Who holds the licenses of the account's active subscription of ``product``."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(license_assignments.c.user_id)
            .join(subscriptions, subscriptions.c.id == license_assignments.c.subscription_id)
            .where(subscriptions.c.product == product, subscriptions.c.status == "active")
            .order_by(license_assignments.c.user_id)
        )
        return [int(r[0]) for r in rows]


def held_by_ended_subscriptions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(license_assignments.join(subscriptions))
                .where(subscriptions.c.status == "ended")
            ).scalar_one()
        )


def licensed(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        return {int(i) for i in conn.execute(select(users.c.id).where(users.c.type == "licensed")).scalars()}


def unassigned_lines(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.detail)
            .where(audit_log.c.action == "license.unassigned")
            .order_by(audit_log.c.id)
        )
        return [{"actor": actor, **json.loads(detail)} for actor, detail in rows]


def test_no_license_is_assigned_past_a_downgrade_to_pro_and_the_renewal_keeps_everyone_assigned(
    engine: Engine,
) -> None:
    # rules L4, U1, P5: Business x 12 with 6 assigned, Pro x 6 scheduled: the 6 free licenses are free until the
    # term end only, so none is assigned; the Pro subscription renews with 6 licenses and the same 6 users
    shop = Shop(engine)
    shop.order(ChangePlan("business", 12), key="buy")
    staff = people(shop, 12)
    for user in staff[:6]:
        assign(shop, "business", user)
    shop.order(ChangePlan("pro", 6), key="downgrade")

    for user in staff[6:]:
        with pytest.raises(ProrataError) as refused:
            assign(shop, "business", user)
        assert (refused.value.code, refused.value.rule, refused.value.field) == (
            "assignment.pending_reduction", "L4", "subscription"
        )  # fmt: skip
        assert refused.value.data["remaining"] == 6

    report = run(shop, DEC_15)

    assert report.complete
    assert shop.held() == [("pro", 6)]
    assert holders(engine, "pro") == staff[:6]
    assert unassigned_lines(engine) == []


def test_no_seat_is_assigned_past_a_smaller_webinar_size_and_the_renewal_keeps_everyone_assigned(
    engine: Engine,
) -> None:
    # rules A4, A7, L4, U2: Webinar 1000 x 5 scheduled to become Webinar 500 x 2, two seats assigned: no third one
    shop = Shop(engine)
    shop.order(ChangePlan("business", 10), AddAddon("webinar_1000", 5), key="buy")
    staff = people(shop, 5)
    for user in staff:
        assign(shop, "business", user)
    for user in staff[:2]:
        assign(shop, "webinar_1000", user)
    webinar = str(shop.subscription_ids()["webinar_1000"])
    shop.order(ChangeAddon(webinar, quantity=2, product="webinar_500"), key="smaller")

    for user in staff[2:]:
        with pytest.raises(ProrataError) as refused:
            assign(shop, "webinar_1000", user)
        assert (refused.value.code, refused.value.rule) == ("assignment.pending_reduction", "L4")

    run(shop, DEC_15)

    assert shop.held() == [("business", 10), ("webinar_500", 2)]
    assert holders(engine, "webinar_500") == staff[:2]


def schedule_behind_the_rules(engine: Engine, shop: Shop, product: str, quantity: int, target: str) -> None:
    """A change scheduled for the term end as an earlier version could leave it: fewer than are assigned now."""
    subscription = shop.subscription_ids()[product]
    with engine.begin() as conn:
        conn.execute(
            insert(pending_changes).values(subscription_id=subscription, kind="product", effective=DEC_15,
                                           quantity=quantity, product=target)
        )  # fmt: skip


def test_a_renewal_below_the_assigned_licenses_unassigns_the_latest_with_an_audit_line_and_tells_the_owner(
    engine: Engine,
) -> None:
    # rules C7, L4, U1, A7: Business x 12, all 12 assigned, Pro x 6 scheduled before rule L4 held. The renewal
    # applies the downgrade as ordered and unassigns the 6 users assigned last (their add-on seat with them); each
    # is in the audit trail, Basic again, and the owner is e-mailed their names
    shop = Shop(engine)
    shop.add_user("owner@acme.test", role="owner")
    shop.order(ChangePlan("business", 12), AddAddon("large_meetings_500", 2), key="buy")
    staff = people(shop, 12)
    for minute, user in enumerate(staff):
        shop.clock.at = NOW + timedelta(minutes=minute)
        assign(shop, "business", user)
    assign(shop, "large_meetings_500", staff[0])
    assign(shop, "large_meetings_500", staff[11])
    schedule_behind_the_rules(engine, shop, "business", 6, "pro")

    report = run(shop, DEC_15)

    assert report.complete
    assert report.refused == []
    assert shop.held() == [("pro", 6), ("large_meetings_500", 2)]
    assert holders(engine, "pro") == staff[:6]
    assert holders(engine, "large_meetings_500") == [staff[0]]
    assert licensed(engine) == set(staff[:6])
    lines = unassigned_lines(engine)
    assert [(line["user"], line["reason"], line["user_type"]) for line in lines] == [
        *[(user, "licenses_reduced", "basic") for user in reversed(staff[6:])],
        (staff[11], "plan_license_ended", "basic"),
    ]
    assert {line["actor"] for line in lines} == {"billing run"}
    with engine.connect() as conn:
        mail = conn.execute(select(outbox.c.recipients, outbox.c.data).where(
            outbox.c.kind == "licenses_unassigned")).one()  # fmt: skip
    assert "owner@acme.test" in json.loads(mail.recipients)
    data = json.loads(mail.data)
    assert data["unassigned"] == [
        {"product": "pro", "users": [f"user{n:02}@acme.test" for n in range(11, 5, -1)]},
        {"product": "large_meetings_500", "users": ["user11@acme.test"]},
    ]
    _, body = compose("licenses_unassigned", "pl", None, data, names={"pro": {"pl": "Dla profesjonalistów"}})
    assert "Subskrypcje odnowiły się 15 gru 2026" in body
    assert "- Dla profesjonalistów: user11@acme.test, user10@acme.test" in body


def test_a_cancelled_plan_ends_with_every_assignment_and_its_users_are_basic(engine: Engine) -> None:
    # rules D1, D2, U1: Pro and Large Meetings cancelled together; at the term end both end, with their assignments
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3), AddAddon("large_meetings_500", 2), key="buy")
    staff = people(shop, 3)
    for user in staff:
        assign(shop, "pro", user)
    assign(shop, "large_meetings_500", staff[0])
    shop.order(Cancel(with_addons=True), key="cancel")
    run(shop, DEC_15 - timedelta(days=1))
    assert licensed(engine) == set(staff)  # rule D1: usable until the period ends

    run(shop, DEC_15)

    assert shop.held() == []
    assert held_by_ended_subscriptions(engine) == 0
    assert licensed(engine) == set()
    assert sorted((line["user"], line["product"], line["reason"]) for line in unassigned_lines(engine)) == sorted(
        [(user, "pro", "subscription_ended") for user in staff]
        + [(staff[0], "large_meetings_500", "subscription_ended")]
    )
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox).where(
            outbox.c.kind == "licenses_unassigned")).scalar_one() == 0  # fmt: skip


def test_a_one_month_product_ends_with_its_seats_and_its_holders_stay_licensed(engine: Engine) -> None:
    # rules A8, U2: the one-month Webinar ends a calendar month after its purchase; its seat goes, the license stays
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    ann = shop.add_user("ann@acme.test")
    assign(shop, "pro", ann)
    shop.clock.at = NOW + timedelta(days=3)
    shop.order(AddAddon("webinar_500_one_month", 1), key="webinar")
    assign(shop, "webinar_500_one_month", ann)

    run(shop, DEC_15)
    assert holders(engine, "webinar_500_one_month") == [ann]  # the month is not over
    run(shop, NOW + timedelta(days=3 + 31))

    assert shop.held() == [("pro", 2)]
    assert held_by_ended_subscriptions(engine) == 0
    assert user_type(engine, ann) == "licensed"
    assert [(line["product"], line["reason"], line["user_type"]) for line in unassigned_lines(engine)] == [
        ("webinar_500_one_month", "subscription_ended", "licensed")
    ]


def test_thirty_days_overdue_ends_every_assignment_with_the_subscriptions(engine: Engine) -> None:
    # rules I8, U1: the declined renewal, five attempts, overdue, and 30 days later everything ends
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), AddAddon("large_meetings_500", 1), key="buy")
    ann, bob = people(shop, 2)
    assign(shop, "pro", ann)
    assign(shop, "pro", bob)
    assign(shop, "large_meetings_500", bob)
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    for day in (0, 1, 3, 5, 7):
        run(shop, DEC_15 + timedelta(days=day))
    assert licensed(engine) == {ann, bob}  # overdue, not yet ended

    report = run(shop, DEC_15 + timedelta(days=7 + 30))

    assert report.accounts_cancelled == [shop.account_id]
    assert shop.held() == []
    assert held_by_ended_subscriptions(engine) == 0
    assert licensed(engine) == set()
    assert sorted((line["user"], line["product"]) for line in unassigned_lines(engine)) == sorted(
        [(ann, "pro"), (bob, "pro"), (bob, "large_meetings_500")]
    )
    assert {line["reason"] for line in unassigned_lines(engine)} == {"subscription_ended"}


def test_an_unassigned_user_may_be_assigned_again_after_the_renewal(engine: Engine) -> None:
    # rule U1: what renewed is what may be assigned: after Business x 12 -> Pro x 6 the six licenses are all taken
    shop = Shop(engine)
    shop.order(ChangePlan("business", 12), key="buy")
    staff = people(shop, 12)
    for minute, user in enumerate(staff):
        shop.clock.at = NOW + timedelta(minutes=minute)
        assign(shop, "business", user)
    schedule_behind_the_rules(engine, shop, "business", 6, "pro")
    run(shop, DEC_15)

    with pytest.raises(ProrataError) as refused:
        assign(shop, "pro", staff[11])
    assert refused.value.code == "assignment.no_free_license"


# ------------------------------------------------------------------------------------- data from earlier versions
def before_the_repair() -> str:
    """The revision migration 0012 follows (whatever others are chained before it)."""
    script = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://")))
    down = script.get_revision("0012").down_revision
    assert isinstance(down, str)
    return down


def test_the_migration_ends_what_earlier_versions_left_assigned_and_tells_the_owner(
    database_url: str,
) -> None:
    # rules D1, I8, L4, A7, U1: an ended Pro still held 3 assignments and its users were Licensed; a Business x 12
    # with 12 users had renewed to Pro x 6. The migration ends the first three and the six assigned last (with
    # the seat one of them held), audits each, makes them Basic, and e-mails the second account's owner
    engine = create_database_engine(database_url)
    try:
        # the history is written by today's code at today's schema, then the schema is taken back to the version
        # before the repair (today's code reads columns that version lacks), and brought forward again below
        migrate(engine)
        ended_shop = Shop(engine, code="ended")
        ended_shop.order(ChangePlan("pro", 3), key="buy")
        gone = people(ended_shop, 3)
        for user in gone:
            assign(ended_shop, "pro", user)
        shop = Shop(engine, code="acme")
        shop.add_user("owner@acme.test", role="owner")
        shop.order(ChangePlan("business", 12), AddAddon("large_meetings_500", 2), key="buy")
        staff = [shop.add_user(f"staff{n:02}@acme.test") for n in range(12)]
        for minute, user in enumerate(staff):
            shop.clock.at = NOW + timedelta(minutes=minute)
            assign(shop, "business", user)
        assign(shop, "large_meetings_500", staff[0])
        assign(shop, "large_meetings_500", staff[11])
        with engine.begin() as conn:
            conn.execute(update(subscriptions).where(subscriptions.c.account_id == ended_shop.account_id)
                         .values(status="ended", ended_at=DEC_15))  # fmt: skip
            conn.execute(update(subscriptions).where(subscriptions.c.product == "business")
                         .values(product="pro", quantity=6))  # fmt: skip
        with pytest.raises(ProrataError) as stuck:
            shop.order(SetLicenses(7), key="more")
        assert stuck.value.code == "subscription.assigned"  # such an account could neither order nor renew
        command.downgrade(alembic_config(engine), before_the_repair())

        migrate(engine)

        assert held_by_ended_subscriptions(engine) == 0
        assert holders(engine, "pro") == staff[:6]
        assert holders(engine, "large_meetings_500") == [staff[0]]
        assert licensed(engine) == set(staff[:6])
        lines = unassigned_lines(engine)
        assert {line["actor"] for line in lines} == {"migration"}
        assert sorted((line["user"], line["reason"]) for line in lines) == sorted(
            [(user, "subscription_ended") for user in gone]
            + [(user, "licenses_reduced") for user in staff[6:]]
            + [(staff[11], "plan_license_ended")]
        )
        with engine.connect() as conn:
            mails = conn.execute(select(outbox.c.account_id, outbox.c.recipients, outbox.c.data).where(
                outbox.c.kind == "licenses_unassigned")).all()  # fmt: skip
        assert [(m.account_id, json.loads(m.recipients)) for m in mails] == [(shop.account_id, ["owner@acme.test"])]
        assert json.loads(mails[0].data)["unassigned"] == [
            {"product": "pro", "users": [f"staff{n:02}@acme.test" for n in range(11, 5, -1)]},
            {"product": "large_meetings_500", "users": ["staff11@acme.test"]},
        ]
        assert shop.order(SetLicenses(7), key="more-again").status == "placed"  # the account is usable again
        migrate(engine)  # again: nothing more to do
        assert len(unassigned_lines(engine)) == len(lines)
    finally:
        engine.dispose()
