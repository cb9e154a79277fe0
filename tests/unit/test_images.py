"""Staff never see where a driver's photo was taken: GPS and camera metadata are gone."""

import io
import time

import pytest
from PIL import Image

from foundation.images import MAX_BYTES, ImageTooLarge, NotAnImage, looks_like_image, strip_metadata
from tests.support.images import heic_file, png_bomb

GPS_IFD = 0x8825


def photo_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x0132] = "2026:11:27 09:15:00"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (36.0, 40.0, 12.5), 3: "E", 4: (117.0, 1.0, 30.0)})
    exif[0x0112] = 6  # rotated: the picture must still be shown upright
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_gps_and_camera_data_are_removed_and_the_photo_is_upright() -> None:
    original = photo_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    cleaned = Image.open(io.BytesIO(strip_metadata(original)))
    assert not cleaned.getexif()
    assert "exif" not in cleaned.info and "xmp" not in cleaned.info
    assert cleaned.size == (48, 64)  # orientation 6 applied: width and height swap
    assert cleaned.getpixel((24, 32))[0] > 150  # still the same red picture


def test_png_and_large_pictures_become_bounded_jpegs() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (4000, 1000), (0, 0, 255, 128)).save(out, format="PNG")
    cleaned = Image.open(io.BytesIO(strip_metadata(out.getvalue())))
    assert cleaned.format == "JPEG" and max(cleaned.size) == 2560


def test_bytes_that_are_not_a_picture_are_refused() -> None:
    with pytest.raises(NotAnImage):
        strip_metadata(b"%PDF-1.4 not a photo")


def test_a_picture_bomb_is_refused_from_its_header_without_decoding() -> None:
    bomb = png_bomb()
    assert len(bomb) < 1024 * 1024  # small on disk: 13,300 × 13,300 pixels, 530 MB once decoded
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge):
        strip_metadata(bomb)
    assert time.perf_counter() - started < 0.5  # read from the header, not decoded


def test_too_many_bytes_are_refused_unread() -> None:
    with pytest.raises(ImageTooLarge):
        strip_metadata(b"\xff\xd8\xff" + b"\x00" * (MAX_BYTES + 1))


def test_an_iphone_heic_sent_as_a_file_is_known_as_a_picture_that_cannot_be_cleaned() -> None:
    heic = heic_file()
    assert looks_like_image(heic)  # so it is never forwarded as a plain file, GPS and all
    with pytest.raises(NotAnImage):
        strip_metadata(heic)
    assert not looks_like_image(b"%PDF-1.4 a real document")
