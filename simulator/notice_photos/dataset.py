"""The test set: notices photographed with one or more defects, photos with no notice, and bad inputs,
each with what a reader should answer."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageDraw

from simulator.notice_photos.degrade import EFFECTS, photograph
from simulator.notice_photos.templates import OFFENCES, PAGE, Truth, font, make_notice, render


@dataclass(frozen=True)
class Sample:
    name: str
    category: str  # clean, an effect, "combined", or a bad input's name
    photo: bytes
    truth: Truth | None  # None: no notice in the photo
    expected: str  # the reading's status: read, not_a_notice, two_pages
    flagged: bool = False  # the checks should flag it for staff


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()


def notice_sample(seed: int, effects: tuple[str, ...], category: str) -> Sample:
    rng = random.Random(seed)
    notice = make_notice(rng)
    return Sample(f"{category}-{seed}", category, photograph(render(notice, rng), effects, rng), notice.truth, "read")


def blank_page(rng: random.Random) -> bytes:
    return photograph(Image.new("RGB", PAGE, (250, 250, 247)), ("light",), rng)


def truck(rng: random.Random) -> bytes:
    """A lorry on a road, drawn in blocks: no text at all."""
    image = Image.new("RGB", (1280, 960), (150, 190, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 620, 1280, 960), fill=(90, 90, 90))
    draw.rectangle((200, 300, 900, 640), fill=(rng.randrange(100, 250), 60, 40))
    draw.rectangle((900, 420, 1120, 640), fill=(40, 80, 160))
    for x in (300, 500, 800, 1010):
        draw.ellipse((x - 60, 600, x + 60, 720), fill=(20, 20, 20))
    return _jpeg(image)


def receipt(rng: random.Random) -> bytes:
    """A shop receipt: text, but no notice."""
    image = Image.new("RGB", (700, 1100), (245, 245, 240))
    draw, face = ImageDraw.Draw(image), font(30)
    lines = [
        "服务区便利店",
        "购物小票",
        "矿泉水    2瓶    6.00",
        "方便面    1桶    5.50",
        "香烟      1包   25.00",
        f"合计：{36.5 + rng.randrange(0, 10)}元",
        "微信支付",
        "谢谢惠顾",
    ]
    for i, line in enumerate(lines):
        draw.text((60, 80 + i * 70), line, font=face, fill=(30, 30, 30))
    return photograph(image, ("perspective",), rng)


def chat_screenshot(rng: random.Random) -> bytes:
    """A screenshot of a chat about a fine: penalty words, but no notice."""
    image = Image.new("RGB", (750, 1334), (237, 237, 237))
    draw, face = ImageDraw.Draw(image), font(28)
    bubbles = [
        ("老王", "今天在高速上被罚了2000元"),
        ("我", "啥原因？超限了？"),
        ("老王", "说是违反了公路法，给了个单子"),
        ("我", "复议有期限的，赶紧问问"),
        ("老王", "好的，明天去执法站问"),
    ]
    y = 140
    for who, text in bubbles:
        mine = who == "我"
        width = int(draw.textlength(text, font=face)) + 40
        x = 750 - width - 40 if mine else 40
        draw.rounded_rectangle((x, y, x + width, y + 70), 12, fill=(149, 236, 105) if mine else (255, 255, 255))
        draw.text((x + 20, y + 18), text, font=face, fill=(20, 20, 20))
        y += 110
    return _jpeg(image)


def two_pages(seed: int) -> Sample:
    rng = random.Random(seed)
    left, right = render(make_notice(rng), rng), render(make_notice(rng), rng)
    spread = Image.new("RGB", (PAGE[0] * 2 + 60, PAGE[1]), (100, 100, 100))
    spread.paste(left, (0, 0))
    spread.paste(right, (PAGE[0] + 60, 0))
    return Sample(f"two_pages-{seed}", "two_pages", photograph(spread, ("light",), rng), None, "two_pages")


def upside_down(seed: int) -> Sample:
    rng = random.Random(seed)
    notice = make_notice(rng)
    page = render(notice, rng).rotate(180)
    return Sample(f"upside_down-{seed}", "upside_down", photograph(page, ("light",), rng), notice.truth, "read")


def bad_article(seed: int) -> Sample:
    """A notice citing an article the (complete) regulation does not have."""
    rng = random.Random(seed)
    notice = make_notice(rng, offence=OFFENCES[1], article="第九十九条", arabic=False)
    return Sample(
        f"bad_article-{seed}",
        "bad_article",
        photograph(render(notice, rng), (), rng),
        notice.truth,
        "read",
        flagged=True,
    )


def out_of_range(seed: int) -> Sample:
    """An overload fine above the article's ceiling of 30000 yuan."""
    rng = random.Random(seed)
    notice = make_notice(rng, offence=OFFENCES[0], amount=rng.choice((35000, 50000, 80000)))
    return Sample(
        f"out_of_range-{seed}",
        "out_of_range",
        photograph(render(notice, rng), (), rng),
        notice.truth,
        "read",
        flagged=True,
    )


def samples(per_effect: int = 4, seed: int = 2026) -> Iterator[Sample]:
    """The whole set: clean, one effect each, combined, no-notice photos and bad inputs."""
    rng = random.Random(seed)
    for i in range(per_effect):
        yield notice_sample(seed + i, (), "clean")
    for n, effect in enumerate(EFFECTS):
        for i in range(per_effect):
            yield notice_sample(seed + 100 * (n + 1) + i, (effect,), effect)
    for i in range(per_effect):
        effects = tuple(rng.sample(EFFECTS, 3))
        yield notice_sample(seed + 1000 + i, effects, "combined")
    for i, make in enumerate((blank_page, truck, receipt, chat_screenshot)):
        yield Sample(f"{make.__name__}-{i}", make.__name__, make(random.Random(seed + i)), None, "not_a_notice")
    for i in range(2):
        yield two_pages(seed + 2000 + i)
        yield upside_down(seed + 2100 + i)
        yield bad_article(seed + 2200 + i)
        yield out_of_range(seed + 2300 + i)
