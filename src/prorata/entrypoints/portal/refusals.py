"""A refusal of the domain, as the portal shows it: the message beside the form field it concerns (rule X4).

The domain names the field of its own commands (``total``, ``quantity``, ``sold_to.email`` ...); the forms use a few
names of their own. Every refusal a customer can meet has its words here, from the gettext catalogs
(tests/unit/test_every_refusal_translated.py finds them all in the source), and a form field's error names the field
by its label ("Kod pocztowy", never ``postal_code``); a refusal only an operator meets shows the domain's English
message without its field prefix. A refusal of several fields (``FieldErrors``) puts each message beside its field.
"""

from __future__ import annotations

from collections.abc import Callable

from babel.numbers import format_decimal

from prorata.domain.errors import ProrataError, every
from prorata.domain.exemptions import MAX_BYTES
from prorata.domain.payments import FAILURE_MESSAGES
from prorata.domain.pricer import MAX_TOTAL
from prorata.entrypoints.portal.i18n import current_language, ngettext_
from prorata.entrypoints.portal.i18n import gettext_ as _
from prorata.services.formatting import LOCALES

# the domain's field -> the form's field
FORM_FIELD = {"total": "licenses", "licenses": "licenses", "quantity": "quantity", "interval": "interval",
              "product": "product", "changes": "form", "role": "form", "subscription": "form"}  # fmt: skip


def _below_assigned(e: ProrataError) -> str:
    """Rule L4: the total entered, the licenses assigned, the users to unassign ("enter 12. Assigned: 7.")."""
    if isinstance(e.data.get("entered"), int):
        return ngettext_(
            "You entered %(entered)d. Assigned: %(assigned)s. Unassign %(num)d user in User Management → Users "
            "before reducing.",
            "You entered %(entered)d. Assigned: %(assigned)s. Unassign %(num)d users in User Management → Users "
            "before reducing.",
            int(e.data.get("must_unassign", 1)),
            entered=e.data["entered"],
            assigned=e.data.get("assigned", ""),
        )
    return ngettext_(
        "%(assigned)s licenses are assigned: unassign %(num)d user in User Management → Users before reducing.",
        "%(assigned)s licenses are assigned: unassign %(num)d users in User Management → Users before reducing.",
        int(e.data.get("must_unassign", 1)),
        assigned=e.data.get("assigned", ""),
    )


# the last part of a form field's name -> the label the form shows beside it
FIELD_LABELS = {"name": "Name", "company": "Company", "email": "E-mail", "phone": "Phone", "address_line1": "Address",
                "address_line2": "Address, line 2", "city": "City", "postal_code": "Postal code",
                "region": "Region or state", "country": "Country (two letters)", "tax_id": "Tax ID",
                "card_number": "Card number", "exp_month": "Expiry month", "exp_year": "Expiry year",
                "paypal_email": "PayPal e-mail", "notice_address": "Extra notice address"}  # fmt: skip


def field_label(field: str | None) -> str:
    """A field named in words in the page's language (``sold_to.city`` -> "Miasto"), never by its form name."""
    name = (field or "").rpartition(".")[2]
    label = FIELD_LABELS.get(name)
    return _(label) if label is not None else name


def _notice_address_invalid(e: ProrataError) -> str:
    """Rule N1: an address too long to be one, or not an e-mail address."""
    if e.data.get("limit"):
        return ngettext_("%(field)s: at most %(num)d character.", "%(field)s: at most %(num)d characters.",
                         int(e.data["limit"]), field=field_label(e.field))  # fmt: skip
    return _("%(field)s: this is not an e-mail address.", field=field_label(e.field))


def _invalid_tax_id(e: ProrataError) -> str:
    values = {"field": field_label(e.field), "number": e.data.get("number", ""), "country": e.data.get("country", "")}
    if e.data.get("kind") == "nip":
        return _("%(field)s: %(number)s is not a valid NIP.", **values)
    return _("%(field)s: %(number)s is not a valid VAT number of %(country)s.", **values)


def _addons_first(e: ProrataError) -> str:
    """Rule D2. The plan's cancellation lists its add-ons: the buyer ticks the box or cancels each on its card.
    Without that list the refusal is of an add-on reactivated while its plan stays cancelled."""
    if e.data.get("addons"):
        return _(
            "Tick “Cancel my add-ons too” to cancel the add-ons listed here with the plan, or cancel each add-on on "
            "its own card first."
        )
    return _("An add-on cannot outlive the cancelled plan: reactivate the plan first.")


MESSAGES: dict[str, Callable[[ProrataError], str]] = {
    "licenses.below_assigned": _below_assigned,
    "plan.min_licenses": lambda e: ngettext_(
        "This plan requires at least %(num)d license.",
        "This plan requires at least %(num)d licenses.",
        int(e.data.get("minimum", 1)),
    ),
    "plan.max_licenses": lambda e: _("This plan allows fewer licenses; choose a higher plan."),
    "licenses.unchanged": lambda e: _("Enter the new total number of licenses, not the number added."),
    "interval.unchanged": lambda e: _("The subscription is already billed this way."),
    "plan.unchanged": lambda e: _("The account already has this plan."),
    "addon.interval_conflict": lambda e: _(
        "The same add-on cannot be held with two billing intervals (e.g. Webinar 500 monthly and yearly)."
    ),
    "addon.annual_on_monthly": lambda e: _("An annual add-on needs a yearly plan."),
    "addon.already_held": lambda e: _("The account already holds this add-on: edit it to change its seats or size."),
    "addon.seats_exceed_licenses": lambda e: _("An add-on cannot have more seats than the plan has licenses."),
    "account.overdue_locked": lambda e: _("The account has overdue invoices: pay them in Invoice History first."),
    "account.sales_managed": lambda e: _("This account is managed by sales: contact your account manager."),
    "account.forbidden_role": lambda e: _("Only the account owner or an admin may buy or change the plan."),
    "plan.sales_only": lambda e: _("This plan is sold through sales only: Contact Sales."),
    # what a cart can be refused for at the cart and the order summary (rules A3-A8, D1, D2, L3, P5, X3)
    "subscription.cancelling": lambda e: _(
        "This subscription is cancelled at the end of the billing period: reactivate it first."
    ),
    "subscription.already_cancelling": lambda e: _(
        "This subscription is already cancelled at the end of the billing period."
    ),
    "subscription.not_cancelling": lambda e: _(
        "This subscription is not cancelled, so there is nothing to reactivate."
    ),
    "subscription.not_renewing": lambda e: _("A one-month product ends by itself; it cannot be cancelled."),
    "subscription.unknown": lambda e: _("The account no longer holds this subscription."),
    "pending.blocks_new_period": lambda e: _(
        "A change is scheduled for the end of the billing period: withdraw it, or make this change after it has "
        "taken effect."
    ),
    "licenses.reduction_with_interval": lambda e: _(
        "Fewer licenses take effect at the end of the term: reduce them as a separate change."
    ),
    "plan.downgrade_via_sales": lambda e: _("This change of plan is not self-service: Contact Sales."),
    "plan.downgrade_with_interval": lambda e: _(
        "A move to a smaller plan keeps the billing interval: change the interval in a separate order."
    ),
    "plan.downgrade_to_free": lambda e: _(
        "To return to the free plan, cancel the plan: it ends with the billing period."
    ),
    "plan.none": lambda e: _("The account has no paid plan: upgrade it first."),
    "plan.billing_day_fixed": lambda e: _("The billing day is chosen when the first paid plan is bought."),
    "cancel.addons_first": lambda e: _addons_first(e),
    "cancel.one_month_outlives": lambda e: _(
        "A one-month add-on stays available for its whole month, past the end of this billing period: cancel the "
        "plan once the add-on has ended."
    ),
    "addon.requires_plan": lambda e: _("Add-ons need a paid plan: upgrade the account first."),
    "addon.family_mismatch": lambda e: _("That is not a size of this add-on: add it as an item of its own."),
    "addon.invalid_quantity": lambda e: _("Enter a number of seats this add-on allows."),
    "addon.mixed_change": lambda e: _(
        "A larger size with fewer seats (or the reverse) is two changes: make them one at a time."
    ),
    "addon.not_changeable": lambda e: _("This subscription cannot be edited here."),
    "addon.unchanged": lambda e: _("Nothing would change."),
    "addon.one_month_only": lambda e: _("A one-month product is bought for one month."),
    "order.in_progress": lambda e: _("Another order of this account is being paid for: try again in a moment."),
    # rule C7: the account's period has ended and renewing it on the spot could not be done (yet)
    "account.renewal_waiting": lambda e: _(
        "The billing period has ended and its renewal is waiting for another change of the account: try again in a "
        "moment."
    ),
    "account.renewal_refused": lambda e: _(
        "The billing period has ended and the plan cannot be renewed until the seller puts it right: try again later."
    ),
    "subscription.period_not_current": lambda e: _(
        "The billing period has ended and the plan is being renewed: try again in a moment."
    ),
    "cart.empty": lambda e: _("The cart is empty."),
    "payment.method_missing": lambda e: _(
        "Add a card or PayPal: update your billing information, then your payment method."
    ),
    "order.terms_not_accepted": lambda e: _("Accept the Terms of Service to place the order."),
    # the forms' field errors (rule X4): each names its field by the label the form shows it with
    "contact.missing": lambda e: _("%(field)s is required.", field=field_label(e.field)),
    "contact.email": lambda e: _("%(field)s: this is not an e-mail address.", field=field_label(e.field)),
    "contact.country": lambda e: _("%(field)s: a two-letter country code, e.g. PL.", field=field_label(e.field)),
    "contact.too_long": lambda e: ngettext_(
        "%(field)s: at most %(num)d character.",
        "%(field)s: at most %(num)d characters.",
        int(e.data.get("limit", 0)),
        field=field_label(e.field),
    ),
    "contact.control_character": lambda e: _(
        "%(field)s: remove the tab, line break or other control character.", field=field_label(e.field)
    ),
    "contact.tax_id": _invalid_tax_id,
    "contact.tax_id_country": lambda e: _(
        "%(field)s: %(number)s is a VAT number of %(prefix)s, not of %(country)s (the contact's country).",
        field=field_label(e.field),
        number=e.data.get("number", ""),
        prefix=e.data.get("prefix", ""),
        country=e.data.get("country", ""),
    ),
    "card.number_missing": lambda e: _("%(field)s is required.", field=field_label(e.field)),
    "card.number_invalid": lambda e: _("%(field)s: this is not a valid card number.", field=field_label(e.field)),
    "card.brand_unsupported": lambda e: _(
        "%(field)s: cards of this brand are not accepted.", field=field_label(e.field)
    ),
    "card.expiry_invalid": lambda e: (
        _("%(field)s: a month from 1 to 12.", field=field_label(e.field))
        if e.field == "exp_month"
        else _("%(field)s: a four-digit year.", field=field_label(e.field))
    ),
    "card.expired": lambda e: _("%(field)s: the card has expired.", field=field_label(e.field)),
    "paypal.unknown_account": lambda e: _("This PayPal account is not known to the payment gateway."),
    "invoice.payment_in_progress": lambda e: _("This invoice is being paid right now. Look again in a moment."),
    "payment.in_progress": lambda e: _("Your payment is still being processed. Look again in a moment."),
    "payment.no_answer": lambda e: _(
        "The payment service did not answer. Your order is being completed and you will receive an e-mail; do not "
        "place it again."
    ),
    "payment.setup_incomplete": lambda e: _("The payment method was not saved. Enter it again."),
    "gateway.refused": lambda e: _(
        "The payment service refused the request. Try again, or use another payment method."
    ),
    "invoice.not_open": lambda e: _("This invoice is already paid or void; nothing is owed on it."),
    "payment.idempotency_conflict": lambda e: _("The page was out of date; choose again."),
    # refunds of credit notes (rules R1, R2): asked by the customer, made by the operator
    "refund.window_closed": lambda e: _(
        "A refund to the card or PayPal is made only within 30 days of the invoice (rule R1); the amount can go to "
        "the credit balance instead."
    ),
    "refund.destination": lambda e: _(
        "Choose where the refund goes: the original payment method or the credit balance."
    ),
    "refund.requested_by": lambda e: _("Say who asked for the refund: the customer or the operator."),
    "refund.no_gateway": lambda e: _("Refunds to the payment method are not available now; choose the credit balance."),
    "refund.unknown": lambda e: _("There is no such refund."),
    "refund.in_flight": lambda e: _("This refund is in progress; wait for its outcome."),
    "refund.not_failed": lambda e: _("Only a failed refund can be tried again or sent to the credit balance."),
    # User Management -> Users: assigning and unassigning (rules U1, U2, A7, L4)
    "assignment.no_free_license": lambda e: (
        _("All seats of this add-on are assigned: buy more, or unassign one first.")
        if e.data.get("addon")
        else _("All licenses are assigned: buy more, or unassign one first.")
    ),
    "assignment.pending_reduction": lambda e: ngettext_(
        "Only %(num)d license remains after the change scheduled for the end of the billing period, and it is "
        "assigned: withdraw that change to assign more.",
        "Only %(num)d licenses remain after the change scheduled for the end of the billing period, and all are "
        "assigned: withdraw that change to assign more.",
        int(e.data.get("remaining", 0)),
    ),
    "assignment.exists": lambda e: _("The user already holds this license."),
    "assignment.missing": lambda e: _("The user does not hold this license."),
    "assignment.requires_license": lambda e: _(
        "Add-on seats go to Licensed users: assign a plan license to the user first."
    ),
    "assignment.addon_seats_held": lambda e: _("Unassign the user's add-on seats first."),
    "assignment.not_per_user": lambda e: _("This product is not assigned to users."),
    # passwords (services/passwords.py)
    "password.too_short": lambda e: _("Use at least %(minimum)s characters.", minimum=e.data.get("minimum", 10)),
    "password.too_long": lambda e: _("Use at most %(maximum)s characters.", maximum=e.data.get("maximum", 256)),
    "password.control_character": lambda e: _("The password cannot hold control characters."),
    "password.common": lambda e: _(
        "This password is too common or too easy to guess: choose a longer one that you use nowhere else."
    ),
    "password.mismatch": lambda e: _("The two passwords differ."),
    "password.wrong": lambda e: _("This is not your current password."),
    "password.locked": lambda e: _(
        "Too many wrong passwords. Try again in %(minutes)s min.", minutes=e.data.get("minutes", 1)
    ),
    "password.link_invalid": lambda e: _("This link was used, has expired or is unknown: ask for a new one."),
    # what a form the portal offered can still be refused for when the page was stale or edited by hand: a product
    # no longer offered, an invoice or payment method no longer there, a total past the ceiling (rule L1)
    "licenses.invalid_total": lambda e: _(
        "Enter a whole number of licenses from 1 to %(maximum)s.",
        maximum=format_decimal(MAX_TOTAL, locale=LOCALES[current_language()]),
    ),
    "plan.billing_day": lambda e: _("Choose a billing day from 1 to 31."),
    "interval.unknown": lambda e: _("Choose monthly or yearly billing."),
    "product.unknown": lambda e: _("This product is not offered: choose one from the list."),
    "product.not_a_plan": lambda e: _("This product is not a plan: choose a plan."),
    "product.not_an_addon": lambda e: _("This product is a plan, not an add-on: choose it under Upgrade Account."),
    "price.missing": lambda e: _(
        "This product has no price in the account's currency for this billing interval: Contact Sales."
    ),
    "change.unknown_type": lambda e: _("The cart holds a change that cannot be made: empty the cart and choose again."),
    "invoice.unknown": lambda e: _("There is no such invoice."),
    "payment_method.unknown": lambda e: _("This payment method is no longer saved for the account."),
    # free trials (rule TR1)
    "trial.not_offered": lambda e: _("This plan offers no free trial: buy it without one (rule TR1)."),
    "trial.already_used": lambda e: _(
        "This account has had its free trial, and a trial is offered once per account (rule TR1). You can buy the "
        "plan without one."
    ),
    "trial.plan_held": lambda e: _(
        "A free trial starts from the free plan; this account already has a paid plan (rule TR1)."
    ),
    "trial.billing_day": lambda e: _("A trial's last day sets the billing day; it cannot be chosen (rule TR1)."),
    "trial.alone": lambda e: _(
        "A free trial is ordered on its own: remove the other items from the cart, and add them once the trial has "
        "started (rule TR1)."
    ),
    "trial.card_required": lambda e: _(
        "This plan's free trial starts once a card or PayPal is saved; nothing is charged before the trial ends "
        "(rule TR1). Add one under Billing information."
    ),
    # the backup payment method (rule BM1)
    "payment_method.backup_is_default": lambda e: _(
        "The default payment method cannot also be the backup: choose another saved method (rule BM1)."
    ),
    "payment_method.not_backup": lambda e: _(
        "Only the backup payment method can be swapped with the default one (rule BM1)."
    ),
    # extra notice addresses (rule N1), named by the form's label
    "notice_address.invalid": _notice_address_invalid,
    "notice_address.duplicate": lambda e: _(
        "%(field)s: %(email)s is on the list already.", field=field_label(e.field), email=e.data.get("email", "")
    ),
    "notice_address.limit": lambda e: ngettext_(
        "%(field)s: an account has at most %(num)d extra notice address (rule N1). Remove one to add another.",
        "%(field)s: an account has at most %(num)d extra notice addresses (rule N1). Remove one to add another.",
        int(e.data.get("limit", 5)),
        field=field_label(e.field),
    ),
    "notice_address.unknown": lambda e: _("This address is no longer on the list."),
    "payment.invalid": lambda e: _("The payment could not be made: check your payment method and try again."),
    "user.unknown": lambda e: _("The account has no such user."),
    # rule X3: the portal gives every order and payment its key; a refusal of it means the page was out of date
    "order.idempotency_conflict": lambda e: _("The page was out of date; choose again."),
    "order.idempotency_key_missing": lambda e: _("The page was out of date; choose again."),
    "payment.idempotency_key_missing": lambda e: _("The page was out of date; choose again."),
    # rule EP1: express pay, one answer whichever number is wrong
    "express_pay.not_found": lambda e: _(
        "No open invoice has this number in the account of this number. Check both numbers on the invoice."
    ),
    "express_pay.throttled": lambda e: _("Too many tries. Try again later."),
    "express_pay.account_number_missing": lambda e: _("Enter the account number printed on the invoice."),
    "express_pay.invoice_number_missing": lambda e: _("Enter the invoice number printed on the invoice."),
    # rule T2: the EU registry does not know the VAT number
    "contact.vat_not_registered": lambda e: _(
        "%(field)s: %(number)s is not registered for VAT in the EU registry (VIES). Check the number, or leave it "
        "empty to buy without the reverse charge.",
        field=field_label(e.field),
        number=e.data.get("number", ""),
    ),
    # discount codes (rules DC1, DC2)
    "discount.invalid_code": lambda e: _(
        "A discount code is 3 to 32 letters, digits, hyphens or underscores: check it and enter it again (rule DC1)."
    ),
    "discount.unknown": lambda e: _("There is no such discount code: check it and enter it again (rule DC1)."),
    "discount.expired": lambda e: _(
        "The discount code %(code)s has expired (rule DC2).", code=e.data.get("code_name", "")
    ),
    "discount.exhausted": lambda e: _(
        "The discount code %(code)s has been used as often as it may be (rule DC2).", code=e.data.get("code_name", "")
    ),
    "discount.retired": lambda e: _(
        "The discount code %(code)s is no longer offered (rule DC2).", code=e.data.get("code_name", "")
    ),
    "discount.currency": lambda e: _(
        "The discount code %(code)s is not offered in %(currency)s, the account's currency (rule DC2).",
        code=e.data.get("code_name", ""),
        currency=e.data.get("currency", ""),
    ),
    "discount.one_at_a_time": lambda e: _(
        "The account has the discount %(current)s: one discount code at a time. Enter another once it has ended "
        "(rule DC2).",
        current=e.data.get("current", ""),
    ),
    "discount.already_redeemed": lambda e: _(
        "This account has used the discount code %(code)s already: a code is used once per account (rule DC2).",
        code=e.data.get("code_name", ""),
    ),
    # rule TE1: an exemption certificate sent
    "tax_exemption.not_eligible": lambda e: _(
        "A tax exemption certificate is accepted from customers in the United States (the Sold-To contact's country)."
    ),
    "tax_exemption.empty": lambda e: _("Choose a file to send."),
    "tax_exemption.too_large": lambda e: _("The file is larger than %(size)d MB.", size=MAX_BYTES >> 20),
    "tax_exemption.file_type": lambda e: _("Send a PDF, PNG or JPEG file."),
}


def failure_text(code: str | None) -> str:
    """Why a gateway refused a charge (rule K7), in the page's language (the portal's and the console's)."""
    return _(FAILURE_MESSAGES.get(code or "", "The payment failed."))


def message_of(error: ProrataError) -> str:
    known = MESSAGES.get(error.code)
    if known is not None:
        return known(error)
    text = error.message
    head, sep, rest = text.partition(": ")
    return rest if sep and " " not in head else text


def field_of(error: ProrataError) -> str:
    field = error.field or "form"
    if field.startswith("subscriptions"):
        return "form"  # the account's own subscriptions, which no form holds: the message goes above the form
    return FORM_FIELD.get(field, field)


def errors_of(error: ProrataError) -> dict[str, str]:
    """``{form field: message}`` for the template: every field a refusal names (rule X4: all at once)."""
    out: dict[str, str] = {}
    for each in every(error):
        out.setdefault(field_of(each), message_of(each))
    return out
