"""``prorata demo``: the default catalog with two demo accounts, so that a newcomer has something to look at.

- ``demo-pro``: Pro with 3 licenses, billed monthly in USD (New York); two of the licenses assigned.
- ``demo-business``: Business with 12 licenses, billed monthly in PLN (Warsaw), Large Meetings 500 for two users;
  seven licenses assigned. Both paid their first invoice with the sandbox test card 4242 4242 4242 4242.
- ``demo-basic``: a free (Basic) account in PLN with a card on file and four members, to walk the upgrade (rule K1).
- the discount code ``WELCOME20``: 20 % off for three billing periods on the whole order (rules DC1, DC2), to enter
  in a demo account's cart or on its Current Plans.

Each owner signs in to the portal with their e-mail and ``DEMO_PASSWORD``.
"""

from __future__ import annotations

from sqlalchemy import select

from prorata.adapters.db.schema import accounts, people, subscriptions, users
from prorata.adapters.db.web_sessions import set_password
from prorata.bootstrap import App
from prorata.domain.cart import AddAddon, Change, ChangePlan
from prorata.services.add_user import AddUser, add_user
from prorata.services.assign_license import Assignment, assign_license
from prorata.services.billing_information import AddCard, Contact, add_card, set_contacts
from prorata.services.discounts import CreateDiscountCode, create_discount_code
from prorata.services.open_account import OpenAccount, open_account
from prorata.services.operators import CreateOperator, create_operator
from prorata.services.place_order import PlaceOrder, place_order

DEMO = (
    # code, name, currency, zone, country, owner e-mail, members, cart, assigned plan licenses, add-on seats
    ("demo-pro", "Demo Pro Studio", "USD", "America/New_York", "US", "owner@demo-pro.test", 2,
     (ChangePlan("pro", 3),), 2, 0),
    ("demo-business", "Demo Business Sp. z o.o.", "PLN", "Europe/Warsaw", "PL", "owner@demo-business.test", 8,
     (ChangePlan("business", 12), AddAddon("large_meetings_500", 2)), 7, 2),
    ("demo-basic", "Demo Basic Sp. z o.o.", "PLN", "Europe/Warsaw", "PL", "owner@demo-basic.test", 4, (), 0, 0),
)  # fmt: skip
DEMO_CODE = "WELCOME20"  # 20 % off for three periods, on the whole order
DEMO_PASSWORD = "prorata-demo"  # a demonstration installation only: printed by `prorata demo`
DEMO_OPERATOR = ("operator@demo.test", "Demo Operator", "prorata-demo-console")  # the operator console's sign-in


def load_demo(app: App) -> list[str]:
    """Create the demo accounts unless they exist; returns what was done, a line each."""
    done: list[str] = [_demo_code(app)]
    for code, name, currency, zone, country, owner, members, cart, licensed, seats in DEMO:
        with app.engine.connect() as conn:
            exists = conn.execute(select(accounts.c.id).where(accounts.c.code == code)).first() is not None
            # an installation made before the portal had no passwords: its owners get the demo one
            unset = conn.execute(
                select(users.c.id)
                .outerjoin(people, people.c.id == users.c.person_id)
                .where(users.c.email == owner, people.c.password_hash.is_(None))
            ).scalar_one_or_none()
        if exists:
            if unset is not None:
                set_password(app.engine, int(unset), DEMO_PASSWORD)
            done.append(f"{code}: already there")
            continue
        account_id, members_ids = _open(app, code, name, currency, zone, country, owner, members)
        set_password(app.engine, members_ids[0], DEMO_PASSWORD)
        if not cart:
            done.append(f"{code}: Basic (free), owner {owner}")
            continue
        changes: tuple[Change, ...] = cart
        result = place_order(
            PlaceOrder(account_id, changes, f"demo-{code}", actor=owner, actor_user_id=members_ids[0],
                       terms_version="demo", terms_accepted=True),
            uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, tax=app.tax,
        )  # fmt: skip
        with app.engine.connect() as conn:
            held = dict(
                conn.execute(
                    select(subscriptions.c.product, subscriptions.c.id).where(subscriptions.c.account_id == account_id)
                ).all()
            )
        plan_id = next(sub_id for product, sub_id in held.items() if app.catalog.products[product].is_plan)
        for user_id in members_ids[:licensed]:
            assign_license(Assignment(account_id, plan_id, user_id), uow=app.uow, clock=app.clock,
                           catalog=app.catalog, actor=owner)  # fmt: skip
        for sub_id in held.values():
            if sub_id != plan_id:
                for user_id in members_ids[:seats]:
                    assign_license(Assignment(account_id, sub_id, user_id), uow=app.uow, clock=app.clock,
                                   catalog=app.catalog, actor=owner)  # fmt: skip
        done.append(f"{code}: {result.status}, invoice {result.invoice_number}, owner {owner}")
    owners = ", ".join(row[5] for row in DEMO)
    done.append(f"portal sign-in: {owners} with the password {DEMO_PASSWORD}")
    email, name, password = DEMO_OPERATOR
    with app.uow() as tx:
        known = tx.operator_by_email(email) is not None
    if not known:
        create_operator(CreateOperator(email, name, password, by="demo"), uow=app.uow, hasher=app.hasher,
                        now=app.clock.now())  # fmt: skip
    done.append(f"operator console (/operator) sign-in: {email} with the password {password}")
    return done


def _demo_code(app: App) -> str:
    """The demo discount code, through the use case the API and the CLI use (rule DC2)."""
    with app.uow() as tx:
        known = tx.discount_code(DEMO_CODE) is not None
    if not known:
        create_discount_code(CreateDiscountCode(DEMO_CODE, "repeating", actor="demo", periods=3, percent=2000),
                             uow=app.uow, clock=app.clock, catalog=app.catalog)  # fmt: skip
    return f"discount code {DEMO_CODE}: 20 % off for three periods{' (already there)' if known else ''}"


def _open(
    app: App, code: str, name: str, currency: str, zone: str, country: str, owner: str, members: int
) -> tuple[int, list[int]]:
    """The account through the use cases the API and the portal use: opened, its users, contacts and card."""
    account_id = open_account(OpenAccount(code, name, currency, zone, country, actor="demo"), uow=app.uow,
                              clock=app.clock)  # fmt: skip
    emails = [owner] + [f"user{n}@{owner.split('@')[1]}" for n in range(1, members + 1)]
    ids = [
        add_user(AddUser(account_id, email, email.split("@")[0].title(), "owner" if n == 0 else "member",
                         actor="demo", invite=False), uow=app.uow, clock=app.clock)
        for n, email in enumerate(emails)
    ]  # fmt: skip
    contact = Contact(
        name="Demo Owner", company=name, email=owner, address_line1="1 Demo Street",
        city="Warsaw" if country == "PL" else "New York", postal_code="00-001" if country == "PL" else "10001",
        country=country,
    )  # fmt: skip
    set_contacts(account_id, contact, None, uow=app.uow, clock=app.clock)
    add_card(AddCard(account_id, "4242424242424242", 12, app.clock.now().year + 3), uow=app.uow, clock=app.clock,
             gateway=app.gateway)  # fmt: skip
    return account_id, ids
