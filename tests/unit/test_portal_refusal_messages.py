"""Every refusal the engine can give a cart reaches a Polish or English buyer in their own language (rules X4, X5):
the portal's cart, order summary and forms show the message of the refusal's code, never the engine's English text.
"""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from prorata.domain.errors import RuleViolation
from prorata.entrypoints.portal.i18n import use_language
from prorata.entrypoints.portal.refusals import MESSAGES, message_of

# the modules that price a cart: every rule they enforce can refuse an order summary
CART_MODULES = ("changes.py", "pricer.py", "engine.py")


def rule_codes() -> set[str]:
    codes: set[str] = set()
    for module in CART_MODULES:
        text = files("prorata.domain").joinpath(module).read_text(encoding="utf-8")
        codes.update(re.findall(r'RuleViolation\(\s*"([a-z_]+\.[a-z_]+)"', text))
    return codes


def test_the_rules_a_cart_can_break_are_found_in_the_engine() -> None:
    # the scan below would pass on nothing; it must see the engine's rules
    assert {"licenses.below_assigned", "subscription.cancelling", "pending.blocks_new_period"} <= rule_codes()


@pytest.mark.parametrize("code", sorted(rule_codes()))
def test_every_rule_a_cart_can_break_has_a_portal_message(code: str) -> None:
    assert code in MESSAGES, f"{code}: the portal would show the engine's English message"


def assignment_codes() -> set[str]:
    """The rules User Management -> Users can refuse an assignment for (U1, U2, A7, L4)."""
    text = files("prorata.services").joinpath("assign_license.py").read_text(encoding="utf-8")
    return set(re.findall(r'RuleViolation\(\s*"([a-z_]+\.[a-z_]+)"', text))


def test_the_rules_an_assignment_can_break_are_found_in_the_service() -> None:
    assert {"assignment.no_free_license", "assignment.pending_reduction", "assignment.requires_license"} <= (
        assignment_codes()
    )


@pytest.mark.parametrize("code", sorted(assignment_codes()))
def test_every_refused_assignment_has_a_portal_message(code: str) -> None:
    # rule X5: the Users page shows the refusal in the viewer's language, never the service's English text
    assert code in MESSAGES, f"{code}: the Users page would show the service's English message"


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_portal_refusal_reads_in_polish_and_in_english(code: str) -> None:
    refused = RuleViolation(code, "field: the engine's words", field="field", minimum=10, assigned=3, must_unassign=1,
                            remaining=6)  # fmt: skip
    use_language("pl")
    polish = message_of(refused)
    use_language("en")
    english = message_of(refused)
    assert polish != english
    assert "the engine's words" not in polish + english
