"""The words of billing e-mails, in English and Polish (rules I4, I5, I8, L3, L5, X5).

An e-mail about an invoice also sums it up: its number and issue date (the seller's date, rule I2), each line with its
service period (first and last day included, in the account's time zone, rule C3) and amount (a discount as a line of
its own with its code, after the charge it discounts, rule DC2), and the totals, written by
``prorata.services.formatting`` exactly as the attached PDF, the portal and the e-invoice write them. Every other date
an e-mail gives (a retry, a change taking effect) is the account's date, written the same way.

The words come from the product's gettext catalogs (``prorata.translations``) under the context ``email``: the
English texts below are their msgids, the Polish ones are in ``locale/pl``. Every e-mail ends with the seller's
signature: its name and the footer text of the tax configuration in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from prorata.domain.documents import InvoiceDocument
from prorata.domain.seller import Seller
from prorata.services.formatting import format_local_day, format_money, format_service_period
from prorata.translations import LANGUAGES, catalog

# The texts in English, each the msgid of its entry under the context "email" in the gettext catalogs, which hold
# the Polish words; the fields in braces are filled with str.format once the words are chosen.
SUBJECTS: dict[str, str] = {
    "order_confirmation": "Order confirmation – invoice {invoice}",
    "reduction_scheduled": "Your change is scheduled for the end of the term",
    "receipt": "Payment received – invoice {invoice}",
    "payment_failed": "Payment failed – invoice {invoice}",
    "overdue": "Your account is overdue – invoice {invoice}",
    "cancelled": "Your subscriptions have been cancelled",
    "excess_credited": "Payment added to your credit balance – invoice {invoice}",
    "payment_action_required": "Confirm your payment – invoice {invoice}",
    "refund_succeeded": "Refund made – credit note {invoice}",
    "licenses_unassigned": "Licenses unassigned at the renewal",
    "password_reset": "Set a new password",
    "invitation": "You were added to {account}: set your password",
    "added_to_account": "You were added to {account}",
    "password_changed": "Your password was changed",
    "sign_in_locked": "Sign-in locked after failed attempts",
    "webhook_endpoint_disabled": "Webhook endpoint {endpoint} disabled",
    "vat_number_not_registered": "VAT number {number} is not registered in VIES",
    "trial_ending": "Your free trial of {product} ends on {date}",
}

BODIES: dict[str, str] = {
    "order_confirmation": "Thank you for your order. Invoice {invoice} is attached.",
    "reduction_scheduled": "Your order changes what you hold at the end of the billing period. Until then "
    "nothing changes: you keep and can use all your licenses, and nothing is refunded.\n{changes}",
    "receipt": "We received your payment. Invoice {invoice} is attached.",
    "payment_failed": "We could not charge your payment method for invoice {invoice} (attempt {attempt}). "
    "{retry}Please update your billing information.",
    # rule I8: the day the subscriptions end and the days overdue, by the schedule in force when it was written
    "overdue": "Invoice {invoice} is overdue. Changes and purchases are disabled until it is paid in Invoice "
    "History. If it is still unpaid on {cancels} ({overdue_days}), your subscriptions are cancelled.",
    "cancelled": "Your account was overdue for {days} and its subscriptions have been cancelled.",
    # the same e-mails written before the schedule was configurable, when it was always 30 days
    "overdue_unscheduled": "Invoice {invoice} is overdue. Changes and purchases are disabled until it is paid in "
    "Invoice History; after 30 days overdue your subscriptions are cancelled.",
    "cancelled_unscheduled": "Your account was overdue for 30 days and its subscriptions have been cancelled.",
    "excess_credited": "We received {amount} for invoice {invoice}, which no longer asked for it (it was "
    "voided or credited while the payment was on its way). The amount is in your credit balance and pays your "
    "next invoices first.",
    "payment_action_required": "Your bank asks you to confirm the payment of {amount} for invoice {invoice}. "
    "Confirm it at:\n{confirm}\n\nUntil you do, the invoice stays open. If it is not confirmed by the next "
    "payment attempt, that attempt is made as usual.",
    "refund_succeeded": "We refunded {amount} to {method} as credit note {invoice} (attached) says. Your bank may "
    "take a few days to show it.",
    "licenses_unassigned": "Your subscriptions renewed on {date} with fewer licenses than were assigned, so "
    "the users assigned most recently were unassigned:\n{unassigned}\nAssign the licenses again in User "
    "Management -> Users, or buy more licenses in Billing.",
    "unassigned_item": "- {product}: {users}",
    "password_reset": "Someone asked to set a new password for {email}. If it was you, set it within an hour "
    "at:\n{link}\n\nThe link works once. If it was not you, ignore this message: your password is unchanged.",
    "invitation": "{email} was added to the account {account} ({role}). Set your password within 7 days "
    "at:\n{link}\n\nThe link works once; after that, sign in with your e-mail and password at {portal}.",
    "added_to_account": "{email} was added to the account {account} ({role}). Sign in as usual at {portal} and "
    "choose the account.",
    "password_changed": "The password of {email} was changed, and every other signed-in session was ended. If "
    "it was not you, set a new password at {portal}/password/forgot and tell the account owner.",
    "sign_in_locked": "Sign-in as {email} was locked for {minutes} minutes after {attempts} failed attempts. "
    "If these were not you, somebody may be guessing the password: choose a long one that is used nowhere "
    "else, at {portal}/password/forgot.",
    "webhook_endpoint_disabled": "Webhook endpoint {endpoint} ({url}) failed for 3 days without a single "
    "success and was disabled; events for it wait. Look at its deliveries (prorata webhooks deliveries {endpoint}), "
    "then enable it again (prorata webhooks update {endpoint} --enable).",
    "vat_number_not_registered": "The EU registry (VIES) did not answer when VAT number {number} was saved, so it "
    "was accepted provisionally; asked again, it says the number is not registered. Accounts that use it: "
    "{accounts}. Their invoices carried the reverse charge; correct them and their Sold-To contact "
    "(prorata vat list --status invalid).",
    "trial_ending": "Your free trial of {product} ends on {date}. {next}\n\nIf you do not want to keep "
    "{product}, cancel it in Billing before then: nothing is charged, and the plan ends with the trial.",
    "trial_card": "Then the first invoice is issued and charged to your saved payment method, and the plan renews "
    "on that day every period.",
    "trial_no_card": "Then the first invoice is issued. Add a card or PayPal in Billing before then to pay it "
    "automatically; otherwise it stays open and, unpaid, your account becomes overdue.",
    "retry": "We will try again on {date}. ",
    "to_assign": "\n\nAssign the {count} licenses you bought in User Management -> Users.",
    "to_assign_items": "\n\nAssign what you bought to users in User Management -> Users. To assign: {items}.",
    "change": "- {product}: {change} on {date}",
    "quantity": "- {product}: {licenses} from {date}",
    "product": "- {product}: to {target} with {licenses} from {date}",
    "cancel": "- {product}: cancelled on {date} (you can reactivate it until then)",
    "withdrawn": "- {product}: the change planned for {date} is withdrawn",
    "invoice": "Invoice {number}, issued {date}:",
    "charge": "- {name}: {quantity}, {period}: {amount}",
    "credit": "- Unused time: {name}, {quantity}, {period}: {amount}",
    "discount": "- Discount {code}: {name}, {quantity}, {period}: {amount}",  # rule DC2: after the charge it discounts
    "subtotal": "Subtotal: {amount}",
    "tax": "VAT: {amount}",
    "tax_generic": "Tax: {amount}",  # a seller that is not Polish names its tax by the generic word (rule T1)
    "total": "Total: {amount}",
    "credit_applied": "Credit applied: {amount}",
    "amount_due": "Amount due: {amount}",
}

ROLES = {"owner": "owner", "admin": "admin", "member": "member"}


def texts_in(texts: Mapping[str, str], language: str) -> dict[str, str]:
    """``texts`` in the reader's language, from the catalogs (rule X5)."""
    translations = catalog(language)
    return {key: translations.pgettext("email", english) for key, english in texts.items()}


def _day(value: object, zone: str, language: str) -> str:
    """An instant the outbox row keeps as text (ISO 8601), as the account's date in the reader's language."""
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return format_local_day(at if at.tzinfo else at.replace(tzinfo=UTC), zone, language)  # instants are UTC (X2)


def _days(count: int, language: str, *, overdue: bool = False) -> str:
    """``30 days`` (``30 dni``), or ``30 days overdue`` (``30 dni zaległości``), with the Polish plural forms."""
    words = catalog(language)
    if overdue:
        return words.npgettext("email", "{count} day overdue", "{count} days overdue", count).format(count=count)
    return words.npgettext("email", "{count} day", "{count} days", count).format(count=count)


def _licenses(count: int, language: str) -> str:
    """``1 license``, ``5 licenses``; in Polish ``1 licencja``, ``2 licencje``, ``5 licencji`` (the glossary)."""
    return catalog(language).npgettext("email", "{count} license", "{count} licenses", count).format(count=count)


def _quantity(count: int, unit: str, language: str) -> str:
    """A quantity with its unit: a plan's licenses, a per-user add-on's seats (``2 seats``; ``2 miejsca``,
    ``5 miejsc``), or the number alone (an add-on held per account)."""
    if unit == "seat":
        return catalog(language).npgettext("email", "{count} seat", "{count} seats", count).format(count=count)
    if unit == "license":
        return _licenses(count, language)
    return str(count)


def _name(names: Mapping[str, Mapping[str, str]], code: str, language: str) -> str:
    found = names.get(code, {})
    return found.get(language) or found.get("en") or code


def _change(
    c: Mapping[str, object],
    words: Mapping[str, str],
    names: Mapping[str, Mapping[str, str]],
    zone: str,
    language: str,
    units: Mapping[str, str] | None = None,
) -> str:
    """One change an order left for the term end, or withdrew (rules L3, P5, D1, L6), in the reader's words."""

    def name(code: object) -> str:
        found = names.get(str(code), {})
        return found.get(language) or found.get("en") or str(code)

    date = _day(c.get("effective"), zone, language)
    if "kind" not in c:  # written before changes were recorded by kind
        return words["change"].format(product=c.get("product"), change=c.get("change"), date=date)
    if c.get("action") == "withdrawn":
        return words["withdrawn"].format(product=name(c["product"]), date=date)
    kind = str(c["kind"])
    quantity = c.get("quantity")
    # an add-on's quantity is its seats, a plan's its licenses (the product's own unit, licenses when unknown)
    unit = (units or {}).get(str(c["product"]), "license")
    licenses = _quantity(quantity, unit, language) if isinstance(quantity, int) else ""
    return words[kind].format(product=name(c["product"]), target=name(c.get("target")), licenses=licenses, date=date)


def _unassigned(
    item: Mapping[str, object], words: Mapping[str, str], names: Mapping[str, Mapping[str, str]], language: str
) -> str:
    """The users a renewal unassigned from one product (rules C7, L4), in the reader's words."""
    found = names.get(str(item.get("product")), {})
    product = found.get(language) or found.get("en") or str(item.get("product"))
    users = item.get("users")
    listed = ", ".join(map(str, users)) if isinstance(users, list) else ""
    return words["unassigned_item"].format(product=product, users=listed)


def signature(seller: Seller, language: str) -> str:
    """The seller's name and footer under the usual signature separator (``-- ``), or nothing without either."""
    lines = [line for line in (seller.name.strip(), seller.footer_in(language)) if line]
    return "\n\n-- \n" + "\n".join(lines) if lines else ""


def invoice_summary(document: InvoiceDocument, language: str, units: Mapping[str, str] | None = None) -> str:
    """The invoice in a few lines, every figure as its PDF prints it (rules I5, C3, I2); ``units`` gives each
    product's unit (``license``, ``seat`` or none), licenses when it does not say."""
    words = texts_in(BODIES, language)
    cur = document.currency

    def money(amount: int) -> str:
        return format_money(amount, cur, language)

    issued = format_local_day(document.issued_at, document.seller.time_zone, language)
    out = [words["invoice"].format(number=document.number, date=issued)]
    for line in document.lines:
        name = line.product_names.get(language) or line.product_names.get("en") or line.product
        period = format_service_period(line.period, document.time_zone, document.granularity, language)
        quantity = _quantity(line.quantity, (units or {}).get(line.product, "license"), language)
        kind = line.kind if line.kind in ("credit", "discount") else "charge"
        out.append(words[kind].format(name=name, quantity=quantity, period=period, amount=money(line.amount),
                                      code=line.discount_code or ""))  # fmt: skip
    tax = words["tax" if document.seller.country.upper() == "PL" else "tax_generic"]  # rule T1: VAT, or "Tax"
    out += [words["subtotal"].format(amount=money(document.subtotal)), tax.format(amount=money(document.tax)),
            words["total"].format(amount=money(document.total))]  # fmt: skip
    if document.credit_applied:
        out.append(words["credit_applied"].format(amount=money(-document.credit_applied)))
    out.append(words["amount_due"].format(amount=money(document.amount_due)))
    return "\n".join(out)


def compose(
    kind: str,
    language: str,
    invoice: str | None,
    data: Mapping[str, object],
    *,
    document: InvoiceDocument | None = None,
    time_zone: str = "UTC",
    names: Mapping[str, Mapping[str, str]] | None = None,
    units: Mapping[str, str] | None = None,
    portal: str = "",
    seller: Seller | None = None,
) -> tuple[str, str]:
    """``(subject, body)`` of a message of ``kind``; with the invoice's ``document``, the body sums it up. Dates are
    written in the account's ``time_zone``; products by their ``names`` in the catalog (code -> language -> name).
    With the ``seller``, the body ends with its signature."""
    language = language if language in LANGUAGES else "en"
    words = texts_in(BODIES, language)
    retry = data.get("retry")
    changes = data.get("changes")
    unassigned = data.get("unassigned")
    amount, currency = data.get("amount"), data.get("currency")
    days = data.get("days")  # rule I8: the days overdue before cancellation
    fields = {
        "invoice": invoice or "",
        "amount": format_money(amount, currency, language)
        if isinstance(amount, int) and isinstance(currency, str)
        else "",
        "attempt": data.get("attempt", ""),
        "method": data.get("method", ""),
        "retry": words["retry"].format(date=_day(retry, time_zone, language)) if retry else "",
        "changes": "\n".join(_change(c, words, names or {}, time_zone, language, units) for c in changes)
        if isinstance(changes, list)
        else "",
        "date": _day(data.get("effective"), time_zone, language) if data.get("effective") else "",
        "cancels": _day(data.get("cancels"), time_zone, language) if data.get("cancels") else "",
        "days": _days(days, language) if isinstance(days, int) else "",
        "overdue_days": _days(days, language, overdue=True) if isinstance(days, int) else "",
        "unassigned": "\n".join(_unassigned(u, words, names or {}, language) for u in unassigned)
        if isinstance(unassigned, list)
        else "",
        # messages to people (sign-in and passwords); a link is made at sending, from the portal's address
        "portal": portal or "/",
        "link": f"{portal}/password/set/{data['token']}" if isinstance(data.get("token"), str) else "",
        "confirm": f"{portal}/billing/payments/{data['payment']}/confirm"
        if isinstance(data.get("payment"), int)
        else "",
        "email": data.get("email", ""),
        "account": data.get("account", ""),
        "role": texts_in(ROLES, language).get(str(data.get("role", "")), data.get("role", "")),
        "minutes": data.get("minutes", ""),
        "attempts": data.get("attempts", ""),
        "endpoint": data.get("endpoint", ""),  # a message to the operator: a webhook endpoint disabled
        "url": data.get("url", ""),
        "number": data.get("number", ""),  # a message to the operator: a VAT number the registry does not know
        "accounts": data.get("accounts", ""),
        "product": _name(names or {}, str(data["product"]), language) if data.get("product") else "",  # rule TR1
        "next": words["trial_card" if data.get("card") else "trial_no_card"],
    }
    # rule I8: an overdue or cancellation notice written before it carried its schedule says what was then true
    unscheduled = kind in ("overdue", "cancelled") and not isinstance(days, int)
    body = words[f"{kind}_unscheduled" if unscheduled else kind].format(**fields)
    count, bought = data.get("to_assign"), data.get("bought")
    if isinstance(bought, list) and bought:  # rule L5: each product's licenses or seats, counted apart
        items = "; ".join(f"{_name(names or {}, str(code), language)}: "
                          f"{_quantity(int(n), (units or {}).get(str(code), 'license'), language)}"
                          for code, n in bought)  # fmt: skip
        body += words["to_assign_items"].format(items=items)
    elif isinstance(count, int) and count > 0:  # written before the products were recorded apart
        body += words["to_assign"].format(count=count)
    if document is not None:
        body += "\n\n" + invoice_summary(document, language, units)
    if seller is not None:
        body += signature(seller, language)
    return texts_in(SUBJECTS, language)[kind].format(**fields), body
