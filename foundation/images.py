"""Photos are re-encoded without their metadata (GPS position, phone model, time) before staff see them.

A picture is measured from its header before it is decoded: a small file can declare a huge picture (a
PNG of 13,300 × 13,300 pixels fits in under 1 MB and decodes to gigabytes), so files and pictures above
the limits below are refused unread.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 2560
MAX_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
MAX_PIXELS = 50_000_000  # a 48-megapixel phone photo passes; decoded RGBA stays under 200 MB
# image containers Pillow cannot read without plug-ins (HEIC from iPhones, AVIF): ISO-BMFF `ftyp` brands
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


class NotAnImage(ValueError):
    """The bytes are not an image Pillow can read."""


class ImageTooLarge(ValueError):
    """The file or the picture it declares is beyond the limits; it was not decoded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_heif(data: bytes) -> bool:
    """An HEIC/HEIF/AVIF picture (an image, though Pillow cannot read it)."""
    return data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS


def looks_like_image(data: bytes) -> bool:
    """Whether the bytes are a picture, whatever the file's name or declared type says."""
    if is_heif(data):
        return True
    try:
        with _opened(data):
            return True
    except ImageTooLarge:
        return True
    except NotAnImage:
        return False


def _opened(data: bytes) -> Image.Image:
    """The picture with only its header read; Pillow's own bomb warning counts as too large."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageTooLarge(f"超过 {MAX_PIXELS // 1_000_000} 百万像素") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise NotAnImage(str(exc)) from exc


def check_image(data: bytes) -> tuple[int, int]:
    """Width and height from the header; raises ImageTooLarge or NotAnImage without decoding anything."""
    if len(data) > MAX_BYTES:
        raise ImageTooLarge(f"{len(data) // (1024 * 1024)} MB")
    if is_heif(data):
        raise NotAnImage("HEIF/HEIC/AVIF")
    with _opened(data) as image:
        width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(f"{width}×{height}")
    return width, height


def strip_metadata(data: bytes) -> bytes:
    """A JPEG of the same picture, turned upright, with no EXIF, XMP or ICC blocks left in it.

    CPU-heavy for big photos: call it off the event loop (asyncio.to_thread)."""
    check_image(data)
    try:
        with Image.open(io.BytesIO(data)) as original:
            original.draft("RGB", (MAX_SIDE, MAX_SIDE))  # a JPEG is decoded at a reduced scale right away
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
