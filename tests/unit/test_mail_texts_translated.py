"""Every e-mail reads in Polish to a Polish reader (rule X5): each text of ``mail_texts`` has its Polish words in the
catalog under the context ``email``, and each kind of e-mail gives a Polish subject and body unlike the English ones.
"""

from __future__ import annotations

import pytest

from prorata.services.mail_texts import BODIES, ROLES, SUBJECTS, compose, texts_in

# texts with no words to translate: fields, punctuation and the tax's name, written alike in both languages
SAME_IN_BOTH = {"- {product}: {users}", "- {name}: {quantity}, {period}: {amount}", "VAT: {amount}"}

DATA = {"amount": 1000, "currency": "PLN", "attempt": 1, "retry": "2026-12-01T00:00:00+00:00", "changes": [],
        "effective": "2026-12-01T00:00:00+00:00", "unassigned": [], "token": "t", "email": "a@example.com",
        "account": "Acme", "role": "admin", "minutes": 15, "attempts": 5, "days": 10,
        "cancels": "2026-12-29T00:00:00+00:00"}  # fmt: skip


@pytest.mark.parametrize("texts", [SUBJECTS, BODIES, ROLES], ids=["subjects", "bodies", "roles"])
def test_every_email_text_has_its_polish_words(texts: dict[str, str]) -> None:
    polish = texts_in(texts, "pl")
    untranslated = [key for key, english in texts.items() if polish[key] == english and english not in SAME_IN_BOTH]
    assert untranslated == []
    assert texts_in(texts, "en") == texts


@pytest.mark.parametrize("kind", sorted(SUBJECTS))
def test_every_kind_of_email_reads_in_each_language(kind: str) -> None:
    polish = compose(kind, "pl", "INV-2026-000001", DATA, portal="https://billing.example.com")
    english = compose(kind, "en", "INV-2026-000001", DATA, portal="https://billing.example.com")
    assert polish[0] != english[0]
    assert polish[1] != english[1]
