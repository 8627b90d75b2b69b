"""Billing information: the Sold-To and Bill-To contacts and the payment methods (rules K4, K7, Y1-Y3).

A card is checked and tokenized by the gateway; only the token, brand, last four and expiry are kept (Y2). A card is
never edited: changing any field means entering the whole card again (Y3), which adds a new method. A new method
becomes the default one, which every charge uses; one other may be the backup, which only a renewal's declined
charge falls back to (rule BM1, ``backup_method.py``). Contacts are replaced whole; a refusal names the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date

from prorata.domain.cards import card_errors
from prorata.domain.errors import InvalidInput, refuse_all
from prorata.services.ports import Clock, PaymentGateway, UnitOfWork, VatRegistry
from prorata.services.tax_exemption import clear_on_country_change
from prorata.services.tax_ids import check_tax_id, is_eu
from prorata.services.vat_numbers import registered

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
# Rule X4: the longest value each stored field holds (its column's length), and no control character in any: a tab,
# a line break or a NUL belongs in no name or address, PostgreSQL refuses NUL, and KSeF refuses an invoice that
# would print one, so such a value is refused at the door rather than stored.
LIMITS = {"name": 200, "company": 200, "email": 320, "phone": 40, "address_line1": 200, "address_line2": 200,
          "city": 100, "postal_code": 20, "region": 100, "country": 2, "tax_id": 32}  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class BillingAddress:
    """Rule K4: a card's own billing address, when "Same as Bill-To contact" is unticked."""

    address_line1: str
    city: str
    postal_code: str
    country: str
    address_line2: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class AddCard:
    account_id: int
    number: str
    exp_month: int
    exp_year: int
    billing_address: BillingAddress | None = None  # None: the Bill-To contact's address


@dataclass(frozen=True, slots=True)
class AddPayPal:
    account_id: int
    email: str


def add_card(command: AddCard, *, uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway) -> int:
    now = clock.now()
    address = command.billing_address
    check_new_card(command.number, command.exp_month, command.exp_year, address, now.date())
    token, card = gateway.tokenize_card(command.number, command.exp_month, command.exp_year, now.date())
    with uow() as tx:
        tx.load_account(command.account_id, lock=True)
        method_id = tx.add_payment_method(command.account_id, "card", gateway.name, token, card, None, now,
                                          None if address is None else asdict(address))  # fmt: skip
        tx.record_event("payment_method.added", command.account_id, "payment_method", method_id, now)
        tx.audit(command.account_id, "billing", "payment_method.added", {"brand": card.brand.value,
                 "last4": card.last4}, now)  # fmt: skip
    return method_id


def check_billing_address(address: BillingAddress) -> None:
    """Rule K4: the card's address is checked as a contact's address is, its fields named ``card.*``."""
    refuse_all(_billing_address_errors(address))


def check_new_card(number: str, exp_month: int, exp_year: int, address: BillingAddress | None, today: date) -> None:
    """Rules Y2, K4: the card and its own billing address, every wrong field refused at once before the gateway
    sees the number."""
    errors = card_errors(number, exp_month, exp_year, today)
    if address is not None:
        errors += _billing_address_errors(address)
    refuse_all(errors)


def _billing_address_errors(address: BillingAddress) -> list[InvalidInput]:
    return _address_errors(address, ("address_line1", "city", "postal_code", "country"), prefix="card", rule="K4")


def add_paypal(command: AddPayPal, *, uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway) -> int:
    now = clock.now()
    token = gateway.tokenize_paypal(command.email)
    with uow() as tx:
        tx.load_account(command.account_id, lock=True)
        method_id = tx.add_payment_method(command.account_id, "paypal", gateway.name, token, None, command.email, now)
        tx.record_event("payment_method.added", command.account_id, "payment_method", method_id, now)
        tx.audit(command.account_id, "billing", "payment_method.added", {"paypal": command.email}, now)
    return method_id


def remove_payment_method(
    account_id: int, payment_method_id: int, *, uow: Callable[[], UnitOfWork], clock: Clock
) -> None:
    """Remove a saved method (it is never charged again). A removed backup leaves the account without one; a removed
    default is replaced by the backup, which is then the default (rule BM1), or else by the newest method."""
    with uow() as tx:
        tx.load_account(account_id, lock=True)
        before = tx.payment_roles(account_id).primary
        if not tx.remove_payment_method(account_id, payment_method_id, clock.now()):
            raise InvalidInput(
                "payment_method.unknown",
                f"payment_method: the account has no payment method {payment_method_id}",
                field="payment_method",
            )
        tx.record_event("payment_method.removed", account_id, "payment_method", payment_method_id, clock.now(),
                        {"id": payment_method_id, "deleted": True})  # fmt: skip
        after = tx.payment_roles(account_id).primary
        if after is not None and after != before:
            tx.record_event("payment_method.updated", account_id, "payment_method", after, clock.now())


@dataclass(frozen=True, slots=True)
class Contact:
    """A Sold-To or Bill-To contact (rule T1: tax follows the Sold-To contact's country and VAT number)."""

    name: str
    email: str
    address_line1: str
    city: str
    postal_code: str
    country: str
    company: str | None = None
    phone: str | None = None
    address_line2: str | None = None
    region: str | None = None
    tax_id: str | None = None


def _address_errors(
    address: Contact | BillingAddress, required: tuple[str, ...], *, prefix: str, rule: str | None = None
) -> list[InvalidInput]:
    """Every field of the address that is wrong, each with its first problem (rule X4: all at once)."""
    errors: dict[str, InvalidInput] = {}
    for name in required:
        value = getattr(address, name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = InvalidInput("contact.missing", f"{prefix}.{name}: is required", rule=rule,
                                        field=f"{prefix}.{name}")  # fmt: skip
    for name, limit in LIMITS.items():
        value = getattr(address, name, None)
        if name in errors or not isinstance(value, str):
            continue
        if len(value) > limit:
            errors[name] = InvalidInput("contact.too_long", f"{prefix}.{name}: at most {limit} characters",
                                        rule="X4", field=f"{prefix}.{name}", limit=limit)  # fmt: skip
        elif _CONTROL.search(value):
            errors[name] = InvalidInput(
                "contact.control_character",
                f"{prefix}.{name}: holds a control character (a tab, a line break or NUL)",
                rule="X4",
                field=f"{prefix}.{name}",
            )
    if "country" not in errors and not _COUNTRY.match(address.country):
        errors["country"] = InvalidInput(
            "contact.country",
            f"{prefix}.country: a two-letter country code (ISO 3166), e.g. PL",
            rule=rule,
            field=f"{prefix}.country",
        )
    return list(errors.values())


def check_contact(contact: Contact, *, prefix: str) -> Contact:
    """The contact as it is stored (its tax ID in compact form), or a refusal naming every field at fault (rules X4,
    T2)."""
    checked, errors = _contact_errors(contact, prefix=prefix)
    refuse_all(errors)
    return checked


def check_contacts(sold_to: Contact, bill_to: Contact | None) -> tuple[Contact, Contact | None]:
    """Both contacts as they are stored, or one refusal naming every field at fault in either."""
    sold_to, errors = _contact_errors(sold_to, prefix="sold_to")
    if bill_to is not None:
        bill_to, more = _contact_errors(bill_to, prefix="bill_to")
        errors += more
    refuse_all(errors)
    return sold_to, bill_to


def _contact_errors(contact: Contact, *, prefix: str) -> tuple[Contact, list[InvalidInput]]:
    errors = _address_errors(contact, ("name", "email", "address_line1", "city", "postal_code", "country"),
                             prefix=prefix)  # fmt: skip
    wrong = {error.field for error in errors}
    if f"{prefix}.email" not in wrong and not _EMAIL.match(contact.email.strip()):
        errors.append(InvalidInput("contact.email", f"{prefix}.email: not an e-mail address", field=f"{prefix}.email"))
    if contact.tax_id is None or not contact.tax_id.strip():
        return replace(contact, tax_id=None), errors
    if f"{prefix}.tax_id" in wrong or f"{prefix}.country" in wrong:
        return contact, errors  # a tax ID is read by its country's rules (T2): only a valid country tells which
    try:
        return replace(contact, tax_id=check_tax_id(contact.country, contact.tax_id, field=f"{prefix}.tax_id")), errors
    except InvalidInput as error:
        return contact, [*errors, error]


def set_contacts(
    account_id: int,
    sold_to: Contact,
    bill_to: Contact | None,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    registry: VatRegistry | None = None,
) -> None:
    """Sold-To and Bill-To at once (K2's checkout step); without a Bill-To, the Sold-To contact is used for both.
    Another EU country's VAT number on the Sold-To contact, which makes its invoices reverse-charged (rule T2), is
    asked of the VAT registry first (``vat_numbers.registered``), before anything is written."""
    sold_to, bill_to = check_contacts(sold_to, bill_to)
    if sold_to.tax_id and is_eu(sold_to.country) and sold_to.country.upper() != "PL":
        registered(sold_to.tax_id, field_name="sold_to.tax_id", registry=registry, uow=uow, clock=clock)
    with uow() as tx:
        tx.load_account(account_id, lock=True)
        before = tx.tax_buyers([account_id])[account_id].country
        clear_on_country_change(tx, account_id, before, sold_to.country, "billing", clock)  # rule TE1
        tx.set_contact(account_id, "sold_to", asdict(sold_to))
        tx.set_contact(account_id, "bill_to", asdict(bill_to or sold_to))
        tx.audit(account_id, "billing", "contacts.updated", {"sold_to": sold_to.email,
                 "bill_to": (bill_to or sold_to).email}, clock.now())  # fmt: skip
