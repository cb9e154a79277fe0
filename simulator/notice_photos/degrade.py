"""A clean page "photographed" by software: on a desk, in perspective, turned, blurred, compressed, lit
unevenly, folded, cropped, a thumb over a corner."""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Effect = str
EFFECTS: tuple[Effect, ...] = ("perspective", "rotation", "blur", "jpeg", "light", "fold", "crop", "thumb")


def _coefficients(source: list[tuple[float, float]], target: list[tuple[float, float]]) -> list[float]:
    """PIL's perspective coefficients mapping target points back to source points."""
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    values = np.array([c for point in source for c in point], dtype=float)
    return list(np.linalg.solve(np.array(rows, dtype=float), values))


def on_desk(page: Image.Image, rng: random.Random) -> Image.Image:
    """The page lying on a desk, a margin of table around it."""
    w, h = page.size
    margin = int(w * rng.uniform(0.04, 0.1))
    colour = (rng.randrange(60, 140), rng.randrange(60, 140), rng.randrange(60, 140))
    desk = Image.new("RGB", (w + 2 * margin, h + 2 * margin), colour)
    desk.paste(page, (margin, margin))
    return desk


def perspective(image: Image.Image, rng: random.Random) -> Image.Image:
    w, h = image.size

    def d() -> float:
        return rng.uniform(0, 0.08)

    target = [(w * d(), h * d()), (w * (1 - d()), h * d()), (w * (1 - d()), h * (1 - d())), (w * d(), h * (1 - d()))]
    source = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    coeffs = _coefficients(source, target)
    return image.transform(
        image.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=(90, 90, 90)
    )


def rotation(image: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.choice((-1, 1)) * rng.uniform(2, 8)
    return image.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 90, 90))


def blur(image: Image.Image, rng: random.Random) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 2.2)))


def jpeg(image: Image.Image, rng: random.Random) -> Image.Image:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=rng.randrange(12, 35))
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def light(image: Image.Image, rng: random.Random) -> Image.Image:
    """A shadow falling across the page: brightness from full to a third along a random direction."""
    w, h = image.size
    xs, ys = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    a = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(a) * xs + np.sin(a) * ys
    ramp = (ramp - ramp.min()) / (np.ptp(ramp) or 1)
    factor = 1 - rng.uniform(0.45, 0.65) * ramp
    pixels = np.asarray(image, dtype=float) * factor[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def fold(image: Image.Image, rng: random.Random) -> Image.Image:
    """A crease across the page: a dark line with a lighter band beside it."""
    w, h = image.size
    y = int(h * rng.uniform(0.3, 0.7))
    pixels = np.asarray(image, dtype=float).copy()
    band = max(4, h // 150)
    pixels[y - band : y, :] *= 0.75
    pixels[y : y + band, :] = np.minimum(pixels[y : y + band, :] * 1.08, 255)
    out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    ImageDraw.Draw(out).line([(0, y), (w, y + rng.randrange(-10, 10))], fill=(120, 120, 120), width=2)
    return out


def crop(image: Image.Image, rng: random.Random) -> Image.Image:
    """An edge cut off by the framing: the left or right margin and a little of the text."""
    w, h = image.size
    cut = int(w * rng.uniform(0.03, 0.09))
    return image.crop((cut, 0, w, h)) if rng.random() < 0.5 else image.crop((0, 0, w - cut, h))


def thumb(image: Image.Image, rng: random.Random) -> Image.Image:
    """A thumb over a lower corner."""
    w, h = image.size
    out = image.copy()
    tw, th = int(w * rng.uniform(0.12, 0.18)), int(h * rng.uniform(0.12, 0.16))
    left = rng.random() < 0.5
    x = -tw // 3 if left else w - tw + tw // 3
    y = h - th + th // 4
    ImageDraw.Draw(out).ellipse((x, y, x + tw, y + th * 2), fill=(224, 172, 140))
    return out


APPLY = {
    "perspective": perspective,
    "rotation": rotation,
    "blur": blur,
    "jpeg": jpeg,
    "light": light,
    "fold": fold,
    "crop": crop,
    "thumb": thumb,
}


def photograph(page: Image.Image, effects: tuple[Effect, ...], rng: random.Random) -> bytes:
    """The page on a desk with `effects` applied in a natural order, as JPEG bytes from a phone."""
    image = on_desk(page, rng)
    for name in ("crop", "fold", "light", "perspective", "rotation", "thumb", "blur", "jpeg"):
        if name in effects:
            image = APPLY[name](image, rng)
    image.thumbnail((1600, 1600))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()
