"""Every refusal the engine or a service can give a customer reads in Polish and in English (rules X4, X5).

The source of ``prorata`` is read as Python (``ast``): every refusal it raises with a literal code is found, and each
code is either given words by the portal (``refusals.MESSAGES``, rendered from the gettext catalogs) or by the
operator console (``console.refusals.MESSAGES``, the same catalogs), or named below as one only an operator's tools or
an integrator meet (the CLI, the API's documents, catalog and tax files, the books' checks,
the engine's own consistency checks). A new refusal therefore fails this test until it is given words or a reason.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest

from prorata.domain.errors import RuleViolation
from prorata.entrypoints.console.refusals import MESSAGES as CONSOLE_MESSAGES
from prorata.entrypoints.console.refusals import message_of
from prorata.entrypoints.portal.i18n import use_language
from prorata.entrypoints.portal.refusals import MESSAGES

SOURCE = Path(str(files("prorata")))
CODE = re.compile(r"[a-z_]+\.[a-z_]+")

# the classes of refusals, and the helpers that build one from a code given first
REFUSERS = {"ProrataError", "InvalidInput", "FieldErrors", "CatalogError", "RuleViolation", "_fail"}

# the refusals built with a code that is not a literal at the call, and the codes they can carry
BUILT = {
    ("catalogs/__init__.py", "f'{what}.unreadable'"): {"catalog.unreadable", "tax.unreadable"},
    ("entrypoints/quote_document.py", "code"): set(),  # _fail's own parameter: its callers are scanned
    ("entrypoints/quote_document.py", "exc.code"): set(),  # an InvalidInput re-raised with its own code
    ("domain/pricer.py", "code"): set(),  # check_total's parameter: its default and its callers' are scanned
    ("domain/errors.py", "errors"): set(),  # FieldErrors: the codes of the errors it gathers
    ("entrypoints/console/routes/runs.py", "code"): set(),  # a billing run's kept refusal, worded again
    ("services/webhooks.py", "errors"): set(),  # FieldErrors of the endpoint's checks, scanned where they are built
    ("domain/tax.py", "code"): {"tax.seller_bank", "tax.seller_iban", "tax.seller_swift"},  # the bank account's
    ("services/webhooks.py", "refusal"): {  # the sender's check of an endpoint's address
        "webhook.url_scheme",
        "webhook.url_host",
        "webhook.url_private",
        "webhook.url_credentials",
        "webhook.url_length",
    },
}

# Codes no customer meets in the portal, each for its reason. The portal's forms send only what the portal offered;
# these come from the operator's tools, the API's own inputs, or checks of the engine's own consistency.
OPERATOR_ONLY = {
    # accounts, users and API keys are opened by the operator (CLI) or an integrator (API), never in the portal
    "account.code_invalid", "account.code_taken", "account.country", "account.name", "account.unknown",
    "api_key.name", "api_key.revoked", "api_key.scope", "api_key.unknown",
    "user.email", "user.email_taken", "user.name", "user.role",
    # the operator's CLI and configuration
    "bill.collectors", "billing_run.in_advance", "billing_run.too_far", "billing_run.wait", "clock.backwards",
    "clock.not_simulated", "clock.real_installation", "config.api_rate_limit", "config.smtp_port",
    "config.smtp_tls", "invoices.action", "reconcile.grace", "serve.mail_interval", "verify.unknown_check",
    "config.gateway", "config.stripe_keys", "config.sandbox_latency", "worker.collect_every", "worker.collectors",
    "worker.metrics_every", "worker.vat_every",
    # the dunning schedule (rule I8), from the operator's configuration, and a policy made in code with the same bounds
    "config.dunning_retry_days", "config.dunning_cancel_days", "dunning.retry_days", "dunning.cancel_days",
    # a real gateway's own doors: its signed webhooks, and the API's payment method ids in place of card numbers
    "webhook.signature", "payment.card_number_refused", "payment.paypal_at_gateway", "payment.method_unknown",
    "payment.unknown", "refund.invalid", "payment.no_browser_gateway", "payment.method_missing_id",
    # the API's base64 of an exemption certificate (the portal sends the file itself)
    "tax_exemption.not_encoded",
    # rule NT1: bank statements are imported by the operator (API, CLI), and the thresholds are configuration
    "bank_statement.invalid", "bank_statement.not_encoded", "bank_statement.unreadable", "config.terms_threshold",
    "document.unreadable",
    # outgoing webhooks and events are the operator's (API with an operator key, CLI) and the integrator's
    "webhook.url_scheme", "webhook.url_host", "webhook.url_private", "webhook.url_credentials", "webhook.url_length",
    "webhook.event_type", "webhook.description", "webhook.unknown", "webhook.replay_what", "event.unknown",
    # refunds are the operator's: the gateway's refusal of a refund request and the CLI's own action
    "refunds.action",
    # operators are made on the command line
    "operator.email", "operator.email_taken", "operator.language", "operator.name", "operator.password_input",
    # the operator's catalog and tax files
    "catalog.invalid", "catalog.unreadable", "tax.invalid", "tax.rate_invalid", "tax.rate_not_a_string",
    "tax.rates", "tax.seller_country", "tax.seller_missing", "tax.seller_time_zone", "tax.unreadable",
    "tax.seller_bank", "tax.seller_iban", "tax.seller_swift", "tax.seller_footer", "tax.seller_logo",
    # e-invoices (KSeF) are the operator's documents, and so are the bank's exchange rates they need
    "ksef.correction", "ksef.currency", "ksef.seller_not_polish", "rates.missing", "rates.file", "rates.conflict",
    # the API's JSON documents (quote requests, catalogs); the portal builds its carts itself
    "document.invalid_field", "document.language", "document.malformed_json", "document.missing_field",
    "document.too_deep", "document.unknown_field",
    # values the portal never sends in a wrong shape: amounts, instants, periods and languages it makes itself
    "currency.unknown", "granularity.unknown", "language.unknown", "money.currency_mismatch",
    "money.not_an_amount", "money.not_integer_minor_units",
    "period.empty", "period.out_of_range", "time.naive", "time.not_a_datetime", "time.out_of_range",
    "time_zone.unknown",
    # discount codes are defined, retired and taken away by operators (API, CLI; rule DC2)
    "discount.amount", "discount.code_taken", "discount.duration", "discount.expires_at", "discount.max_redemptions",
    "discount.none", "discount.percent", "discount.periods", "discount.products", "discount.terms",
    # the engine's checks of an account it was handed (stored state, never a customer's input)
    "account.two_plans", "credit_balance.negative", "pending.invalid", "renewal.not_due", "subscription.assigned",
    "subscription.charged", "subscription.duplicate_id", "subscription.period_mismatch", "subscription.quantity",
}  # fmt: skip


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _scan() -> Iterator[tuple[str, str | None, str]]:
    """(module, code or None, the code's expression) of every refusal built in the source."""
    for path in sorted(SOURCE.rglob("*.py")):
        module = path.relative_to(SOURCE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:  # check_total(..., code="addon.invalid_quantity")
                    if keyword.arg == "code" and _literal(keyword.value) is not None:
                        yield module, _literal(keyword.value), ""
                if _callee(node) in REFUSERS and node.args:
                    first = node.args[0]
                    yield module, _literal(first), ast.unparse(first)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):  # def check_total(..., code="...")
                arguments = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + list(node.args.defaults)
                for argument, default in zip(arguments, defaults + list(node.args.kw_defaults), strict=True):
                    if argument.arg == "code" and _literal(default) is not None:
                        yield module, _literal(default), ""


def refusal_codes() -> set[str]:
    codes: set[str] = set()
    for module, code, expression in _scan():
        if code is None:
            codes |= BUILT[(module, expression)]
        else:
            codes.add(code)
    return codes


def test_the_scan_finds_the_refusals_of_the_engine_the_services_and_the_operators_tools() -> None:
    # the scan would pass on nothing; it must see refusals of each kind and of each helper
    assert {"licenses.below_assigned", "addon.invalid_quantity", "licenses.invalid_total", "password.wrong",
            "document.missing_field", "catalog.unreadable", "clock.backwards"} <= refusal_codes()  # fmt: skip


def test_every_code_is_a_code() -> None:
    assert {code for code in refusal_codes() if not CODE.fullmatch(code)} == set()


def test_every_refusal_built_from_a_variable_is_known() -> None:
    # a refusal whose code is not written at the call must say here which codes it can carry
    built = {(module, expression) for module, code, expression in _scan() if code is None}
    assert built == set(BUILT)


def test_the_operators_list_names_only_codes_that_exist_and_the_portal_leaves_alone() -> None:
    assert OPERATOR_ONLY - refusal_codes() == set()
    assert OPERATOR_ONLY & (set(MESSAGES) | set(CONSOLE_MESSAGES)) == set()


@pytest.mark.parametrize("code", sorted(refusal_codes() - OPERATOR_ONLY))
def test_every_refusal_a_customer_can_meet_reads_in_polish_and_in_english(code: str) -> None:
    assert code in MESSAGES or code in CONSOLE_MESSAGES, f"{code}: the page would show the engine's English message"
    refused = RuleViolation(code, "field: the engine's words", field="licenses", minimum=10, maximum=256, assigned=3,
                            must_unassign=1, remaining=6, minutes=5, limit=80)  # fmt: skip
    use_language("pl")
    polish = message_of(refused)
    use_language("en")
    english = message_of(refused)
    assert "the engine's words" not in polish + english
    assert polish != english, f"{code}: the Polish portal shows English words"
