"""Photos are re-encoded without their metadata (GPS position, phone model, time) before staff see them."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 2560


class NotAnImage(ValueError):
    """The bytes are not an image Pillow can read."""


def strip_metadata(data: bytes) -> bytes:
    """A JPEG of the same picture, turned upright, with no EXIF, XMP or ICC blocks left in it."""
    try:
        with Image.open(io.BytesIO(data)) as original:
            upright = ImageOps.exif_transpose(original)
            upright.thumbnail((MAX_SIDE, MAX_SIDE))
            pixels = upright.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise NotAnImage(str(exc)) from exc
    clean = Image.new("RGB", pixels.size)
    clean.paste(pixels)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=88)
    return out.getvalue()
