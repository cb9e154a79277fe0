"""Penalty notices drawn from templates with varied fields, as clean page images with their truth."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.resources import files

from PIL import Image, ImageDraw, ImageFont

PAGE = (1240, 1754)  # A4 at 150 dpi
MARGIN = 90
FONT_SIZE = 30
TITLE_SIZE = 46


@dataclass(frozen=True)
class Truth:
    """What the notice says: the fields a reader should find (None: not printed)."""

    doc_type: str
    doc_number: str
    date: date
    unit: str
    law: str
    article: str  # the article the penalty rests on, as printed (第四十三条 or 第43条)
    article_cn: str  # the same in Chinese numerals
    amount: int | None
    measures: tuple[str, ...]
    review_days: int | None
    litigation_months: int | None
    personal: tuple[str, ...] = field(default=())  # name, ID, phone, plate: must never come out in clear


@dataclass(frozen=True)
class Offence:
    facts: str
    violated: str
    law: str
    article: str
    amount_range: tuple[int, int]


OFFENCES = (
    Offence(
        "经检测车货总质量{weight}吨，超过限定标准49吨{over}吨，构成违法超限运输",
        "《公路安全保护条例》第三十三条",
        "超限运输车辆行驶公路管理规定",
        "第四十三条",
        (500, 30000),
    ),
    Offence(
        "车货总质量超过公路限定标准，在公路上行驶",
        "《公路法》第五十条",
        "公路安全保护条例",
        "第六十四条",
        (1000, 30000),
    ),
    Offence(
        "车辆装载物遗洒，造成公路路面污染",
        "《公路安全保护条例》第四十三条",
        "公路安全保护条例",
        "第六十九条",
        (200, 5000),
    ),
    Offence(
        "货运经营者不按规定维护和检测运输车辆",
        "《道路运输条例》第三十条",
        "道路运输条例",
        "第六十九条",
        (1000, 5000),
    ),
    Offence(
        "驾驶人未取得相应从业资格驾驶道路运输经营车辆",
        "《道路运输条例》第二十二条",
        "道路运输条例",
        "第六十四条",
        (200, 2000),
    ),
)
CITIES = ("济南", "青岛", "淄博", "枣庄", "烟台", "潍坊", "济宁", "泰安", "临沂", "德州")
SURNAMES = "张王李赵刘陈杨黄周吴"
GIVEN = ("建国", "伟", "磊", "海峰", "志强", "秀英", "明", "红军", "国庆", "小龙")
PLACES = ("G3京台高速", "G20青银高速", "G104国道", "S102省道", "G2京沪高速")
TYPES = ("行政处罚决定书", "当场行政处罚决定书")
CN_DIGITS = "〇一二三四五六七八九"
ARTICLE_NUMBERS = {"第三十三条": 33, "第四十三条": 43, "第六十四条": 64, "第六十九条": 69, "第五十条": 50}


def font(size: int = FONT_SIZE) -> ImageFont.FreeTypeFont:
    """Noto Sans CJK SC from the mplfonts wheel."""
    return ImageFont.truetype(str(files("mplfonts") / "fonts" / "NotoSansCJKsc-Regular.otf"), size)


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def _plate(rng: random.Random) -> str:
    return "鲁" + rng.choice("ABCDEFGHKLMNPQR") + "".join(rng.choice("0123456789") for _ in range(5))


def _id_number(rng: random.Random) -> str:
    return "3701" + "".join(rng.choice("0123456789") for _ in range(13)) + rng.choice("0123456789X")


def _phone(rng: random.Random) -> str:
    return "13" + "".join(rng.choice("0123456789") for _ in range(9))


@dataclass(frozen=True)
class Notice:
    truth: Truth
    lines: tuple[tuple[str, bool], ...]  # (text, is_title)


def make_notice(
    rng: random.Random,
    *,
    offence: Offence | None = None,
    amount: int | None = None,
    law: str | None = None,
    article: str | None = None,
    arabic: bool | None = None,
) -> Notice:
    """A notice with random fields; the keyword arguments force a field (an article that does not exist,
    an amount out of range)."""
    offence = offence or rng.choice(OFFENCES)
    city = rng.choice(CITIES)
    unit = f"{city}市交通运输综合行政执法支队"
    doc_type = rng.choice(TYPES)
    year = rng.choice((2025, 2026))
    issued = date(year, 1, 1) + timedelta(days=rng.randrange(0, 330))
    seen = issued - timedelta(days=rng.randrange(1, 10))
    number = f"鲁{city[0]}交执罚〔{year}〕第{rng.randrange(1, 9999):05d}号"
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    id_number, phone, plate = _id_number(rng), _phone(rng), _plate(rng)
    weight = round(rng.uniform(50, 80), 1)
    lo, hi = offence.amount_range
    amount = amount if amount is not None else rng.randrange(lo // 100, hi // 100 + 1) * 100
    law = law or offence.law
    article_cn = article or offence.article
    use_arabic = rng.random() < 0.3 if arabic is None else arabic
    printed_article = (
        f"第{ARTICLE_NUMBERS[article_cn]}条" if use_arabic and article_cn in ARTICLE_NUMBERS else article_cn
    )
    measures = ("扣留车辆",) if rng.random() < 0.25 else ()
    facts = offence.facts.format(weight=weight, over=round(weight - 49, 1))
    party = [f"当事人：{name}    身份证号：{id_number}", f"联系电话：{phone}    车牌号：{plate}"]
    body = [
        f"违法事实：{seen.year}年{seen.month}月{seen.day}日，当事人驾驶{plate}号货车在{rng.choice(PLACES)}，{facts}。",
        "以上事实有现场检查笔录、现场照片等证据证实。",
        f"你的行为违反了{offence.violated}的规定，依据《{law}》{printed_article}的规定，决定给予如下行政处罚：",
        f"罚款人民币{amount}元。" + ("依法扣留车辆，待接受处理后返还。" if measures else ""),
        "罚款自收到本决定书之日起十五日内缴至指定银行。到期不缴纳罚款的，每日按罚款数额的3%加处罚款。",
        f"如不服本决定，可以在收到本决定书之日起六十日内向{city}市人民政府申请行政复议，"
        f"或者在六个月内依法向{city}市中级人民法院提起行政诉讼。",
    ]
    lines: list[tuple[str, bool]] = [(unit, True), (doc_type, True), (number, False), ("", False)]
    lines += [(text, False) for text in party]  # kept whole: a wrapped ID number would escape its mask
    for paragraph in body:
        lines += [(piece, False) for piece in _wrap(paragraph, 33)]
    lines += [("", False), (f"{unit}（印章）", False), (f"{issued.year}年{issued.month}月{issued.day}日", False)]
    truth = Truth(
        doc_type,
        number,
        issued,
        unit,
        law,
        printed_article,
        article_cn,
        amount,
        measures,
        60,
        6,
        (name, id_number, phone, plate),
    )
    return Notice(truth, tuple(lines))


def render(notice: Notice, rng: random.Random) -> Image.Image:
    """The notice as a clean white page, black type, a red seal near the date."""
    page = Image.new("RGB", PAGE, (250, 250, 247))
    draw = ImageDraw.Draw(page)
    body, title = font(FONT_SIZE), font(TITLE_SIZE)
    y = MARGIN
    for text, is_title in notice.lines:
        face = title if is_title else body
        width = draw.textlength(text, font=face)
        x = (PAGE[0] - width) / 2 if is_title else MARGIN
        draw.text((x, y), text, font=face, fill=(20, 20, 20))
        y += int((TITLE_SIZE if is_title else FONT_SIZE) * 1.7)
    cx, cy = PAGE[0] - 330, y - 90
    draw.ellipse((cx - 110, cy - 110, cx + 110, cy + 110), outline=(200, 40, 40), width=6)
    return page
