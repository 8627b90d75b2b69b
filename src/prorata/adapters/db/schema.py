"""The tables: what an account holds, what it was charged and paid, and who changed what (rules I1, I2, K6, K8, U1,
X3).

SQLAlchemy Core tables (the billing run writes in bulk; the services map rows to domain values themselves). Money is
BIGINT minor units with the currency beside it; instants are ``UTCDateTime``. Constraints carry the rules that the
database can hold by itself: one order per idempotency key (X3), one renewal invoice per account and billing date
(I1), invoice numbers unique within a series and year (I2), one assignment of a license per user (U1), at most one
pending change of each kind per subscription (L6). The credit ledger is append-only; the balance is the sum of its
entries.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from prorata.adapters.db.types import Money, UTCDateTime

# Stable constraint names, so that migrations name the same thing on SQLite and PostgreSQL
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> Column[int]:
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


def _fk(name: str, target: str, *, nullable: bool = False) -> Column[int]:
    return Column(
        name,
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey(f"{target}.id", ondelete="RESTRICT"),
        nullable=nullable,
        index=True,
    )


accounts = Table(
    "accounts",
    metadata,
    _id(),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("country", String(2), nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("managed_by_sales", Boolean, nullable=False, server_default="0"),
    Column("overdue_since", UTCDateTime),  # rule I8: cancelled once overdue for the dunning schedule's days
    Column("created_at", UTCDateTime, nullable=False),
    # rule TE1: the current certificate's state, pending or exempt (None: none), read wherever tax is decided
    Column("tax_exemption", String(16)),
    Column("terms_days", Integer),  # rule NT1: pays by invoice with these net terms (None: by card)
    CheckConstraint("status in ('active', 'overdue', 'cancelled')", name="status"),
    CheckConstraint("length(currency) = 3", name="currency"),
)
# the dashboard lists the overdue accounts, oldest first, a few among all (adapters/db/metrics.py)
Index("ix_accounts_overdue", accounts.c.overdue_since, sqlite_where=text("status = 'overdue'"),
      postgresql_where=text("status = 'overdue'"))  # fmt: skip

# A person who signs in: one e-mail address, stored normalised (trimmed, NFC, lower case) and unique across the
# installation, one password (argon2). Every user row of every account this person belongs to points here.
people = Table(
    "people",
    metadata,
    _id(),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(255)),
    Column("password_changed_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
)

# Single-use, expiring links sent by e-mail: a password reset, an invitation to set one. Only the SHA-256 is kept.
person_tokens = Table(
    "person_tokens",
    metadata,
    _id(),
    _fk("person_id", "people"),
    Column("purpose", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    CheckConstraint("purpose in ('reset', 'invitation')", name="purpose"),
)

# Sign-in attempts per e-mail and per client address (both kept as SHA-256), shared by every server process: too
# many in the window lock the key for a delay that doubles with each lock (services/sign_in.py)
sign_in_throttle = Table(
    "sign_in_throttle",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("locks", Integer, nullable=False, server_default="0"),
    Column("locked_until", UTCDateTime),
)

users = Table(
    "users",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    Column("email", String(320), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("type", String(16), nullable=False, server_default="basic"),
    # who signs in as this user (one person, one e-mail, across every account); the e-mail above is theirs
    _fk("person_id", "people", nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "email"),
    CheckConstraint("role in ('owner', 'admin', 'member')", name="role"),
    CheckConstraint("type in ('basic', 'licensed')", name="type"),
)

contacts = Table(
    "contacts",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("company", String(200)),
    Column("email", String(320), nullable=False),
    Column("phone", String(40)),
    Column("address_line1", String(200), nullable=False),
    Column("address_line2", String(200)),
    Column("city", String(100), nullable=False),
    Column("postal_code", String(20), nullable=False),
    Column("region", String(100)),
    Column("country", String(2), nullable=False),
    Column("tax_id", String(32)),
    UniqueConstraint("account_id", "kind"),
    CheckConstraint("kind in ('sold_to', 'bill_to')", name="kind"),
)

payment_methods = Table(
    "payment_methods",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    Column("kind", String(16), nullable=False),
    Column("gateway", String(32), nullable=False),
    Column("token", String(128), nullable=False),  # rule Y2: a gateway token, never a card number
    Column("brand", String(32)),
    Column("last4", String(4)),
    Column("exp_month", Integer),
    Column("exp_year", Integer),
    Column("paypal_email", String(320)),
    Column("is_default", Boolean, nullable=False, server_default="0"),
    # rule BM1: charged only when a renewal's charge on the default (primary) method is declined
    Column("is_backup", Boolean, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime),  # kept for the payments that used it; never charged again
    # rule K4: the card's own billing address; all empty when it is the Bill-To contact's
    Column("billing_address_line1", String(200)),
    Column("billing_address_line2", String(200)),
    Column("billing_city", String(100)),
    Column("billing_postal_code", String(20)),
    Column("billing_region", String(100)),
    Column("billing_country", String(2)),
    CheckConstraint("kind in ('card', 'paypal')", name="kind"),
    CheckConstraint("not (is_default and is_backup)", name="backup_not_default"),  # rule BM1
)
# Rule BM1: an account has at most one backup method (a removed method is never the backup)
Index("ux_payment_methods_backup", payment_methods.c.account_id, unique=True, sqlite_where=text("is_backup"),
      postgresql_where=text("is_backup"))  # fmt: skip

# Rule N1: up to 5 extra addresses of an account that receive its new-invoice e-mails (the Sold-To and Bill-To
# contacts receive every billing e-mail); stored normalised (trimmed, lower case), each once per account
notice_addresses = Table(
    "notice_addresses",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    Column("email", String(320), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "email"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    Column("product", String(64), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("anchor", UTCDateTime, nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False, index=True),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    CheckConstraint("quantity >= 1", name="quantity"),
    CheckConstraint("period_start < period_end", name="period"),
    CheckConstraint("interval in ('month', 'year')", name="interval"),
    CheckConstraint("status in ('active', 'ended')", name="status"),
)
Index("ix_subscriptions_due", subscriptions.c.status, subscriptions.c.period_end)

# What was actually charged for service in the current period (rule C5: credits reverse these, never more)
subscription_charges = Table(
    "subscription_charges",
    metadata,
    _id(),
    _fk("subscription_id", "subscriptions"),
    Column("amount", Money, nullable=False),
    Column("service_start", UTCDateTime, nullable=False),
    Column("service_end", UTCDateTime, nullable=False),
    _fk("invoice_line_id", "invoice_lines", nullable=True),
    Column("tax_rate", Integer, nullable=False, server_default="0"),  # basis points; credits reverse it (rule T3)
    CheckConstraint("amount >= 0", name="amount"),
)

pending_changes = Table(
    "pending_changes",
    metadata,
    _id(),
    _fk("subscription_id", "subscriptions"),
    Column("kind", String(16), nullable=False),
    Column("effective", UTCDateTime, nullable=False),
    Column("quantity", Integer),
    Column("product", String(64)),
    UniqueConstraint("subscription_id", "kind"),
    CheckConstraint("kind in ('quantity', 'product', 'cancel')", name="kind"),
)

orders = Table(
    "orders",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    Column("idempotency_key", String(128), nullable=False),
    Column("request_hash", String(64), nullable=False),  # the same key with another cart is refused, not replayed
    Column("status", String(16), nullable=False),
    Column("cart", Text, nullable=False),  # the cart as JSON
    Column("quote", Text, nullable=False),  # the quote as shown (rule C6)
    Column("tos_version", String(32)),  # rule K6: who accepted which Terms of Service, when
    _fk("tos_accepted_by", "users", nullable=True),
    Column("tos_accepted_at", UTCDateTime),
    Column("failure_code", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "idempotency_key"),
    CheckConstraint("status in ('pending', 'placed', 'failed')", name="status"),
)

# rule I2: the seller as issued documents name it, one row per version of the configured seller (its identity as
# canonical JSON: name, address, tax ID, country, e-mail, time zone, bank account, footer texts; ``digest`` its
# SHA-256), so that a later change of the configuration never changes an issued invoice (``adapters/db/sellers.py``)
sellers = Table(
    "sellers",
    metadata,
    _id(),
    Column("digest", String(64), nullable=False),
    Column("identity", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("digest"),
)

invoices = Table(
    "invoices",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    _fk("order_id", "orders", nullable=True),
    Column("billing_date", UTCDateTime),  # set on renewal invoices: one per account and date (rule I1)
    Column("series", String(16), nullable=False, server_default="INV"),
    Column("year", Integer),
    Column("number", Integer),  # assigned when finalized (rule I2)
    Column("status", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal", Money, nullable=False),
    Column("tax", Money, nullable=False, server_default="0"),
    Column("total", Money, nullable=False),
    Column("credit_applied", Money, nullable=False, server_default="0"),
    Column("amount_due", Money, nullable=False),  # what is still owed: 0 once paid or void
    Column("issued_at", UTCDateTime),
    Column("due_at", UTCDateTime),
    Column("paid_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("tax_country", String(2)),  # rule T1: the Sold-To country the tax was decided for
    Column("reverse_charge", Boolean, nullable=False, server_default="0"),  # rule T2: the note is printed
    # rule I2: a hash of what was issued (head, lines, parties, what a credit note corrects), sealed when it is
    # numbered; ``prorata verify`` computes it again to show any edit made afterwards (adapters/db/seal.py)
    Column("content_hash", String(64)),
    # rule I2: the seller the document was issued by (empty on documents issued before it was kept: the configured
    # seller is theirs); never looked up by, so not indexed
    Column("seller_id", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("sellers.id", ondelete="RESTRICT")),
    # rule NT1: issued on these net terms (due ``terms_days`` after the issue): never charged by collection
    Column("terms_days", Integer),
    UniqueConstraint("series", "year", "number"),
    UniqueConstraint("account_id", "billing_date"),
    CheckConstraint("status in ('draft', 'open', 'paid', 'void')", name="status"),
    CheckConstraint("credit_applied >= 0 and amount_due >= 0", name="amounts"),
    CheckConstraint("status = 'draft' or number is not null", name="numbered"),
)
Index("ix_invoices_issued_at", invoices.c.issued_at)  # `prorata verify --since` reads the documents of a period
# the dashboard's dunning funnel reads the open invoices, a few among a million (adapters/db/metrics.py)
Index("ix_invoices_open", invoices.c.account_id, sqlite_where=text("status = 'open'"),
      postgresql_where=text("status = 'open'"))  # fmt: skip

invoice_lines = Table(
    "invoice_lines",
    metadata,
    _id(),
    _fk("invoice_id", "invoices"),
    Column("position", Integer, nullable=False),
    Column("kind", String(8), nullable=False),
    _fk("subscription_id", "subscriptions", nullable=True),
    Column("product", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_amount", Money),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("used", BigInteger, nullable=False),
    Column("whole", BigInteger, nullable=False),
    Column("amount", Money, nullable=False),
    Column("basis", Money),
    Column("tax_rate", Integer, nullable=False, server_default="0"),  # basis points (rule T3)
    Column("tax", Money, nullable=False, server_default="0"),  # on the rounded amount, half up (rule T3)
    # rule C3: the period ``whole`` measures (the anchor period a charge is prorated against, the subscription's
    # period a credit reverses part of); empty on credit notes' lines and on lines issued before it was kept
    Column("whole_start", UTCDateTime),
    Column("whole_end", UTCDateTime),
    # rule DC2: on a discount line, the code (its description, which the seal covers, names it too)
    Column("discount_code", String(32)),
    UniqueConstraint("invoice_id", "position"),
    CheckConstraint("kind in ('charge', 'credit', 'discount')", name="kind"),
    # a discount line takes off (a credit note's reversal of one gives back): either sign
    CheckConstraint(
        "(kind = 'charge' and amount >= 0) or (kind = 'credit' and amount <= 0) or kind = 'discount'", name="sign"
    ),
)

# Rule I2: a credit note is an invoice of its own series (CN) that reverses lines of the invoice it corrects
# Rule I2: the Sold-To and Bill-To contacts as they stood when the invoice was issued. Documents print these, so a
# later change of address never edits an issued invoice.
invoice_parties = Table(
    "invoice_parties",
    metadata,
    Column(
        "invoice_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("invoices.id", ondelete="RESTRICT"),
        primary_key=True,
    ),
    Column("kind", String(16), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("company", String(200)),
    Column("email", String(320), nullable=False),
    Column("phone", String(40)),
    Column("address_line1", String(200), nullable=False),
    Column("address_line2", String(200)),
    Column("city", String(100), nullable=False),
    Column("postal_code", String(20), nullable=False),
    Column("region", String(100)),
    Column("country", String(2), nullable=False),
    Column("tax_id", String(32)),
    CheckConstraint("kind in ('sold_to', 'bill_to')", name="kind"),
)

credit_notes = Table(
    "credit_notes",
    metadata,
    Column(
        "invoice_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("invoices.id", ondelete="RESTRICT"),
        primary_key=True,
    ),
    _fk("corrects_id", "invoices"),
    Column("positions", Text, nullable=False),  # JSON: the corrected invoice's line positions it reverses
    Column("void", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Billing e-mails (rules I4, I8, L3), written in the transaction of the event they tell about and sent afterwards.
# ``message_id`` is fixed when the row is written, so a message sent again after a crash carries the same Message-ID.
outbox = Table(
    "outbox",
    metadata,
    _id(),
    _fk("account_id", "accounts", nullable=True),  # none: a message to a person (a password reset)
    _fk("invoice_id", "invoices", nullable=True),  # attached as PDF when set
    Column("kind", String(32), nullable=False),
    Column("language", String(8), nullable=False),
    Column("recipients", Text, nullable=False),  # JSON list of addresses
    Column("data", Text, nullable=False),  # JSON: what the message says besides the invoice
    Column("message_id", String(200), nullable=False, unique=True),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("claimed_at", UTCDateTime),
    Column("sent_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("status in ('pending', 'claimed', 'sent')", name="status"),
)
Index("ix_outbox_unsent", outbox.c.status, outbox.c.id)

# Rule I2: a locked counter row per series and year hands out numbers inside the finalizing transaction
invoice_counters = Table(
    "invoice_counters",
    metadata,
    Column("series", String(16), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last_number", Integer, nullable=False),
)

payments = Table(
    "payments",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    _fk("invoice_id", "invoices"),
    _fk("payment_method_id", "payment_methods", nullable=True),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),  # an intent is written before the gateway is called
    Column("gateway", String(32), nullable=False),
    Column("gateway_reference", String(128)),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("failure_code", String(64)),
    Column("attempt", Integer, nullable=False, server_default="1"),
    # rule BM1: a renewal's charge made to the backup method after the primary declined, in the same attempt
    Column("backup", Boolean, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("settled_at", UTCDateTime),
    CheckConstraint("amount > 0", name="amount"),
    # credited: the money was received but the invoice was no longer owed, so all of it went to the credit balance
    # action_required: the gateway waits for the customer to confirm it (3-D Secure); it is live until they do
    CheckConstraint("status in ('pending', 'action_required', 'succeeded', 'failed', 'credited')", name="status"),
)
# Rule X3: at most one payment of an invoice is in flight or has paid it, whatever a caller does. Paying locks the
# account and then the invoice and checks this first; the index holds it even against a caller that did not.
LIVE_PAYMENT = "status in ('pending', 'action_required', 'succeeded')"
Index(
    "ux_payments_live_invoice",
    payments.c.invoice_id,
    unique=True,
    sqlite_where=text(LIVE_PAYMENT),
    postgresql_where=text(LIVE_PAYMENT),
)

# Rules R1, R2: money a credit note gives back to the original payment method, through the gateway. One row per credit
# note (never two refunds in flight for one note); a retry is a new attempt of the same row with a new idempotency key
# (``refund-<id>-attempt-<n>``). ``credited``: the refund failed and its amount was sent to the credit balance instead.
refunds = Table(
    "refunds",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    Column(
        "credit_note_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("invoices.id", ondelete="RESTRICT"),
        nullable=False,
        unique=True,
    ),
    _fk("invoice_id", "invoices"),  # the paid invoice the note corrects
    _fk("payment_id", "payments"),  # the charge refunded
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("gateway", String(32), nullable=False),
    Column("gateway_reference", String(128)),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("failure_code", String(64)),
    Column("attempt", Integer, nullable=False, server_default="1"),
    Column("requested_by", String(16), nullable=False),
    Column("override_reason", Text),  # rule R1: why the operator refunded outside the 30 days
    Column("created_at", UTCDateTime, nullable=False),
    Column("settled_at", UTCDateTime),
    CheckConstraint("amount > 0", name="amount"),
    CheckConstraint("status in ('pending', 'succeeded', 'failed', 'credited')", name="status"),
    CheckConstraint("requested_by in ('customer', 'operator')", name="requested_by"),
)

credit_ledger = Table(
    "credit_ledger",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    Column("amount", Money, nullable=False),  # signed: credits in, usage out; the balance is the sum
    Column("currency", String(3), nullable=False),
    Column("reason", String(32), nullable=False),
    _fk("invoice_id", "invoices", nullable=True),
    _fk("payment_id", "payments", nullable=True),  # a payment received for an invoice no longer owed (overpayment)
    Column("created_at", UTCDateTime, nullable=False),
    Column("note", Text),  # credit an operator added by hand: their reason
    Column("grant_key", String(128)),  # ... and "<account id>:<request key>": a request sent twice adds it once
    CheckConstraint("amount <> 0", name="amount"),
)
Index("uq_credit_ledger_grant_key", credit_ledger.c.grant_key, unique=True)

license_assignments = Table(
    "license_assignments",
    metadata,
    _id(),
    _fk("subscription_id", "subscriptions"),
    _fk("user_id", "users"),
    Column("assigned_at", UTCDateTime, nullable=False),
    UniqueConstraint("subscription_id", "user_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    _fk("account_id", "accounts", nullable=True),
    Column("actor", String(320), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", Text, nullable=False),  # JSON
    Column("at", UTCDateTime, nullable=False),
)

# Bearer API keys (REST API): per account, or an operator key (no account). Only a hash of the secret is kept.
api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    _fk("account_id", "accounts", nullable=True),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),  # shown to people to tell keys apart
    Column("secret_hash", String(128), nullable=False),  # SHA-256 of the whole key, hex
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("scope", String(16), nullable=False, server_default="full"),  # full or read_only: what the key may do
    Column("last_used_at", UTCDateTime),  # written at most once a minute per key, not on every request
    CheckConstraint("scope in ('full', 'read_only')", name="scope"),
)

# The gateway's own customer for an account (a real gateway keeps saved cards on it); never a secret
gateway_customers = Table(
    "gateway_customers",
    metadata,
    _fk("account_id", "accounts"),
    Column("gateway", String(32), nullable=False),
    Column("customer", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("account_id", "gateway"),
)

# Each gateway event (webhook) once, by the gateway's own id: a redelivered event is answered and not acted on again
gateway_events = Table(
    "gateway_events",
    metadata,
    Column("gateway", String(32), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("type", String(64), nullable=False),
    Column("object_id", String(128)),  # the payment, charge or refund it is about
    Column("received_at", UTCDateTime, nullable=False),
    Column("outcome", String(64), nullable=False),  # what it did: settled, already, ignored, unknown_payment ...
    PrimaryKeyConstraint("gateway", "event_id"),
)

# Portal sign-in sessions: the cookie carries a random token; only its hash is stored, with the CSRF secret
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    _fk("person_id", "people"),
    _fk("user_id", "users", nullable=True),  # the account chosen; none yet while a person of several accounts chooses
    Column("csrf_token", String(64), nullable=False),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    # the portal's cart and checkout progress as JSON (rule K3: the cart lives with the session, server-side)
    Column("state", Text, nullable=False, server_default="{}"),
)

# The console's operators: people who run the installation, apart from any account's people (their own table, so
# that no customer sign-in can open the console), and their console sessions (only the token's hash is kept)
operators = Table(
    "operators",
    metadata,
    _id(),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),  # a disabled operator signs in no more; their sessions end
)

operator_sessions = Table(
    "operator_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "operator_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("operators.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("csrf_token", String(64), nullable=False),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Each run of the billing (``prorata bill``, ``clock advance``, the API's operator route), as the console lists it:
# its progress while it runs (accounts done of those due), then what it did (``summary``: counts, JSON) and what it
# left (``problems``: accounts refused and invoices not attempted, with their reasons, JSON)
billing_runs = Table(
    "billing_runs",
    metadata,
    _id(),
    Column("actor", String(320), nullable=False),
    Column("until", UTCDateTime, nullable=False),  # what was due by this instant was billed
    Column("status", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),  # real time, as sessions are: how long it took
    Column("finished_at", UTCDateTime),
    Column("accounts_due", Integer, nullable=False, server_default="0"),
    Column("accounts_done", Integer, nullable=False, server_default="0"),
    Column("summary", Text, nullable=False, server_default="{}"),
    Column("problems", Text, nullable=False, server_default="{}"),
    Column("error", Text),  # a run that failed: why
    CheckConstraint("status in ('running', 'finished', 'failed')", name="status"),
)

# `prorata verify`: each run of the checks of the books (domain/invariants.py), what it covered and what it found;
# the operator console shows the last one. ``violations`` holds the first ones found as JSON, ``counts`` all of them
# per code.
verification_runs = Table(
    "verification_runs",
    metadata,
    _id(),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("actor", String(320), nullable=False),
    Column("milliseconds", Integer, nullable=False),  # how long it took
    Column("scope", Text, nullable=False),  # JSON: {"account", "since"}
    Column("checks", Text, nullable=False),  # JSON: [{"code", "seconds", "violations"}]
    Column("violation_count", Integer, nullable=False),
    Column("counts", Text, nullable=False),  # JSON: {code: violations}
    Column("violations", Text, nullable=False),  # JSON: the first violations, each {code, rows, message, account}
)

# Installation settings: the simulation clock (rule X2) lives here
settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# What happened, for the vendor's product: one row per change that matters, written in the transaction of the change.
# ``public_id`` is the event's stable id (``evt_…``), also the webhook-id of every delivery of it; ``id`` orders
# events and pages the events API. ``data`` is the object as the API returns it, when the change was committed.
events = Table(
    "events",
    metadata,
    _id(),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("type", String(48), nullable=False),
    _fk("account_id", "accounts", nullable=True),
    Column("object", String(24), nullable=False),  # what ``data`` is: invoice, subscription, account ...
    Column("object_id", String(64)),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("data", Text, nullable=False),  # JSON
    Index("ix_events_type_id", "type", "id"),
)

# The last entitlements each account's events told the product (as JSON and its digest): a change emits
# ``entitlements.updated`` with the new state, no change emits nothing
entitlement_states = Table(
    "entitlement_states",
    metadata,
    Column("account_id", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("accounts.id", ondelete="RESTRICT"),
           primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)  # fmt: skip

# Where events are sent. The signing secret is never stored: it is derived from the installation's secret key, the
# endpoint's id and its ``secret_generation``; a rotation keeps the previous generation valid until
# ``previous_valid_until``. ``event_types`` is a JSON list (empty: every type).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _id(),
    Column("url", Text, nullable=False),
    Column("description", String(200), nullable=False, server_default=""),
    Column("event_types", Text, nullable=False, server_default="[]"),
    Column("enabled", Boolean, nullable=False),
    Column("secret_generation", Integer, nullable=False, server_default="1"),
    Column("previous_valid_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("failing_since", UTCDateTime),  # the first failure after the last success
    Column("disabled_at", UTCDateTime),
    Column("disabled_reason", String(32)),  # operator, failing
)

# One event to one endpoint. Deliveries of one endpoint and one account (``lane``: the account id, 0 for events of
# no account) are sent in id order, one at a time: a later one waits while an earlier one is pending or sending.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _id(),
    _fk("endpoint_id", "webhook_endpoints"),
    _fk("event_id", "events"),
    Column("lane", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("status", String(16), nullable=False),  # pending, sending, delivered, failed (given up)
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    CheckConstraint("status in ('pending', 'sending', 'delivered', 'failed')", name="status"),
    Index("ix_webhook_deliveries_lane", "endpoint_id", "lane", "id"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

# Every attempt to send a delivery: when, what the endpoint answered (an excerpt), or why there was no answer
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    _id(),
    _fk("delivery_id", "webhook_deliveries"),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer),
    Column("error", String(64)),
    Column("excerpt", Text, nullable=False, server_default=""),
    Column("duration_ms", Integer, nullable=False),
)

# The operator dashboard's figures (domain/metrics.py), computed from the books by ``prorata metrics refresh`` and
# read by the console as they are: per currency and month (UTC), and MRR by product at each month's end. Nothing
# here is a record of its own: a refresh replaces every row, and ``metric_refreshes`` says when it was computed.
_MONEY_FIGURES = ("mrr", "new", "reactivation", "expansion", "contraction", "churn", "invoiced", "tax", "collected",
                  "refunded", "failed_amount", "credit_balance")  # fmt: skip
_COUNTS = ("customers", "new_customers", "reactivated_customers", "churned_customers", "subscriptions", "licenses",
           "failed_payments", "cancelled_accounts")  # fmt: skip
metric_months = Table(
    "metric_months",
    metadata,
    Column("currency", String(3), nullable=False),
    Column("month", Date, nullable=False),  # its first day
    *(Column(name, Money, nullable=False, server_default="0") for name in _MONEY_FIGURES),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in _COUNTS),
    PrimaryKeyConstraint("currency", "month"),
)

metric_products = Table(
    "metric_products",
    metadata,
    Column("currency", String(3), nullable=False),
    Column("month", Date, nullable=False),
    Column("product", String(64), nullable=False),
    Column("mrr", Money, nullable=False),
    Column("subscriptions", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),  # licenses of a plan, seats or units of an add-on
    PrimaryKeyConstraint("currency", "month", "product"),
)

metric_refreshes = Table(
    "metric_refreshes",
    metadata,
    Column("name", String(32), primary_key=True),  # "dashboard"
    Column("computed_at", UTCDateTime, nullable=False),  # the books as they stood then
    Column("milliseconds", Integer, nullable=False),  # how long the refresh took
    Column("first_month", Date),  # the months it covers (none: the books held no invoice)
    Column("last_month", Date),
)

# Rule TE1: each exemption certificate an account sent (the file in the row, at most 5 MB, with its SHA-256) and
# what became of it; cleared when the Sold-To country changed or a newer certificate replaced it
tax_exemptions = Table(
    "tax_exemptions",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    Column("status", String(16), nullable=False),
    Column("country", String(2), nullable=False),
    Column("filename", String(100), nullable=False),
    Column("media_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("certificate", LargeBinary, nullable=False),
    Column("sent_by", String(320), nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("decided_by", String(320)),
    Column("decided_at", UTCDateTime),
    Column("reason", Text),
    Column("cleared_at", UTCDateTime),
    CheckConstraint("status in ('pending', 'exempt', 'rejected', 'cleared')", name="status"),
)

# The National Bank of Poland's average rates, one per currency and table date (``prorata rates import``): the VAT
# of a Polish seller's foreign-currency invoice in PLN (domain/exchange_rates.py)
exchange_rates = Table(
    "exchange_rates",
    metadata,
    Column("currency", String(3), nullable=False),
    Column("table_date", Date, nullable=False),
    Column("table_number", String(32), nullable=False),
    Column("mid", String(24), nullable=False),  # exact decimal text, as the bank wrote it
    Column("units", Integer, nullable=False, server_default="1"),
    Column("imported_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("currency", "table_date"),
)

# Rule T2: what the VIES registry answered for each EU VAT number; a provisional one (the registry did not answer)
# is asked again at next_check_at (services/vat_numbers.py)
vat_checks = Table(
    "vat_checks",
    metadata,
    Column("number", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("name", Text),
    Column("address", Text),
    Column("error", String(64)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("next_check_at", UTCDateTime, index=True),
    PrimaryKeyConstraint("number"),
    CheckConstraint("status in ('valid', 'invalid', 'provisional')", name="status"),
)

_ID_TYPE = BigInteger().with_variant(Integer, "sqlite")

# Rule TR1: the free trial an account started, one per account (the key); kept after it ends or is cancelled
trials = Table(
    "trials",
    metadata,
    Column("account_id", _ID_TYPE, ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False),
    Column("order_id", _ID_TYPE, ForeignKey("orders.id", ondelete="RESTRICT")),
    Column("product", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False, index=True),
    Column("reminded_at", UTCDateTime),
    PrimaryKeyConstraint("account_id"),
    CheckConstraint("ends_at > started_at", name="ends_after_start"),
)

# Rule NT1: bank transfers recorded against an invoice of an account on terms (services/bank_payments.py). The bank's
# reference is unique: a transfer recorded twice, by two operators or two imports at once, is booked once.
bank_payments = Table(
    "bank_payments",
    metadata,
    _id(),
    _fk("account_id", "accounts"),
    _fk("invoice_id", "invoices"),
    Column("bank_reference", String(64), nullable=False, unique=True),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("applied", Money, nullable=False),  # what it paid of the invoice
    Column("excess", Money, nullable=False),  # what went to the credit balance (an overpayment)
    Column("received_on", Date, nullable=False),
    Column("source", String(16), nullable=False),
    Column("recorded_by", String(320), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0 and applied >= 0 and excess >= 0 and applied + excess = amount", name="amounts"),
    CheckConstraint("source in ('operator', 'statement')", name="source"),
)


# Rules DC1, DC2: discount codes as operators define them. Their terms never change once created; an operator retires
# a code (``retired_at``), which stops new redemptions only. ``redeemed`` counts live redemptions and never passes
# ``max_redemptions`` (a conditional UPDATE takes one, and the check constraint holds it even against a bug)
discount_codes = Table(
    "discount_codes",
    metadata,
    _id(),
    Column("code", String(32), nullable=False, unique=True),
    Column("duration", String(16), nullable=False),
    Column("periods", Integer),
    Column("percent", Integer),  # basis points; empty for a fixed discount (amounts below)
    Column("products", Text, nullable=False, server_default=""),  # product codes separated by spaces; empty: all
    Column("expires_at", UTCDateTime),
    Column("max_redemptions", Integer),
    Column("redeemed", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime),
    CheckConstraint("duration in ('once', 'repeating', 'forever')", name="duration"),
    CheckConstraint("percent is null or (percent >= 1 and percent <= 10000)", name="percent"),
    CheckConstraint("redeemed >= 0 and (max_redemptions is null or redeemed <= max_redemptions)", name="redeemed"),
)

# Rule DC2: a fixed discount's amount in each currency it is offered in (minor units off each license per period)
discount_code_amounts = Table(
    "discount_code_amounts",
    metadata,
    Column(
        "code_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("discount_codes.id", ondelete="RESTRICT"),
        primary_key=True,
    ),
    Column("currency", String(3), primary_key=True),
    Column("amount", Money, nullable=False),
    CheckConstraint("amount > 0", name="positive"),
)

# Rules DC1, DC2: a code redeemed by an account, with its terms as resolved in the account's currency and the service
# time it covers. ``reserved`` while the order it came with is being paid for (the redemption counted, so the limit
# holds while the card is charged); ``applied`` once it is the account's; ``removed`` by an operator. A failed order
# deletes its reservation and gives the redemption back. A code is redeemed once per account.
discount_redemptions = Table(
    "discount_redemptions",
    metadata,
    _id(),
    _fk("code_id", "discount_codes"),
    _fk("account_id", "accounts"),
    _fk("order_id", "orders", nullable=True),
    Column("status", String(10), nullable=False),
    Column("code", String(32), nullable=False),
    Column("percent", Integer),
    Column("amount", Money),
    Column("products", Text, nullable=False, server_default=""),
    Column("periods", Integer),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime),
    Column("redeemed_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime),
    UniqueConstraint("code_id", "account_id"),
    CheckConstraint("status in ('reserved', 'applied', 'removed')", name="status"),
    CheckConstraint("(percent is null) <> (amount is null)", name="terms"),
)
