"""Tax exemption certificates (rule TE1): what a certificate may be, who may send one, a decision's reason, and the
tax of an exempt buyer."""

from __future__ import annotations

import pytest

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.exemptions import MAX_BYTES, certificate, check_decision, check_eligible
from prorata.domain.tax import Seller, TaxBuyer, TaxRules, decide

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"


@pytest.mark.parametrize(("content", "kind"), [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")])
def test_a_certificate_is_known_by_its_first_bytes_and_named_by_its_kind(content: bytes, kind: str) -> None:
    # rule TE1: the name and the type a browser claims are not trusted; the extension follows the real kind
    sent = certificate("zwolnienie podatkowe 2026.exe", content)

    assert sent.media_type == kind
    assert sent.filename.startswith("zwolnienie_podatkowe_2026.")
    assert sent.filename.endswith({"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}[kind])
    assert sent.content == content


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [('../../etc/pass"wd.pdf', "pass_wd.pdf"), ("C:\\certs\\résumé.pdf", "resume.pdf"), ("", "certificate.pdf"),
     ("...", "certificate.pdf"), ("a" * 300 + ".pdf", "a" * 90 + ".pdf")],
)  # fmt: skip
def test_a_certificates_name_is_safe_in_a_header_and_a_file_system(name: str, cleaned: str) -> None:
    assert certificate(name, PDF).filename == cleaned


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "tax_exemption.empty"), (b"GIF89a....", "tax_exemption.file_type"),
     (b"<html>%PDF-", "tax_exemption.file_type"), (PDF + b"0" * MAX_BYTES, "tax_exemption.too_large")],
)  # fmt: skip
def test_an_empty_a_foreign_or_a_too_large_file_is_refused_naming_the_field(content: bytes, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        certificate("c.pdf", content)
    assert (refused.value.code, refused.value.field, refused.value.rule) == (code, "certificate", "TE1")


def test_a_file_of_exactly_the_limit_is_taken() -> None:
    assert len(certificate("c.pdf", PDF + b"0" * (MAX_BYTES - len(PDF))).content) == MAX_BYTES


@pytest.mark.parametrize("country", ["PL", "DE", "CA", "", None])
def test_only_a_us_customer_may_send_a_certificate(country: str | None) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_eligible(country)
    assert refused.value.code == "tax_exemption.not_eligible"
    check_eligible("US")
    check_eligible("us")


def test_a_rejection_says_why_and_no_reason_is_longer_than_500_characters() -> None:
    with pytest.raises(InvalidInput) as missing:
        check_decision(False, "  ")
    with pytest.raises(InvalidInput) as long:
        check_decision(True, "x" * 501)
    assert missing.value.code == "tax_exemption.reason_missing"
    assert long.value.code == "tax_exemption.reason"
    assert check_decision(True, "") == ""
    assert check_decision(False, " expired ") == "expired"


def test_an_exempt_buyer_pays_no_tax_even_in_the_sellers_own_country() -> None:
    # rule TE1 over rule T1: a US seller with a US rate charges its US buyers, except an exempt one
    rules = TaxRules(Seller("US", "Seller Inc."), {"US": 725})

    taxed = decide(rules, TaxBuyer("US"))
    exempt = decide(rules, TaxBuyer("US", exempt=True))

    assert (taxed.rate, taxed.exempt) == (725, False)
    assert (exempt.rate, exempt.exempt, exempt.reverse_charge, exempt.country) == (0, True, False, "US")
