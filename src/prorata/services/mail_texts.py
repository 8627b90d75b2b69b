"""The words of billing e-mails, in English and Polish (rules I4, I8, L3, L5, X5)."""

from __future__ import annotations

from collections.abc import Mapping

from prorata.domain.money import Money

SUBJECTS: dict[str, dict[str, str]] = {
    "en": {
        "order_confirmation": "Order confirmation – invoice {invoice}",
        "reduction_scheduled": "Your change is scheduled for the end of the term",
        "receipt": "Payment received – invoice {invoice}",
        "payment_failed": "Payment failed – invoice {invoice}",
        "overdue": "Your account is overdue – invoice {invoice}",
        "cancelled": "Your subscriptions have been cancelled",
        "excess_credited": "Payment added to your credit balance – invoice {invoice}",
    },
    "pl": {
        "order_confirmation": "Potwierdzenie zamówienia – faktura {invoice}",
        "reduction_scheduled": "Zmiana zaplanowana na koniec okresu rozliczeniowego",
        "receipt": "Płatność otrzymana – faktura {invoice}",
        "payment_failed": "Płatność nieudana – faktura {invoice}",
        "overdue": "Zaległa płatność – faktura {invoice}",
        "cancelled": "Subskrypcje zostały anulowane",
        "excess_credited": "Płatność dodana do salda kredytu – faktura {invoice}",
    },
}

BODIES: dict[str, dict[str, str]] = {
    "en": {
        "order_confirmation": "Thank you for your order. Invoice {invoice} is attached.",
        "reduction_scheduled": "These changes take effect at the end of the current term; until then you keep "
        "and can use all your licenses:\n{changes}",
        "receipt": "We received your payment. Invoice {invoice} is attached.",
        "payment_failed": "We could not charge your payment method for invoice {invoice} (attempt {attempt}). "
        "{retry}Please update your billing information.",
        "overdue": "Invoice {invoice} is overdue. Changes and purchases are disabled until it is paid in "
        "Invoice History; after 30 days overdue your subscriptions are cancelled.",
        "cancelled": "Your account was overdue for 30 days and its subscriptions have been cancelled.",
        "excess_credited": "We received {amount} for invoice {invoice}, which no longer asked for it (it was "
        "voided or credited while the payment was on its way). The amount is in your credit balance and pays your "
        "next invoices first.",
        "retry": "We will try again on {date}. ",
        "to_assign": "\n\nAssign the {count} licenses you bought in User Management -> Users.",
        "change": "- {product}: {change} on {date}",
    },
    "pl": {
        "order_confirmation": "Dziękujemy za zamówienie. W załączniku faktura {invoice}.",
        "reduction_scheduled": "Te zmiany wejdą w życie z końcem bieżącego okresu; do tego czasu zachowujesz "
        "i możesz używać wszystkich licencji:\n{changes}",
        "receipt": "Otrzymaliśmy płatność. W załączniku faktura {invoice}.",
        "payment_failed": "Nie udało się obciążyć metody płatności za fakturę {invoice} (próba {attempt}). "
        "{retry}Zaktualizuj dane rozliczeniowe.",
        "overdue": "Faktura {invoice} jest zaległa. Zmiany i zakupy są zablokowane do jej opłacenia w Historii "
        "faktur; po 30 dniach zaległości subskrypcje zostaną anulowane.",
        "cancelled": "Konto miało zaległe faktury przez 30 dni i jego subskrypcje zostały anulowane.",
        "excess_credited": "Otrzymaliśmy {amount} za fakturę {invoice}, która nie wymagała już zapłaty (została "
        "anulowana lub skorygowana w trakcie płatności). Kwota trafiła na saldo kredytu i w pierwszej kolejności "
        "opłaci kolejne faktury.",
        "retry": "Spróbujemy ponownie {date}. ",
        "to_assign": "\n\nPrzypisz {count} zakupionych licencji w Zarządzanie użytkownikami -> Użytkownicy.",
        "change": "- {product}: {change}, od {date}",
    },
}


def compose(kind: str, language: str, invoice: str | None, data: Mapping[str, object]) -> tuple[str, str]:
    """``(subject, body)`` of a message of ``kind``."""
    language = language if language in SUBJECTS else "en"
    words = BODIES[language]
    retry = data.get("retry")
    changes = data.get("changes")
    amount, currency = data.get("amount"), data.get("currency")
    fields = {
        "invoice": invoice or "",
        "amount": str(Money(amount, currency)) if isinstance(amount, int) and isinstance(currency, str) else "",
        "attempt": data.get("attempt", ""),
        "retry": words["retry"].format(date=str(retry)[:10]) if retry else "",
        "changes": "\n".join(
            words["change"].format(product=c["product"], change=c["change"], date=str(c["effective"])[:10])
            for c in changes
        )
        if isinstance(changes, list)
        else "",
    }
    body = words[kind].format(**fields)
    count = data.get("to_assign")
    if isinstance(count, int) and count > 0:
        body += words["to_assign"].format(count=count)
    return SUBJECTS[language][kind].format(**fields), body
