"""The fields of a penalty notice found in its text; a field that is not clearly printed stays None."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from notices.numerals import NUMERAL_CHARS, to_chinese, to_int

DOC_TYPES = (
    "当场行政处罚决定书",
    "不予行政处罚决定书",
    "行政处罚决定书",
    "责令改正通知书",
    "违法行为通知书",
    "超限检测单",
)
_N = rf"[\d{NUMERAL_CHARS}]"
DOC_NUMBER = re.compile(r"([\u4e00-\u9fa5]{2,12})[〔（(\[【{]\s*(\d{4})\s*[〕）)\]】}]\s*(第?)\s*(\d{1,8})\s*号")
DATE = re.compile(rf"({_N}{{4}})\s*年\s*({_N}{{1,2}})\s*月\s*({_N}{{1,3}})\s*日")
CITATION = re.compile(
    rf"《([^《》]{{2,40}})》\s*第\s*({_N}{{1,5}})\s*条(?:\s*第\s*[（(]?\s*({_N}{{1,3}})\s*[)）]?\s*([项款]))?"
)
AMOUNT = re.compile(r"罚款(?:人民币)?[：:]?\s*(\d[\d,，]*(?:\.\d{1,2})?)\s*(万?)元")
AMOUNT_WORDS = re.compile(r"罚款(?:人民币)?[：:]?([零〇一二两三四五六七八九十百千万壹贰叁肆伍陆柒捌玖拾佰仟]+)元")
POINTS = re.compile(r"记\s*(\d{1,2})\s*分")
REVIEW = re.compile(rf"({_N}{{1,3}})\s*日内\s*(?:依法)?向\s*([^，。,；;]{{2,30}}?)\s*申请(?:行政)?复议")
LITIGATION = re.compile(rf"({_N}{{1,2}})\s*个月内\s*(?:依法)?向\s*([^，。,；;]{{2,30}}?)\s*提起(?:行政)?诉讼")
UNIT = re.compile(
    r"([\u4e00-\u9fa5]{4,30}?(?:执法支队|执法大队|执法局|执法总队|执法中队|管理局|运输局|交通运输局|公路局|管理站|治超站|检测站))"
)
FACTS = re.compile(r"违法事实[：:](.{4,200}?)(?:以上事实|上述事实|你的行为|你（单位）|$)")
MEASURES = (
    ("扣留车辆", re.compile(r"扣留(?:车辆|.{0,8}车)")),
    ("暂扣", re.compile(r"暂扣")),
    ("吊销", re.compile(r"吊销")),
    ("强制卸载", re.compile(r"(?:强制)?卸载|卸货")),
    ("责令改正", re.compile(r"责令(?:改正|停止)")),
)
FACTS_MAX = 80


@dataclass(frozen=True)
class Citation:
    law: str  # as printed, without 中华人民共和国
    article: str  # 第四十三条, always in Chinese numerals
    item: str | None = None  # 第（二）项 / 第一款 as printed, normalised

    def __str__(self) -> str:
        return f"《{self.law}》{self.article}{self.item or ''}"


@dataclass(frozen=True)
class NoticeFields:
    doc_type: str | None = None
    doc_number: str | None = None
    issued: date | None = None
    unit: str | None = None
    facts: str | None = None
    violated: tuple[Citation, ...] = ()
    basis: tuple[Citation, ...] = ()
    amount: int | None = None
    points: int | None = None
    measures: tuple[str, ...] = ()
    review_days: int | None = None
    review_body: str | None = None
    litigation_months: int | None = None
    litigation_court: str | None = None
    doc_numbers_seen: int = 0
    titles_seen: int = 0


def _flat(rows: list[str]) -> str:
    return re.sub(r"\s+", "", "".join(rows))


def _doc_type(text: str) -> tuple[str | None, int]:
    found = [t for t in DOC_TYPES if t in text]
    if not found:
        return None, 0
    first = max(found, key=len)
    return first, len(re.findall("|".join(DOC_TYPES), text))


def _doc_numbers(text: str) -> list[str]:
    titles = re.compile("|".join(DOC_TYPES))
    numbers = [f"{titles.split(m[1])[-1]}〔{m[2]}〕{m[3]}{m[4]}号" for m in DOC_NUMBER.finditer(text)]
    return list(dict.fromkeys(n for n in numbers if not n.startswith("〔")))


def _date(text: str) -> date | None:
    """The document's date: the last date printed (the facts' dates come first, the date under the seal last)."""
    for match in reversed(list(DATE.finditer(text))):
        year, month, day = (to_int(part) for part in match.groups())
        try:
            return date(year or 0, month or 0, day or 0)
        except ValueError:
            continue
    return None


def _citation(match: re.Match[str]) -> Citation | None:
    number = to_int(match[2])
    if number is None or not 0 < number < 1000:
        return None
    law = match[1].removeprefix("中华人民共和国")
    item = None
    if match[3]:
        sub = to_int(match[3])
        item = f"第（{to_chinese(sub)}）项" if match[4] == "项" and sub else f"第{match[3]}{match[4]}"
    return Citation(law, f"第{to_chinese(number)}条", item)


def _citations(text: str) -> tuple[tuple[Citation, ...], tuple[Citation, ...]]:
    """(violated, basis): citations after 依据/根据 up to the decision are the basis of the penalty."""
    violated: list[Citation] = []
    basis: list[Citation] = []
    for match in CITATION.finditer(text):
        citation = _citation(match)
        if citation is None:
            continue
        before = text[max(0, match.start() - 40) : match.start()]
        cue = max(before.rfind("依据"), before.rfind("根据"))
        (basis if cue > before.rfind("违反") else violated).append(citation)
    return tuple(violated), tuple(basis)


def _amount(text: str) -> int | None:
    match = AMOUNT.search(text)
    if match:
        value = float(match[1].replace(",", "").replace("，", ""))
        return round(value * (10_000 if match[2] else 1))
    words = AMOUNT_WORDS.search(text)
    return to_int(words[1]) if words else None


def _facts(text: str) -> str | None:
    match = FACTS.search(text)
    if not match:
        return None
    facts = match[1].strip("，。,")
    return facts if len(facts) <= FACTS_MAX else facts[: FACTS_MAX - 1] + "…"


def _unit(rows: list[str]) -> str | None:
    for row in rows[:3] + rows[::-1]:  # the letterhead, or the name above the seal
        match = UNIT.search(re.sub(r"\s+", "", row))
        if match:
            return match[1]
    return None


def extract(rows: list[str]) -> NoticeFields:
    """Every field the rows print clearly enough to be read; the rest None."""
    text = _flat(rows)
    doc_type, titles = _doc_type(text)
    numbers = _doc_numbers(text)
    violated, basis = _citations(text)
    review, litigation, points = REVIEW.search(text), LITIGATION.search(text), POINTS.search(text)
    return NoticeFields(
        doc_type=doc_type,
        doc_number=numbers[0] if numbers else None,
        issued=_date(text),
        unit=_unit(rows),
        facts=_facts(text),
        violated=violated,
        basis=basis,
        amount=_amount(text),
        points=int(points[1]) if points else None,
        measures=tuple(label for label, pattern in MEASURES if pattern.search(text)),
        review_days=to_int(review[1]) if review else None,
        review_body=review[2] if review else None,
        litigation_months=to_int(litigation[1]) if litigation else None,
        litigation_court=litigation[2] if litigation else None,
        doc_numbers_seen=len(numbers),
        titles_seen=titles,
    )
