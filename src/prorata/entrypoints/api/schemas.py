"""The API's bodies as strict pydantic models: money is integer minor units beside a currency (rule X1), never a
float; instants carry their offset (rule X2); unknown fields are refused (rule X4).

The cart is not modelled here: it is the quote document's list of change objects (``schemas/quote-request.schema
.json``), read by ``quote_document.read_change``, so that one cart format serves ``prorata quote``, ``POST /quote``,
an account's quote and its orders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from prorata.adapters.db.types import ROW_ID_MAX

CHANGE_REF = "#/components/schemas/Quote.change"
QUOTE_REQUEST_REF = "#/components/schemas/QuoteRequest"
QUOTE_RESPONSE: dict[str, Any] = {
    "description": "The quote",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QuoteResponse"}}},
}


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


ACCOUNT_CODE = r"^[a-z0-9][a-z0-9-]{1,63}$"
RowId = Annotated[int, Field(ge=1, le=ROW_ID_MAX)]
MinorUnits = Annotated[int, Field(description="An amount in the currency's minor units (cents, grosze)")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
# Free text: something visible and no control characters (PostgreSQL refuses NUL in text; none belongs in a name)
_PRINTABLE = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"
_WORD = r"[^@\s\x00-\x1f\x7f]+"
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=rf"^{_WORD}@{_WORD}\.{_WORD}$")]
# lengths are the columns' (PostgreSQL refuses a longer value)
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=_PRINTABLE)]
ShortText = Annotated[str, Field(min_length=1, max_length=100, pattern=_PRINTABLE)]


# ----------------------------------------------------------------------------------------------------------- catalog
class PriceOut(Out):
    interval: Literal["month", "year"]
    currency: Currency
    unit_amount: MinorUnits


class ProductOut(Out):
    code: str
    kind: Literal["plan", "addon", "one_time_month"]
    name: str
    names: dict[str, str]
    unit: Literal["per_user", "per_account"]
    rank: int
    free: bool
    sales_only: bool
    min_licenses: int
    max_licenses: int | None
    family: str | None
    size: int
    downgrade_to: list[str]
    suggest_addons: list[str]
    prices: list[PriceOut]
    trial_days: int = 0  # rule TR1: the free trial the plan offers, 0 for none
    trial_requires_card: bool = False  # rule TR1: a payment method must be saved before the trial starts


class CatalogOut(Out):
    name: str
    granularity: Literal["day", "second"]
    downgrade_policy: Literal["end_of_term", "immediate_with_credit"]
    products: list[ProductOut]


# ------------------------------------------------------------------------------------------------------ keys, accounts
ApiKeyScope = Annotated[
    Literal["full", "read_only"],
    Field(description="`full`, or `read_only`: only the operations that change nothing (`x-read-only-key`)"),
]


class KeyOut(Out):
    id: int
    name: str
    prefix: str
    account_id: int | None = Field(description="The account the key belongs to; null for an operator key")
    scope: ApiKeyScope


class ApiKeyIn(Strict):
    account_id: RowId | None = Field(None, description="The account the key belongs to; null: an operator key")
    name: ShortText | None = Field(None, description="To tell the key apart (default: the account's code or operator)")
    scope: ApiKeyScope = "full"


class ApiKeyOut(Out):
    prefix: str = Field(description="Names the key: `prk_<prefix>_...`")
    name: str
    scope: ApiKeyScope
    account_id: int | None = Field(description="null for an operator key")
    account_code: str | None
    created_at: datetime
    last_used_at: datetime | None = Field(description="When the key was last used, to the minute")
    revoked_at: datetime | None


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="The whole key, shown this once: only its hash is kept")


class AccountIn(Strict):
    code: Annotated[str, Field(pattern=ACCOUNT_CODE, description="A stable, unique code")]
    name: Text
    currency: Currency
    time_zone: Annotated[
        str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$", description="IANA, e.g. Europe/Warsaw")
    ]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 code")]
    managed_by_sales: bool = False


class AccountOut(Out):
    id: int
    code: str
    name: str
    currency: Currency
    time_zone: str
    country: str
    status: Literal["active", "overdue", "cancelled"]
    managed_by_sales: bool
    overdue_since: datetime | None
    credit_balance: MinorUnits


class TrialOut(Out):
    """Rule TR1: the account's free trial (one per account); the first invoice is issued at ``ends_at``."""

    product: str
    started_at: datetime
    ends_at: datetime
    active: bool  # the trial has not ended yet
    reminded: bool  # the owner was e-mailed that it ends (3 days before)


class UserIn(Strict):
    email: Email
    name: Text
    role: Literal["owner", "admin", "member"] = "member"


class UserOut(Out):
    id: int
    email: str
    name: str
    role: Literal["owner", "admin", "member"]
    type: Literal["basic", "licensed"]
    subscriptions: list[int] = Field(description="Subscriptions whose licenses or seats the user holds")


class AddressIn(Strict):
    """A postal address: a contact's, or a card's own (rule K4)."""

    address_line1: Text
    city: ShortText
    postal_code: Annotated[str, Field(min_length=1, max_length=20, pattern=_PRINTABLE)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    address_line2: Annotated[str, Field(max_length=200, pattern=_PRINTABLE)] | None = None
    region: Annotated[str, Field(max_length=100, pattern=_PRINTABLE)] | None = None


class ContactIn(AddressIn):
    name: Text
    email: Email
    company: Annotated[str, Field(max_length=200, pattern=_PRINTABLE)] | None = None
    phone: Annotated[str, Field(max_length=40, pattern=_PRINTABLE)] | None = None
    tax_id: Annotated[str, Field(max_length=32, pattern=_PRINTABLE)] | None = None


class ContactsIn(Strict):
    sold_to: ContactIn
    bill_to: ContactIn | None = Field(default=None, description="Defaults to the Sold-To contact")


class ContactOut(Out):
    name: str
    email: str
    address_line1: str
    city: str
    postal_code: str
    country: str
    company: str | None
    phone: str | None
    address_line2: str | None
    region: str | None
    tax_id: str | None


class ContactsOut(Out):
    sold_to: ContactOut | None
    bill_to: ContactOut | None


class PendingOut(Out):
    kind: Literal["quantity", "product", "cancel"]
    effective: datetime
    quantity: int | None
    product: str | None


class SubscriptionOut(Out):
    id: int
    product: str
    interval: Literal["month", "year"]
    quantity: int
    assigned: int
    assignable: int = Field(
        description="Licenses or seats free to assign now (rules U1, L4, P5): the fewest held now or after any change "
        "scheduled for the term end, less those assigned"
    )
    period_start: datetime
    period_end: datetime
    pending: list[PendingOut] = Field(description="Changes scheduled for the term end (rule L6: always listed)")


# -------------------------------------------------------------------------------------------------- carts and orders
Changes = Annotated[
    list[dict[str, Any]],
    Field(min_length=1, max_length=50, description="The cart: change objects of the quote document",
          json_schema_extra={"items": {"$ref": CHANGE_REF}}),
]  # fmt: skip


class CartIn(Strict):
    changes: Changes
    user: RowId | None = Field(
        default=None, description="The user on whose behalf; their role applies (rule P6). Default: the owner"
    )
    discount_code: str | None = Field(
        default=None,
        description="A discount code entered with the cart: it applies to this order and to the periods it covers "
        "(rule DC1); its lines follow the charges they discount",
    )


class OrderIn(CartIn):
    terms_accepted: bool = Field(default=False, description="Rule K6: the Terms of Service are accepted")
    terms_version: Annotated[str, Field(min_length=1, max_length=32, pattern=_PRINTABLE)] | None = None


class OrderOut(Out):
    order_id: int
    status: Literal["placed"]
    invoice_id: int | None
    invoice_number: str | None
    amount_due: MinorUnits
    currency: Currency
    message: str
    replayed: bool = Field(description="The answer to an earlier request with the same Idempotency-Key (rule X3)")


# ---------------------------------------------------------------------------------------------- invoices, payments
class InvoiceLineOut(Out):
    position: int
    kind: Literal["charge", "credit", "discount"] = Field(
        description="discount: what a discount code takes off the charge line just before it (rule DC2); negative on "
        "an invoice, positive on a credit note that gives it back with its charge"
    )
    product: str
    description: str
    quantity: int
    unit_amount: MinorUnits | None
    period_start: datetime
    period_end: datetime
    used: int
    whole: int
    amount: MinorUnits
    discount_code: str | None = Field(default=None, description="On a discount line: the code it was given for")


class PaymentOut(Out):
    id: int
    amount: MinorUnits
    status: Literal["pending", "action_required", "succeeded", "failed", "credited"] = Field(
        description="credited: received for an invoice no longer owed (voided or credited meanwhile), so the money "
        "went to the credit balance; action_required: the bank asks the customer to confirm the charge (3-D Secure)"
    )
    gateway: str
    failure_code: str | None
    created_at: datetime
    settled_at: datetime | None
    method: str = Field(description='"Visa •••• 4242", "PayPal"; empty when no method could be charged')
    backup: bool = Field(
        default=False,
        description="Rule BM1: a renewal's charge made to the backup method after the default one was declined in the "
        "same attempt",
    )


class InvoiceRefOut(Out):
    id: int
    number: str


class RefundOut(Out):
    """A credit note's refund to the original payment method (rules R1, R2)."""

    id: int
    account_id: int
    credit_note_id: int
    credit_note: str = Field(description="The credit note's number")
    invoice_id: int
    invoice: str = Field(description="The number of the paid invoice it corrects")
    payment_id: int = Field(description="The charge refunded")
    amount: MinorUnits
    currency: Currency
    status: Literal["pending", "succeeded", "failed", "credited"] = Field(
        description="pending: the gateway answers later; failed: may be retried or sent to the credit balance; "
        "credited: it failed and its amount went to the credit balance instead"
    )
    gateway: str
    gateway_reference: str | None
    failure_code: str | None
    attempt: int = Field(description="Each retry is a new attempt with its own idempotency key")
    requested_by: Literal["customer", "operator"]
    override_reason: str | None = Field(description="Rule R1: the operator's reason to refund after 30 days")
    created_at: datetime
    settled_at: datetime | None
    method: str = Field(description='Where the money goes back: "Visa •••• 4242", "PayPal"')


class InvoiceOut(Out):
    id: int
    number: str
    kind: Literal["invoice", "credit_note"] = Field(
        description="An invoice, or a credit note correcting one (rule I2: issued invoices are never edited)"
    )
    status: Literal["open", "paid", "void", "issued"] = Field(
        description="An invoice is open, paid or void (voided by a credit note); a credit note is issued"
    )
    currency: Currency
    subtotal: MinorUnits
    tax: MinorUnits
    total: MinorUnits
    credit_applied: MinorUnits
    amount_due: MinorUnits = Field(description="What is still owed: 0 once the invoice is paid or void")
    amount_paid: MinorUnits = Field(description="What payments paid for it")
    issued_at: datetime
    due_at: datetime | None
    paid_at: datetime | None
    corrects: InvoiceRefOut | None = Field(description="On a credit note: the invoice it corrects")
    reason: str | None = Field(description="On a credit note: why it was issued")
    corrected_by: list[InvoiceRefOut] = Field(description="On an invoice: the credit notes correcting it, oldest first")
    to_balance: MinorUnits = Field(default=0, description="On a credit note: what it gave back to the credit balance")
    refund: RefundOut | None = Field(
        default=None, description="On a credit note: its refund to the original payment method (rules R1, R2)"
    )


class InvoiceDetailOut(InvoiceOut):
    lines: list[InvoiceLineOut]
    payments: list[PaymentOut]


class PayIn(Strict):
    invoice_ids: Annotated[list[RowId], Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="The open invoices to pay; all of them when absent"
    )


class PaymentReportOut(Out):
    paid: list[int] = Field(description="The invoices this request (this Idempotency-Key) paid")
    credited: list[int] = Field(
        default_factory=list,
        description="Invoices this request's payment reached after they stopped being owed (voided or credited "
        "meanwhile): the money went to the credit balance",
    )
    account_status: Literal["active", "overdue", "cancelled"] = Field(
        description="Rule I6: an overdue account whose last open invoice is paid is active again at once"
    )


class CardIn(Strict):
    """A card for the built-in **sandbox gateway only**: its test numbers are sent in the clear, checked, turned into a
    token and never stored. A real gateway takes cards tokenised in the customer's browser and never a raw number,
    which would put the installation in the widest PCI DSS scope."""

    kind: Literal["card"]
    # the names the card checks use (rule Y2), so that a refusal's field is the body's
    card_number: Annotated[
        str,
        Field(min_length=1, max_length=30, pattern=r"^[0-9 ]+$",
              description="Digits, spaces. Sandbox gateway only: one of its test numbers, never a real card's"),
    ]  # fmt: skip
    exp_month: Annotated[int, Field(ge=1, le=12)]
    exp_year: Annotated[int, Field(ge=2000, le=2199)]
    billing_address: AddressIn | None = Field(None, description="Omitted: the Bill-To contact's (rule K4)")


class PayPalIn(Strict):
    kind: Literal["paypal"]
    paypal_email: Email


class GatewayMethodIn(Strict):
    """A payment method the customer saved at a real gateway in their own browser (Stripe.js confirmed a SetupIntent
    of ``POST .../payment-methods/setup-intents``): only its id is sent, never a card number (rule Y2)."""

    kind: Literal["gateway"]
    payment_method_id: Annotated[
        str | None, Field(None, min_length=3, max_length=128, pattern=r"^pm_[A-Za-z0-9_]+$",
                          description="The gateway's payment method id (Stripe: pm_...)"),
    ] = None  # fmt: skip
    setup_intent: Annotated[
        str | None, Field(None, min_length=3, max_length=128, pattern=r"^seti_[A-Za-z0-9_]+$",
                          description="Or the SetupIntent that saved it (Stripe: seti_...)"),
    ] = None  # fmt: skip


PaymentMethodIn = Annotated[CardIn | PayPalIn | GatewayMethodIn, Field(discriminator="kind")]


class SetupIntentOut(Out):
    gateway: str
    publishable_key: str = Field(description="For Stripe.js in the customer's browser")
    setup_intent: str
    client_secret: str = Field(description="Hand it to Stripe.js only; it is not stored")


class PaymentMethodOut(Out):
    id: int
    kind: Literal["card", "paypal"]
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    paypal_email: str | None
    is_default: bool = Field(description="The default (primary) method: every charge uses it")
    billing_address: list[str] = Field(description="The card's own billing address, as printed; empty: Bill-To's")
    is_backup: bool = Field(
        default=False,
        description="Rule BM1: the backup method, charged only when a renewal's charge on the default one is declined",
    )


# ----------------------------------------------------------------------------------------------------------- operator
class BillingRunIn(Strict):
    until: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="Bill what is due by this date (YYYY-MM-DD, its midnight UTC) or ISO 8601 instant with its "
        "offset, the forms `prorata bill --until` takes; default: the installation's time",
    )
    bill_in_advance: bool = Field(
        default=False,
        description="Allow `until` after the installation's time: periods are renewed before they end (rule C7)",
    )
    wait: float = Field(
        default=30.0,
        ge=0,
        le=600,
        allow_inf_nan=False,
        description="Seconds each stage waits, in all, for accounts and invoices other transactions hold, before it "
        "lists them as not done (`prorata bill --wait`)",
    )


class RefusedAccountOut(Out):
    account_id: int
    code: str = Field(description="The refusal's stable code, e.g. product.unknown")
    message: str
    rule: str | None


class UnattemptedInvoiceOut(Out):
    invoice_id: int
    account_id: int
    code: str = Field(description="Why, e.g. billing_run.account_locked")
    message: str
    rule: str | None


class BillingRunOut(Out):
    complete: bool = Field(
        description="False when some accounts were not renewed, or some invoices not attempted, and need the operator"
    )
    accounts: int = Field(description="Accounts renewed")
    invoices: list[str]
    subscriptions_renewed: int
    payments_succeeded: int
    payments_failed: int
    payments_waiting: int = Field(
        0,
        description="Charges the bank asked the customer to confirm (3-D Secure): they were e-mailed a link, and "
        "the next attempt waits for its day",
    )
    accounts_overdue: list[int]
    accounts_reenabled: list[int]
    accounts_cancelled: list[int]
    accounts_trial_reminded: list[int] = Field(
        default_factory=list, description="Rule TR1: accounts whose owner was e-mailed that the free trial ends soon"
    )
    accounts_busy: list[int] = Field(
        description="Held by another transaction, or with an order being paid for, when the run reached them: waited "
        "for; those still not renewed are in accounts_not_renewed"
    )
    accounts_left_to_another_run: list[int] = Field(description="Another billing run held them and renews them")
    accounts_refused: list[RefusedAccountOut] = Field(description="Not renewed, with the reason; left as they were")
    accounts_not_renewed: list[RefusedAccountOut] = Field(
        description="Still held by another transaction, or with an order being paid for, when the wait was over: not "
        "renewed; bill again"
    )
    invoices_not_attempted: list[UnattemptedInvoiceOut] = Field(
        description="Payment attempts that were due and could not be made (the account held, another payment in "
        "flight): bill again"
    )


# ----------------------------------------------------------------------------------------------------------- verify
class VerificationIn(Strict):
    account: Annotated[str, Field(pattern=ACCOUNT_CODE)] | None = Field(
        default=None, description="Check only this account's rows (its code); numbering is then left out"
    )
    since: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="Check only documents issued, payments made and credit booked from this date (YYYY-MM-DD, its "
        "midnight UTC) or ISO 8601 instant with its offset, the forms `prorata verify --since` takes",
    )


class RowRefOut(Out):
    table: str
    id: int
    label: str = Field(description="How people know the row, e.g. an invoice's number")


class ViolationOut(Out):
    code: str = Field(description="The invariant broken, e.g. inv.lines_sum (stable)")
    rules: list[str] = Field(description="The rules of the specification it proves")
    message: str = Field(description="What is wrong, in one line with the figures")
    rows: list[RowRefOut] = Field(description="The rows involved")
    account_id: int | None


class CheckOut(Out):
    code: str
    seconds: float
    violations: int


class VerificationScopeOut(Out):
    account: str | None
    since: str | None


class VerificationOut(Out):
    id: int | None
    ok: bool = Field(description="True when every invariant checked holds")
    started_at: datetime
    finished_at: datetime
    seconds: float = Field(description="How long the checks took")
    scope: VerificationScopeOut
    checks: list[CheckOut] = Field(description="Each invariant checked, with its time and how many violations")
    violation_count: int
    counts: dict[str, int] = Field(description="Violations per invariant code")
    violations: list[ViolationOut] = Field(description="Every violation (the last result keeps the first 1,000)")
