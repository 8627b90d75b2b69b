"""The seller's logo named by the tax configuration (``seller.logo``), read and checked when the configuration is
loaded, so that a file that is missing, is not a PNG or JPEG image, or is of no sane size stops the process at start
with the file and the field named, instead of every invoice's PDF failing later.

Pillow (which reportlab draws images with) decodes the whole image here once: a file cut short or not an image at all
is refused now, and a document never meets it.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from prorata.domain.errors import CatalogError
from prorata.domain.seller import Logo

MAX_BYTES = 1024 * 1024  # a logo is a small picture; a larger file is likely the wrong one
MIN_PIXELS, MAX_PIXELS = 16, 4000  # each side
FORMATS = {"PNG": "png", "JPEG": "jpeg"}


def read_logo(path: str, folder: Path, source: str) -> Logo:
    """The logo at ``path`` (relative to ``folder``, the configuration file's, unless absolute), checked."""

    def refuse(why: str) -> CatalogError:
        return CatalogError("tax.seller_logo", f"{source}: seller.logo: {why}", field="seller.logo", file=source)

    file = Path(path).expanduser()
    file = file if file.is_absolute() else folder / file
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise refuse(f"cannot read {file}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise refuse(f"{file} is larger than {MAX_BYTES // 1024} KiB; a logo is a small PNG or JPEG image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            kind = FORMATS.get(str(image.format))
            if kind is None:
                raise refuse(f"{file} is a {image.format} image; a logo is a PNG or JPEG image")
            width, height = image.size
            if not (MIN_PIXELS <= width <= MAX_PIXELS and MIN_PIXELS <= height <= MAX_PIXELS):
                raise refuse(f"{file} is {width} x {height} pixels; each side from {MIN_PIXELS} to {MAX_PIXELS}")
            image.load()  # the whole image decodes: a file cut short is refused here, not in a document
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:  # fmt: skip
        raise refuse(f"{file} is not a PNG or JPEG image that can be read ({exc})") from None
    return Logo(data, kind, width, height)
