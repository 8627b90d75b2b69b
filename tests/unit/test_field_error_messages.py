"""A form's field errors read in words in both languages (rules X4, X5): every field the contacts and payment forms
hold is named by its label, every field error the portal shows is in both catalogs, and the Polish catalog, which
the portal shows as it is, has no empty or fuzzy entry.
"""

from __future__ import annotations

from importlib.resources import files

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from prorata.domain.errors import InvalidInput
from prorata.entrypoints.portal.i18n import use_language
from prorata.entrypoints.portal.refusals import MESSAGES, errors_of, field_label
from prorata.entrypoints.portal.routes.billing_info import CARD_FIELDS, CONTACT_FIELDS
from prorata.services.billing_information import Contact, check_contacts

FORM_FIELDS = [f"sold_to.{name}" for name in CONTACT_FIELDS] + list(CARD_FIELDS)
FIELD_CODES = sorted(code for code in MESSAGES if code.startswith(("contact.", "card.")))


def catalog(language: str) -> Catalog:
    path = files("prorata").joinpath("locale", language, "LC_MESSAGES", "messages.po")
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("field", FORM_FIELDS)
def test_every_form_field_is_named_by_its_label_in_both_languages(field: str) -> None:
    name = field.rpartition(".")[2]
    use_language("en")
    english = field_label(field)
    use_language("pl")
    polish = field_label(field)
    assert name not in (english, polish), f"{field} would be named {name!r}, not in words"


@pytest.mark.parametrize("code", FIELD_CODES)
def test_every_field_error_names_its_field_in_polish_and_in_english(code: str) -> None:
    refused = InvalidInput(code, "sold_to.city: the engine's words", field="sold_to.city", limit=20,
                           number="123", country="PL", prefix="DE", kind="nip")  # fmt: skip
    use_language("pl")
    polish = errors_of(refused)["sold_to.city"]
    use_language("en")
    english = errors_of(refused)["sold_to.city"]
    assert "Miasto" in polish
    assert "City" in english
    assert "the engine's words" not in polish + english


def test_three_wrong_fields_of_two_contacts_read_as_three_messages() -> None:
    sold_to = Contact("Anna", "anna@acme.pl", "ul. Długa 1", "", "0" * 21, "PL")
    bill_to = Contact("Anna", "anna@acme.pl", "ul. Długa 1", "Gdańsk", "80-001", "PL", tax_id="1234567890")
    with pytest.raises(InvalidInput) as refused:
        check_contacts(sold_to, bill_to)
    use_language("pl")
    assert errors_of(refused.value) == {
        "sold_to.city": "Pole „Miasto” jest wymagane.",
        "sold_to.postal_code": "Pole „Kod pocztowy”: najwyżej 20 znaków.",
        "bill_to.tax_id": "Pole „NIP”: 1234567890 nie jest prawidłowym numerem NIP.",
    }


@pytest.mark.parametrize("language", ["pl", "en"])
def test_the_field_error_messages_are_translated_and_none_is_fuzzy(language: str) -> None:
    messages = catalog(language)
    fuzzy = [message.id for message in messages if message.id and message.fuzzy]
    assert not fuzzy
    ours = [message for message in messages if str(message.id if isinstance(message.id, str) else message.id[0])
            .startswith("%(field)s")]  # fmt: skip
    assert len(ours) >= 13
    for message in ours:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{message.id}: empty in {language}"
        assert all("%(field)s" in text for text in strings), f"{message.id}: drops the field's name in {language}"


def test_the_polish_catalog_has_no_empty_entry() -> None:
    empty = [message.id for message in catalog("pl") if message.id and not all(
        message.string if isinstance(message.string, tuple) else (message.string,))]  # fmt: skip
    assert not empty
