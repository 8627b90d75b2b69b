"""Settings from the environment (``PRORATA_*``); nothing else in Prorata reads the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from prorata.domain.dunning import DunningPolicy, cancel_days_problem, retry_days_problem
from prorata.domain.errors import InvalidInput
from prorata.domain.payment_terms import TermsThresholds, parse_thresholds

DEFAULT_DATABASE_URL = "sqlite:///prorata.sqlite3"  # the embedded database, a file in the working directory


def database_url() -> str:
    """``PRORATA_DATABASE_URL``: ``sqlite:///FILE`` (default) or ``postgresql://USER@HOST:PORT/NAME``."""
    return os.environ.get("PRORATA_DATABASE_URL") or DEFAULT_DATABASE_URL


def catalog_path() -> str | None:
    """``PRORATA_CATALOG``: an operator's catalog file (TOML); the built-in default catalog otherwise."""
    return os.environ.get("PRORATA_CATALOG") or None


def tax_path() -> str | None:
    """``PRORATA_TAX``: an operator's tax configuration (TOML: seller, rates); the built-in one otherwise."""
    return os.environ.get("PRORATA_TAX") or None


def mail_dir() -> str:
    """``PRORATA_MAIL_DIR``: where e-mails are written as ``.eml`` files when no SMTP server is configured."""
    return os.environ.get("PRORATA_MAIL_DIR") or "mail"


def smtp() -> dict[str, str] | None:
    """``PRORATA_SMTP_HOST`` (and ``_PORT``, ``_TLS`` = none|starttls|ssl, ``_USER``, ``_PASSWORD``); None: no SMTP."""
    host = os.environ.get("PRORATA_SMTP_HOST")
    if not host:
        return None
    keys = ("PORT", "TLS", "USER", "PASSWORD")
    return {"host": host} | {
        k.lower(): os.environ[f"PRORATA_SMTP_{k}"] for k in keys if os.environ.get(f"PRORATA_SMTP_{k}")
    }


def mail_from() -> str | None:
    """``PRORATA_MAIL_FROM``: the sender of billing e-mails (default: the seller's e-mail in the tax configuration)."""
    return os.environ.get("PRORATA_MAIL_FROM") or None


def portal_url() -> str:
    """``PRORATA_PORTAL_URL``: the portal's address as customers reach it, for the links e-mails carry (a password
    link, an invitation); default ``http://127.0.0.1:8000``."""
    return (os.environ.get("PRORATA_PORTAL_URL") or "http://127.0.0.1:8000").rstrip("/")


DEFAULT_API_RATE_LIMIT = "600/minute"


def api_rate_limit() -> str | None:
    """``PRORATA_API_RATE_LIMIT``: the requests each API key may make to each server process, e.g. ``600/minute``
    (the default), ``20/second``, ``10000/hour``; ``off``: no limit. None when off."""
    value = (os.environ.get("PRORATA_API_RATE_LIMIT") or DEFAULT_API_RATE_LIMIT).strip()
    return None if value.lower() == "off" else value


def gateway() -> dict[str, str]:
    """``PRORATA_GATEWAY``: ``sandbox`` (the default, built in) or ``stripe``. For Stripe: ``STRIPE_SECRET_KEY``,
    ``STRIPE_PUBLISHABLE_KEY`` and ``STRIPE_WEBHOOK_SECRET`` (Stripe's own names, read from the environment only and
    never stored or logged), and ``STRIPE_API_BASE`` to point the SDK at another address (a local stand-in)."""
    chosen = {"name": (os.environ.get("PRORATA_GATEWAY") or "sandbox").strip().lower()}
    for name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE",
                 "STRIPE_JS_URL"):  # fmt: skip
        if os.environ.get(name):
            chosen[name.lower()] = os.environ[name]
    return chosen


def sandbox_latency_ms() -> str | None:
    """``PRORATA_SANDBOX_LATENCY_MS``: milliseconds every call of the sandbox gateway takes (default 0), to see how
    the billing run's collection and the checkout bear a slow gateway."""
    return os.environ.get("PRORATA_SANDBOX_LATENCY_MS") or None


def secret_key() -> tuple[str | None, str]:
    """``PRORATA_SECRET_KEY``: the installation's secret, from which every webhook endpoint's signing secret is
    derived (so none is stored in the database). Without it, the key is kept in the file ``PRORATA_SECRET_FILE``
    (default ``prorata.key`` in the working directory, beside the embedded database), made on first use and readable
    by its owner only. Returns the value (or None) and the file."""
    return os.environ.get("PRORATA_SECRET_KEY") or None, os.environ.get("PRORATA_SECRET_FILE") or "prorata.key"


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    allow_private: tuple[str, ...] = ()  # networks webhooks may call though private
    timeout: float = 10.0  # seconds, each attempt
    retention_days: int = 30  # events are kept this long
    operator_email: str | None = None  # told when an endpoint is disabled for failing


def webhooks() -> WebhookSettings:
    """Outgoing webhooks: ``PRORATA_WEBHOOK_ALLOW_PRIVATE`` (comma-separated networks, e.g. ``127.0.0.0/8``, or
    ``*``) lets endpoints on private addresses be registered and called, which is refused by default;
    ``PRORATA_WEBHOOK_TIMEOUT`` (seconds, default 10) bounds each attempt; ``PRORATA_EVENT_RETENTION_DAYS`` (default
    30) is how long events are kept; ``PRORATA_OPERATOR_EMAIL`` is told when an endpoint is disabled."""
    allow = os.environ.get("PRORATA_WEBHOOK_ALLOW_PRIVATE") or ""
    return WebhookSettings(
        tuple(part.strip() for part in allow.split(",") if part.strip()),
        float(os.environ.get("PRORATA_WEBHOOK_TIMEOUT") or 10.0),
        int(os.environ.get("PRORATA_EVENT_RETENTION_DAYS") or 30),
        os.environ.get("PRORATA_OPERATOR_EMAIL") or None,
    )


RETRY_DAYS = "PRORATA_DUNNING_RETRY_DAYS"
CANCEL_DAYS = "PRORATA_DUNNING_CANCEL_AFTER_DAYS"


def dunning() -> DunningPolicy:
    """Rule I8, the dunning schedule: ``PRORATA_DUNNING_RETRY_DAYS``, the days after a renewal invoice's issue date
    on which a failed payment is tried again, comma-separated and strictly increasing (e.g. ``2,4``), and
    ``PRORATA_DUNNING_CANCEL_AFTER_DAYS``, the days an account stays overdue after the last failure before its
    subscriptions end. Unset, each is the default policy's (``DunningPolicy()``). A value that cannot be a schedule
    is refused naming the variable, so a process never starts on a schedule nobody meant."""
    default = DunningPolicy()
    retry_text = os.environ.get(RETRY_DAYS, "").strip()
    cancel_text = os.environ.get(CANCEL_DAYS, "").strip()
    retry = default.retry_after_days
    if retry_text:
        parts = [part.strip() for part in retry_text.split(",")]
        whole = all(part.isascii() and part.isdigit() for part in parts)
        retry = tuple(int(part) for part in parts) if whole else ()
        problem = retry_days_problem(retry) if whole else "whole numbers of days"
        if problem is not None:
            raise InvalidInput("config.dunning_retry_days", f"{RETRY_DAYS}: {problem}, comma-separated (e.g. "
                               f"2,4,6), not {retry_text!r}", rule="I8", field=RETRY_DAYS)  # fmt: skip
    cancel = default.cancel_after_overdue_days
    if cancel_text:
        whole = cancel_text.isascii() and cancel_text.isdigit()
        cancel = int(cancel_text) if whole else 0
        problem = cancel_days_problem(cancel) if whole else "a whole number of days"
        if problem is not None:
            raise InvalidInput("config.dunning_cancel_days", f"{CANCEL_DAYS}: {problem}, not {cancel_text!r}",
                               rule="I8", field=CANCEL_DAYS)  # fmt: skip
    return DunningPolicy(retry, cancel)


VIES_URL = "https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number"


def vies() -> tuple[str | None, float]:
    """``PRORATA_VIES_URL``: where EU VAT numbers are checked, the European Commission's VIES REST service by default
    (``off``: not checked, as before: format and check digits only); ``PRORATA_VIES_TIMEOUT``: seconds each check may
    take (default 5), after which the number is accepted provisionally and checked again later."""
    url = (os.environ.get("PRORATA_VIES_URL") or VIES_URL).strip()
    return (None if url.lower() == "off" else url), float(os.environ.get("PRORATA_VIES_TIMEOUT") or 5.0)


TERMS_THRESHOLDS = "PRORATA_TERMS_THRESHOLDS"


def terms_thresholds() -> TermsThresholds:
    """Rule NT1: ``PRORATA_TERMS_THRESHOLDS``, the least monthly recurring charge of an account an operator may put
    on invoice terms, per currency, in its major unit, comma-separated (default ``USD=250``; e.g.
    ``USD=250,EUR=230,PLN=1000``). An account in a currency not listed is refused, naming the currency."""
    text = os.environ.get(TERMS_THRESHOLDS, "").strip()
    return parse_thresholds(text, field=TERMS_THRESHOLDS) if text else TermsThresholds()
