"""Wiring: the adapters behind the services' ports, built from the settings (``config.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine

from prorata.adapters.db.billing_run_log import SqlBillingRunLog
from prorata.adapters.db.clock import DatabaseClock
from prorata.adapters.db.database import create_database_engine
from prorata.adapters.db.entitlements import entitlements_reader
from prorata.adapters.db.sellers import SellerVersions
from prorata.adapters.db.unit_of_work import SqlUnitOfWork
from prorata.adapters.db.verify import SqlBooks, SqlVerificationLog
from prorata.adapters.mail.files import FileMailer
from prorata.adapters.mail.smtp import SmtpMailer, SmtpSettings
from prorata.adapters.passwords import HASHER, Argon2Hasher
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.adapters.payments.stripe_gateway import StripeGateway, StripeSettings
from prorata.adapters.vat_registry.vies import ViesRegistry
from prorata.adapters.webhooks.secrets import DerivedSecrets
from prorata.adapters.webhooks.sender import WebhookSender as HttpWebhookSender
from prorata.adapters.webhooks.sender import check_url as check_webhook_url
from prorata.catalogs import default_catalog, default_tax_rules, load_catalog, load_tax_rules
from prorata.config import (
    WebhookSettings,
    catalog_path,
    database_url,
    dunning,
    gateway,
    mail_dir,
    mail_from,
    portal_url,
    sandbox_latency_ms,
    secret_key,
    smtp,
    tax_path,
    terms_thresholds,
    vies,
    webhooks,
)
from prorata.domain.catalog import Catalog
from prorata.domain.dunning import DunningPolicy
from prorata.domain.errors import InvalidInput
from prorata.domain.payment_terms import TermsThresholds
from prorata.domain.tax import TaxRules


@dataclass
class App:
    engine: Engine
    catalog: Catalog
    clock: DatabaseClock
    gateway: SandboxGateway | StripeGateway
    tax: TaxRules
    mailer: SmtpMailer | FileMailer
    mail_from: str
    dunning: DunningPolicy  # rule I8: the one schedule every reader of it is handed (PRORATA_DUNNING_*)
    portal_url: str = "http://127.0.0.1:8000"  # the links e-mails carry start here (PRORATA_PORTAL_URL)
    hasher: Argon2Hasher = field(default_factory=lambda: HASHER)
    webhooks: WebhookSettings = field(default_factory=lambda: WebhookSettings())
    # rule NT1: who may be put on invoice terms (PRORATA_TERMS_THRESHOLDS)
    terms_thresholds: TermsThresholds = field(default_factory=TermsThresholds)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.catalog.granularity, self.tax.seller.time_zone,
                             entitlements=entitlements_reader(self.catalog, self.dunning),
                             sellers=self.sellers)  # fmt: skip

    @cached_property
    def sellers(self) -> SellerVersions:
        """The configured seller, kept with every document this process issues (rule I2)."""
        return SellerVersions(self.tax.seller)

    @cached_property
    def secrets(self) -> DerivedSecrets:
        """The webhook signing secrets; the key file is made only when a webhook first needs it."""
        return DerivedSecrets.from_config(*secret_key())

    @cached_property
    def vat_registry(self) -> ViesRegistry | None:
        """The EU VAT registry (rule T2; ``PRORATA_VIES_URL``), or None when checks are off."""
        url, timeout = vies()
        return None if url is None else ViesRegistry(url, timeout)

    def check_webhook_url(self, url: str) -> str | None:
        return check_webhook_url(url, self.webhooks.allow_private)

    def webhook_sender(self) -> HttpWebhookSender:
        return HttpWebhookSender(allow_private=self.webhooks.allow_private, timeout=self.webhooks.timeout)

    def billing_runs(self) -> SqlBillingRunLog:
        """Where billing runs are told as they go (the console lists them)."""
        return SqlBillingRunLog(self.engine)

    def books(self) -> SqlBooks:
        """A read-only snapshot of the books for ``verify_books``."""
        return SqlBooks(self.engine, self.catalog)

    def verification_log(self) -> SqlVerificationLog:
        return SqlVerificationLog(self.engine)

    def close(self) -> None:
        self.engine.dispose()


STRIPE_JS = "https://js.stripe.com/v3/"  # Stripe.js is always loaded from Stripe (PCI); tests serve a stand-in


def read_settings() -> tuple[Catalog, TaxRules, DunningPolicy]:
    """The catalog, the tax configuration (the seller) and the dunning schedule, each read and checked: a setting
    that cannot be used is refused naming it, before any database is opened or any port listened on."""
    path = catalog_path()
    catalog = load_catalog(path) if path else default_catalog()
    taxes = tax_path()
    tax = load_tax_rules(taxes) if taxes else default_tax_rules()
    return catalog, tax, dunning()


def check_settings() -> None:
    """Refuse, naming the setting, what ``build`` would refuse without a database (``prorata serve`` checks before it
    starts its workers, each of which builds its own App)."""
    read_settings()
    terms_thresholds()
    _gateway()
    _mailer()


def build(url: str | None = None) -> App:
    catalog, tax, policy = read_settings()
    gateway, mailer = _gateway(), _mailer()
    engine = create_database_engine(url or database_url())
    clock = DatabaseClock(engine)
    clock.refresh()
    return App(engine, catalog, clock, gateway, tax, mailer, mail_from() or tax.seller.email, policy, portal_url(),
               webhooks=webhooks(), terms_thresholds=terms_thresholds())  # fmt: skip


def _sandbox_latency() -> int:
    value = sandbox_latency_ms()
    if value is None:
        return 0
    if not value.strip().isdigit():
        raise InvalidInput("config.sandbox_latency", "PRORATA_SANDBOX_LATENCY_MS: 0 or more milliseconds",
                           field="PRORATA_SANDBOX_LATENCY_MS")  # fmt: skip
    return int(value)


def _gateway() -> SandboxGateway | StripeGateway:
    """The payment gateway of ``PRORATA_GATEWAY`` (rule Y4): the sandbox unless Stripe is chosen, with its keys."""
    chosen = gateway()
    if chosen["name"] == "sandbox":
        return SandboxGateway(_sandbox_latency())
    if chosen["name"] != "stripe":
        raise InvalidInput("config.gateway", "PRORATA_GATEWAY: sandbox or stripe", field="PRORATA_GATEWAY")
    missing = [name.upper() for name in ("stripe_secret_key", "stripe_publishable_key", "stripe_webhook_secret")
               if not chosen.get(name)]  # fmt: skip
    if missing:
        raise InvalidInput("config.stripe_keys", f"{', '.join(missing)}: required with PRORATA_GATEWAY=stripe",
                           field=missing[0])  # fmt: skip
    return StripeGateway(StripeSettings(chosen["stripe_secret_key"], chosen["stripe_publishable_key"],
                                        chosen["stripe_webhook_secret"], chosen.get("stripe_api_base"),
                                        js_url=chosen.get("stripe_js_url") or STRIPE_JS))  # fmt: skip


def _mailer() -> SmtpMailer | FileMailer:
    settings = smtp()
    if settings is None:
        return FileMailer(mail_dir())
    tls = settings.get("tls", "none")
    if tls not in ("none", "starttls", "ssl"):
        raise InvalidInput("config.smtp_tls", "PRORATA_SMTP_TLS: none, starttls or ssl", field="PRORATA_SMTP_TLS")
    port = settings.get("port", "465" if tls == "ssl" else "25")
    if not port.isdigit():
        raise InvalidInput("config.smtp_port", "PRORATA_SMTP_PORT: a port number", field="PRORATA_SMTP_PORT")
    return SmtpMailer(SmtpSettings(settings["host"], int(port), tls, settings.get("user"), settings.get("password")))
