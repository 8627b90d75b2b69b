"""A seller's tax configuration with its branding (bank account, footer in each language, logo), written to a folder
the way an operator writes ``PRORATA_TAX``; and images to make logos of."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

NAME = "Acme Billing sp. z o.o."
ADDRESS = ("ul. Marszałkowska 10", "00-590 Warszawa", "Polska")
TAX_ID = "5260250995"
IBAN = "PL61 1090 1014 0000 0712 1981 2874"  # the form banks print; the configuration may hold it so
SWIFT = "WBKPPLPP"
BANK = "Santander Bank Polska"
FOOTER_EN = "Acme Billing sp. z o.o., registered in the National Court Register under KRS 0000123456."
FOOTER_PL = "Acme Billing sp. z o.o., wpisana do Krajowego Rejestru Sądowego pod numerem KRS 0000123456."
LOGO_SIZE = (240, 80)


def image(kind: str = "PNG", size: tuple[int, int] = LOGO_SIZE) -> bytes:
    """A small two-colour picture in ``kind`` (PNG, JPEG, GIF ...)."""
    picture = Image.new("RGB", size, (20, 60, 140))
    picture.paste((250, 200, 0), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    picture.save(out, kind)
    return out.getvalue()


def seller_toml(*, logo: str | None = "logo.png", iban: str = IBAN, extra: str = "") -> str:
    """The tax configuration with the seller's identity, bank account, footer in English and Polish and logo."""
    lines = [
        "[seller]",
        'country = "PL"',
        f'name = "{NAME}"',
        "address = [" + ", ".join(f'"{line}"' for line in ADDRESS) + "]",
        f'tax_id = "{TAX_ID}"',
        'email = "billing@acme.example"',
        'time_zone = "Europe/Warsaw"',
        *([f'logo = "{logo}"'] if logo is not None else []),
        extra,
        "[seller.bank]",
        f'iban = "{iban}"',
        f'swift = "{SWIFT}"',
        f'name = "{BANK}"',
        "[seller.footer]",
        f'en = "{FOOTER_EN}"',
        f'pl = "{FOOTER_PL}"',
        "[rates]",
        'PL = "23"',
        'DE = "19"',
    ]
    return "\n".join(lines) + "\n"


def write_config(folder: Path, text: str | None = None, *, logo: bytes | None = None) -> Path:
    """``tax.toml`` in ``folder`` (by default the branded seller) and, when given, ``logo.png`` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    if logo is not None:
        (folder / "logo.png").write_bytes(logo)
    path = folder / "tax.toml"
    path.write_text(seller_toml() if text is None else text, encoding="utf-8")
    return path
