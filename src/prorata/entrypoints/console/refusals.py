"""A refusal as the console shows it, beside the field it concerns, in the operator's language.

The console's own forms (credit by hand, the managed-by-sales flag, credit notes) have their words here; any other
refusal is worded as the portal words it (``portal.refusals``), whose catalog covers the refunds and payments the
console's actions share with the customers' pages.
"""

from __future__ import annotations

from collections.abc import Callable

from prorata.domain.errors import ProrataError
from prorata.entrypoints.portal.i18n import gettext_ as _
from prorata.entrypoints.portal.i18n import money
from prorata.entrypoints.portal.refusals import message_of as portal_message

MESSAGES: dict[str, Callable[[ProrataError], str]] = {
    "credit_grant.amount": lambda e: _("Enter an amount more than zero and no larger than one grant may add."),
    "credit_grant.reason": lambda e: _("Say why the credit is added (at most 500 characters)."),
    "credit_grant.key": lambda e: _("The page was out of date; open it again."),
    "credit_grant.key_reused": lambda e: _("The page was out of date; open it again."),
    "clock.days": lambda e: _("Enter a whole number of days, 1 to 366."),
    "account.reason": lambda e: _("The reason may have at most 500 characters."),
    "money.not_a_decimal_string": lambda e: _("Enter an amount as a number, e.g. 12.50."),
    "money.too_many_decimals": lambda e: _("The amount has more decimals than its currency allows."),
    "credit_note.reason": lambda e: _("Say why (at most 500 characters): it is printed on the credit note."),
    "credit_note.lines": lambda e: _("Choose the lines to credit."),
    "credit_note.already_credited": lambda e: _("A chosen line has been credited already."),
    "credit_note.nothing_left": lambda e: _("Nothing is left to credit on this invoice."),
    "credit_note.not_creditable": lambda e: _("This invoice cannot be credited."),
    "credit_note.of_credit_note": lambda e: _("A credit note is not corrected by another credit note."),
    "credit_note.would_charge": lambda e: _("These lines would charge the customer more: choose others."),
    "credit_note.void_negative": lambda e: _("An invoice whose total is below zero cannot be voided."),
    # rule DC2: a discount is given back with the charge it discounts, never alone
    "credit_note.discount_alone": lambda e: _(
        "Line %(line)s is a discount of line %(charge)s: choose line %(charge)s, which is credited with its discount.",
        line=e.data.get("line", ""),
        charge=e.data.get("charge", ""),
    ),
    # rule TE1: an operator's decision on an exemption certificate
    "tax_exemption.reason_missing": lambda e: _("Say why the certificate is rejected: the customer reads it."),
    "tax_exemption.reason": lambda e: _("The reason may have at most 500 characters."),
    "tax_exemption.not_pending": lambda e: _(
        "This certificate is no longer waiting for a decision: it was decided, replaced or cleared meanwhile."
    ),
    # rule NT1: invoice terms and the bank transfers an operator records
    "terms.days": lambda e: _("Enter a whole number of days, 1 to %(max)s.", max=e.data.get("max", 120)),
    "terms.no_threshold": lambda e: _(
        "No threshold for invoice terms is configured in %(currency)s.", currency=e.data.get("currency", "")
    ),
    "terms.below_threshold": lambda e: _(
        "Invoice terms need recurring charges of at least %(threshold)s a month; this account's are %(monthly)s.",
        threshold=_money_of(e, "threshold"),
        monthly=_money_of(e, "monthly"),
    ),
    "bank_payment.invoice_number": lambda e: _("Enter an invoice number, e.g. INV-2026-000001."),
    "bank_payment.amount": lambda e: _("Enter an amount more than zero."),
    "bank_payment.reference": lambda e: _("Enter the bank's reference of the transfer (at most 64 characters)."),
    "bank_payment.invoice_unknown": lambda e: _("There is no issued invoice with this number."),
    "bank_payment.reference_used": lambda e: _(
        "A transfer with this bank reference is recorded already, with other details."
    ),
    "bank_payment.recorded_meanwhile": lambda e: _(
        "This transfer was recorded by someone else at this moment; look again."
    ),
    "bank_payment.not_on_terms": lambda e: _(
        "This invoice was not issued on invoice terms and its account pays by card."
    ),
    "bank_payment.currency": lambda e: _(
        "The transfer's currency is not the invoice's (%(currency)s).", currency=e.data.get("expected", "")
    ),
    "bank_payment.received_on": lambda e: _("Enter the day the bank booked the transfer; it cannot be in the future."),
}


def _money_of(error: ProrataError, name: str) -> str:
    """An amount a refusal carries (minor units of its ``currency``), as the operator's language writes it."""
    return money(int(error.data.get(name, 0)), str(error.data.get("currency", "USD")))


def message_of(error: ProrataError) -> str:
    known = MESSAGES.get(error.code)
    return known(error) if known is not None else portal_message(error)
