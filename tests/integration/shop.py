"""A shop for the persistence tests: an account with a card on file, a settable clock, the sandbox gateway and the
database unit of work, wired as the application wires them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from prorata.adapters.db.accounts import create_account
from prorata.adapters.db.entitlements import entitlements_reader
from prorata.adapters.db.invoice_rows import AMOUNT_PAID
from prorata.adapters.db.schema import credit_ledger, invoices, payment_methods, subscriptions, users
from prorata.adapters.db.sellers import SellerVersions
from prorata.adapters.db.unit_of_work import SqlUnitOfWork
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.adapters.payments.stripe_gateway import StripeGateway, StripeSettings
from prorata.domain.cart import Change
from prorata.domain.dunning import DunningPolicy
from prorata.domain.payments import ChargeResult
from prorata.domain.seller import Seller
from prorata.services.place_order import OrderResult, PlaceOrder, place_order
from tests.helpers import CATALOG
from tests.stripe_standin import StripeStandIn
from tests.verified import assert_books_balance

NOW = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)


@dataclass
class FixedClock:
    at: datetime = NOW

    def now(self) -> datetime:
        return self.at


def stripe_gateway(standin: StripeStandIn) -> StripeGateway:
    """The Stripe adapter pointed at the stand-in, giving up on an answer after one second (and one retry)."""
    return StripeGateway(StripeSettings(standin.secret_key, standin.publishable_key, standin.webhook_secret,
                                        api_base=standin.url, timeout=1.0, retries=1))  # fmt: skip


class Shop:
    """An account with a card on file, and the ports wired to the database under test."""

    def __init__(
        self, engine: Engine, card: str = "4242424242424242", code: str = "acme", seller_time_zone: str = "UTC",
        stripe: StripeStandIn | None = None, dunning: DunningPolicy | None = None, seller: Seller | None = None,
    ) -> None:  # fmt: skip
        """With ``stripe``, the Stripe adapter against the local stand-in for Stripe's API; the sandbox otherwise.
        ``dunning``: the installation's schedule (rule I8), the default one unless given. ``seller``: kept with each
        document issued (rule I2), as the application keeps the configured one; none unless given."""
        self.engine = engine
        self.dunning = dunning or DunningPolicy()
        self.sellers = None if seller is None else SellerVersions(seller)
        self.seller_time_zone = seller_time_zone
        self.stripe = stripe
        self.gateway: SandboxGateway | StripeGateway = SandboxGateway() if stripe is None else stripe_gateway(stripe)
        self.clock = FixedClock()
        self.customer = ""
        with engine.begin() as conn:
            self.account_id = create_account(
                conn, code=code, name=code.title(), currency="USD", time_zone="UTC", country="US", now=NOW
            )
            if isinstance(self.gateway, StripeGateway):
                self.customer = self.gateway.create_customer(code, code.title(), None, f"customer-{code}")
            self.set_card(conn, card)

    def set_card(self, conn: object, number: str, *, backup: bool = False) -> int:
        """A card on file, the default one (or with ``backup``, the backup method, rule BM1): tokenized by the
        sandbox, or saved at Stripe as Stripe.js saves it (SetupIntent). Its id."""
        if isinstance(self.gateway, StripeGateway):
            assert self.stripe is not None
            setup, _secret = self.gateway.setup_intent(self.customer, f"setup-{self.customer}-{number}-{id(conn)}")
            self.stripe.confirm_setup(setup, number)
            saved = self.gateway.saved_method(setup, self.customer)
            assert saved.card is not None
            token, details, gateway = saved.token, saved.card, "stripe"
        else:
            token, details = self.gateway.tokenize_card(number, 12, 2030, date(2026, 11, 15))
            gateway = "sandbox"
        return int(
            conn.execute(  # type: ignore[attr-defined]
                insert(payment_methods).values(
                    account_id=self.account_id, kind="card", gateway=gateway, token=token, brand=details.brand.value,
                    last4=details.last4, exp_month=12, exp_year=2030, is_default=not backup, created_at=NOW,
                    # named only when set: a shop may write at an earlier schema, before backups existed
                    **({"is_backup": True} if backup else {}),
                ).returning(payment_methods.c.id)
            ).scalar_one()
        )  # fmt: skip

    def crash_after_charge(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The next charge is taken at the gateway, then the process dies before it writes the answer."""
        charge = self.gateway.charge

        def dies(*args: Any) -> ChargeResult:
            charge(*args)
            raise SystemExit("killed after the gateway answered")

        monkeypatch.setattr(self.gateway, "charge", dies)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, CATALOG.granularity, self.seller_time_zone,
                             entitlements=entitlements_reader(CATALOG, self.dunning), sellers=self.sellers)  # fmt: skip

    def order(self, *changes: Change, key: str = "k1", terms: bool = True) -> OrderResult:
        command = PlaceOrder(self.account_id, changes, key, actor="owner@acme.test", terms_version="2026-01",
                             terms_accepted=terms)  # fmt: skip
        return place_order(command, uow=self.uow, clock=self.clock, gateway=self.gateway, catalog=CATALOG)

    def prepay(self, amount: int = 10**8) -> None:
        """A credit balance that pays the next orders: they are placed in one transaction (rule K8)."""
        with self.engine.begin() as conn:
            conn.execute(insert(credit_ledger).values(account_id=self.account_id, amount=amount, currency="USD",
                                                      reason="prepaid", created_at=NOW))  # fmt: skip

    def count(self, table: object, *where: object) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]

    def paid_for(self, invoice_id: int) -> int:
        """What payments paid for an invoice (rule I3): an issued invoice's amount due is what is still owed."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(AMOUNT_PAID).where(invoices.c.id == invoice_id)).scalar_one())

    def balance(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(credit_ledger.c.amount), 0))).scalar_one())

    def held(self) -> list[tuple[str, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(subscriptions.c.product, subscriptions.c.quantity)
                .where(subscriptions.c.status == "active", subscriptions.c.account_id == self.account_id)
                .order_by(subscriptions.c.id)
            )
            return [(r.product, r.quantity) for r in rows]

    def add_user(self, email: str, role: str = "member") -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(users)
                    .values(account_id=self.account_id, email=email, name=email.split("@")[0], role=role,
                            created_at=NOW)
                    .returning(users.c.id)
                ).scalar_one()
            )  # fmt: skip

    def assert_books_balance(self) -> None:
        """``prorata verify``'s checks on the books the test left. A shop's account has no contact and, until a
        test adds one, no owner: its e-mails are written to nobody, so the e-mail invariant (I4) is not asked."""
        assert_books_balance(self.engine, self.clock, emails=False)

    def subscription_ids(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(subscriptions.c.product, subscriptions.c.id).where(
                    subscriptions.c.account_id == self.account_id, subscriptions.c.status == "active"
                )
            )
            return {r.product: int(r.id) for r in rows}
