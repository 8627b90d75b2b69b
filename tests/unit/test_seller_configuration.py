"""The seller's branding in the tax configuration (rules I2, I5, X4): its bank account checked as an IBAN, its footer
in each language and its logo read and checked when the configuration is loaded, a process refusing to start on
any of them that cannot be used, the file and the field named."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
from stdnum import iban as stdnum_iban

from prorata import bootstrap
from prorata.catalogs import default_tax_rules, load_tax_rules
from prorata.domain.errors import CatalogError
from prorata.domain.seller import IBAN_LENGTHS, MAX_FOOTER, compact_iban, group_iban, iban_problem
from prorata.domain.tax import parse_tax_toml
from tests.branding import BANK, FOOTER_EN, FOOTER_PL, IBAN, LOGO_SIZE, SWIFT, image, seller_toml, write_config


def refusal(text: str) -> CatalogError:
    with pytest.raises(CatalogError) as refused:
        parse_tax_toml(text, source="tax.toml")
    return refused.value


def test_the_seller_section_gives_the_bank_account_and_the_footer_in_each_language() -> None:
    rules = parse_tax_toml(seller_toml(), source="tax.toml")

    bank = rules.seller.bank
    assert bank is not None
    assert (bank.iban, bank.swift, bank.bank_name) == ("PL61109010140000071219812874", SWIFT, BANK)
    assert bank.printed_iban == IBAN
    assert (rules.seller.footer_in("en"), rules.seller.footer_in("pl")) == (FOOTER_EN, FOOTER_PL)
    assert rules.logo_path == "logo.png"
    assert rules.logo is None  # the parser reads no file: the loader does


def test_one_footer_text_serves_every_language_and_the_built_in_seller_has_no_branding() -> None:
    rules = parse_tax_toml('[seller]\ncountry = "PL"\nfooter = "Registered in Warsaw."\n', source="tax.toml")
    assert (rules.seller.footer_in("en"), rules.seller.footer_in("pl")) == ("Registered in Warsaw.",) * 2
    built_in = default_tax_rules()
    assert (built_in.seller.bank, dict(built_in.seller.footer), built_in.logo) == (None, {}, None)


@pytest.mark.parametrize(
    ("iban", "why"),
    [
        ("PL61 1090 1014 0000 0712 1981 2875", "check digits do not match"),  # the last digit mistyped
        ("PL16 1090 1014 0000 0712 1981 2874", "check digits do not match"),  # the check digits swapped
        ("PL61 1090 1014 0000 0712 1981 287", "has 28 characters"),
        ("1234567890", "two letters of a country"),
        ("PL61-1090-1014", "two letters of a country"),
    ],
)
def test_a_bank_account_that_is_not_an_iban_is_refused_naming_the_file_and_the_field(iban: str, why: str) -> None:
    error = refusal(seller_toml(logo=None, iban=iban))
    assert (error.code, error.field) == ("tax.seller_iban", "seller.bank.iban")
    assert error.message.startswith("tax.toml: seller.bank.iban: ")
    assert why in error.message


@pytest.mark.parametrize(
    ("table", "code", "field"),
    [
        ('[seller.bank]\nswift = "WBKPPLPP"\n', "tax.seller_iban", "seller.bank.iban"),
        (f'[seller.bank]\niban = "{IBAN}"\nswift = "WBK"\n', "tax.seller_swift", "seller.bank.swift"),
        (f'[seller.bank]\niban = "{IBAN}"\nibn = "x"\n', "tax.seller_bank", "seller.bank.ibn"),
        ('[seller.footer]\nde = "Sitz Berlin"\n', "tax.seller_footer", "seller.footer.de"),
        (f'[seller.footer]\nen = "{"x" * (MAX_FOOTER + 1)}"\n', "tax.seller_footer", "seller.footer.en"),
        ('[seller.footer]\nen = "tab\\there"\n', "tax.seller_footer", "seller.footer.en"),
    ],
)
def test_a_bank_account_or_footer_that_cannot_be_used_is_refused_naming_the_field(
    table: str, code: str, field: str
) -> None:
    error = refusal(f'[seller]\ncountry = "PL"\n{table}')
    assert (error.code, error.field, error.data["file"]) == (code, field, "tax.toml")
    assert error.message.startswith(f"tax.toml: {field}: ")


def test_a_logo_that_is_not_a_path_is_refused() -> None:
    error = refusal('[seller]\ncountry = "PL"\nlogo = 5\n')
    assert (error.code, error.field) == ("tax.seller_logo", "seller.logo")


def test_the_iban_lengths_are_the_registrys() -> None:
    # python-stdnum ships the ISO 13616 registry: every length written here is the one it gives
    registry = files("stdnum").joinpath("iban.dat").read_text()
    lengths = {
        found.group(1): 4 + sum(int(count) for count in re.findall(r"(\d+)!?[nac]", found.group(2)))
        for found in re.finditer(r'^([A-Z]{2}) .*?bban="([^"]+)"', registry, re.MULTILINE)
    }
    assert {country: lengths.get(country) for country in IBAN_LENGTHS} == dict(IBAN_LENGTHS)


@pytest.mark.parametrize(
    "iban",
    ["PL61109010140000071219812874", "DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606",
     "NO9386011117947", "PL61109010140000071219812875", "DE89370400440532013001", "GB82WEST12345698765433",
     "XX89370400440532013000", "DE8937040044053201300"],
)  # fmt: skip
def test_the_iban_check_agrees_with_python_stdnum(iban: str) -> None:
    assert (iban_problem(iban) is None) == stdnum_iban.is_valid(iban)


def test_an_iban_is_read_as_typed_and_printed_in_groups_of_four() -> None:
    assert compact_iban(" pl61 1090 1014\t0000 0712 1981 2874 ") == "PL61109010140000071219812874"
    assert group_iban("NO9386011117947") == "NO93 8601 1117 947"


# --------------------------------------------------------------------------------------------------- the logo
def test_a_png_or_jpeg_logo_beside_the_configuration_is_read_with_its_size(tmp_path: Path) -> None:
    png = load_tax_rules(write_config(tmp_path / "png", logo=image("PNG")))
    jpeg_folder = tmp_path / "jpeg"
    write_config(jpeg_folder, seller_toml(logo="brand/logo.jpg"))
    (jpeg_folder / "brand").mkdir()
    (jpeg_folder / "brand" / "logo.jpg").write_bytes(image("JPEG", (400, 100)))
    jpeg = load_tax_rules(jpeg_folder / "tax.toml")

    assert png.logo is not None
    assert (png.logo.kind, (png.logo.width, png.logo.height), png.logo.media_type) == ("png", LOGO_SIZE, "image/png")
    assert jpeg.logo is not None
    assert (jpeg.logo.kind, jpeg.logo.width, jpeg.logo.height) == ("jpeg", 400, 100)


@pytest.mark.parametrize(
    ("logo", "why"),
    [
        (None, "cannot read"),  # no file
        (b"not an image at all", "is not a PNG or JPEG image"),
        (image("GIF"), "is a GIF image"),
        (image("PNG", (8, 8)), "is 8 x 8 pixels"),
        (image("PNG", (5000, 40)), "is 5000 x 40 pixels"),
        (image("PNG")[:200], "is not a PNG or JPEG image"),  # cut short
        (b"\x89PNG" + b"\x00" * (1024 * 1024 + 1), "larger than 1024 KiB"),
    ],
    ids=["missing", "text", "gif", "tiny", "too-wide", "truncated", "too-large"],
)
def test_a_logo_that_cannot_be_used_is_refused_when_the_configuration_is_loaded(
    tmp_path: Path, logo: bytes | None, why: str
) -> None:
    path = write_config(tmp_path, logo=logo)
    with pytest.raises(CatalogError) as refused:
        load_tax_rules(path)
    error = refused.value
    assert (error.code, error.field, error.data["file"]) == ("tax.seller_logo", "seller.logo", str(path))
    assert error.message.startswith(f"{path}: seller.logo: ")
    assert why in error.message


def test_a_process_does_not_start_on_a_bad_iban_or_a_missing_logo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rule X4 at start: `prorata serve` checks the settings before it listens, every command before it opens the
    # database
    bad_iban = write_config(tmp_path / "iban", seller_toml(iban="PL61 1090 1014 0000 0712 1981 2875"), logo=image())
    missing_logo = write_config(tmp_path / "logo")
    for path, code in ((bad_iban, "tax.seller_iban"), (missing_logo, "tax.seller_logo")):
        monkeypatch.setenv("PRORATA_TAX", str(path))
        with pytest.raises(CatalogError) as refused:
            bootstrap.check_settings()
        assert refused.value.code == code
        with pytest.raises(CatalogError):
            bootstrap.build(f"sqlite:///{tmp_path / 'never-made.sqlite3'}")
    assert not (tmp_path / "never-made.sqlite3").exists()


def test_the_example_configuration_in_the_repository_loads_with_its_logo() -> None:
    # the README points operators at it: it must be what a process accepts
    example = Path(__file__).resolve().parents[2] / "examples" / "tax-with-branding.toml"
    rules = load_tax_rules(example)
    assert rules.logo is not None
    assert rules.logo.kind == "png"
    assert rules.seller.bank is not None
    assert set(rules.seller.footer) == {"en", "pl"}
    assert rules.rates == default_tax_rules().rates
