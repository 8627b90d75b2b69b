"""The address checker behind rule K5: a suggestion when the country's rules write the address differently."""

from __future__ import annotations

from prorata.adapters.address import check_address


def test_a_polish_postal_code_without_its_dash_gets_the_dashed_one_suggested() -> None:
    check = check_address("PL", "ul. Prosta 1", "Warszawa", "00001")
    assert check.suggestion is not None
    assert check.suggestion["postal_code"] == "00-001"
    assert check.suggestion["city"] == "Warszawa"


def test_a_correct_address_gets_no_suggestion_even_in_other_letter_case() -> None:
    assert check_address("PL", "ul. Prosta 1", "warszawa", "00-001").suggestion is None
    assert check_address("US", "1 Demo Street", "New York", "10001", "ny").suggestion is None


def test_a_missing_us_state_is_reported_as_a_problem_of_the_region() -> None:
    check = check_address("US", "1 Demo Street", "New York", "10001")
    assert check.suggestion is None
    assert check.problems == {"region": "required"}
