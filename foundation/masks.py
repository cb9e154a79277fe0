"""Personal data in free text: phone numbers, ID card numbers, plates, e-mail addresses and long numbers,
found in the forms people really type them, and masked (logs, staff views) or replaced (retention, erasure)."""

from __future__ import annotations

import re
from typing import Any

PLATE = re.compile(
    r"([京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Za-z])[·.\s-]?[A-Za-z0-9]{4,6}"
)
_SEP = r"[ \t\u3000-]?"  # one space or dash between digit groups: 138 1234 5678, 138-1234-5678
_NOT_AFTER_DIGIT = r"(?<![0-9A-Za-z])(?<!\d[ \-])"
_NOT_BEFORE_DIGIT = r"(?![0-9A-Za-z])(?![ \-]\d)"
_COUNTRY = r"(?:[(（]\s*(?:\+|00)?\s*86\s*[)）]|(?:(?:\+|00)\s*)?86)[ \t\u3000-]*"  # +86, 0086, 86-, (+86)
# 18-digit resident ID (6-digit area, birth date, 3-digit sequence, check digit 0-9 or X) and the old 15-digit one
ID_CARD = re.compile(
    _NOT_AFTER_DIGIT
    + r"(?:[1-9]\d{5}"
    + _SEP
    + r"(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    + _SEP
    + r"\d{3}[\dXx]"
    + r"|[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})"
    + r"(?![0-9A-Za-z])"
)
MOBILE = re.compile(_NOT_AFTER_DIGIT + r"(?:" + _COUNTRY + r")?(1[3-9]\d(?:" + _SEP + r"\d){8})" + _NOT_BEFORE_DIGIT)
# area code (010, 021, 0755 …; without its 0 after +86) and a 7- or 8-digit local number
LANDLINE = re.compile(
    _NOT_AFTER_DIGIT
    + r"(?:"
    + _COUNTRY
    + r"[(（]?0?|[(（]?0)([1-9]\d{1,2})[)）]?"
    + _SEP
    + r"([1-9]\d{2,3}"
    + _SEP
    + r"\d{4})"
    + _NOT_BEFORE_DIGIT
)
# what mask_phones() and the logs' plate mask leave (138****5678, 0755-****6666, 粤B****): gone at retention
MASKED = re.compile(
    r"(?<!\d)(?:1[3-9]\d|0\d{2,3}-)\*{4}\d{4}(?!\d)|[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Za-z]\*{4}"
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LONG_NUMBER = re.compile(r"(?<!\d)\d{7,}(?!\d)")
# slot and field names whose whole value is personal (a name, a phone, a plate), whatever it looks like
PERSONAL_KEYS = frozenset({"plate", "phone", "contact", "contact_phone", "name", "contact_name", "id_number"})
REDACTED = "〔已匿名化〕"
ID_PLACEHOLDER = "〔证件号〕"


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _masked_mobile(match: re.Match[str]) -> str:
    digits = _digits(match.group(1))
    return f"{digits[:3]}****{digits[-4:]}"


def _masked_landline(match: re.Match[str]) -> str:
    return f"0{match.group(1)}-****{_digits(match.group(2))[-4:]}"


def mask_id_cards(text: str) -> str:
    """ID card numbers replaced by a placeholder: never shown to anyone, not even with the driver's consent."""
    return ID_CARD.sub(ID_PLACEHOLDER, text)


def mask_phones(text: str) -> str:
    """ID card numbers hidden; mobiles shown as 138****5678 and landlines as 0755-****8888."""
    text = mask_id_cards(text)
    text = MOBILE.sub(_masked_mobile, text)
    return LANDLINE.sub(_masked_landline, text)


def scrub(text: str) -> str:
    """Replace ID card numbers, phones, plates, e-mail addresses and long numbers by placeholders."""
    text = mask_id_cards(text)
    text = EMAIL.sub("〔邮箱〕", text)
    text = MOBILE.sub("〔电话〕", text)
    text = LANDLINE.sub("〔电话〕", text)
    text = PLATE.sub("〔车牌〕", text)
    text = MASKED.sub("〔已隐去〕", text)
    return LONG_NUMBER.sub("〔号码〕", text)


def scrub_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A case's collected fields with personal ones redacted and the rest scrubbed."""
    result: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            result[key] = None
        elif key in PERSONAL_KEYS:
            result[key] = REDACTED
        elif isinstance(value, str):
            result[key] = scrub(value)
        elif isinstance(value, list):
            result[key] = [scrub(v) if isinstance(v, str) else v for v in value]
        else:
            result[key] = value
    return result


# a party's name after its label on an official paper (当事人：张三), which no pattern of its own would find
PARTY_NAME = re.compile(
    r"((?:当事人|姓名|驾驶人|法定代表人|负责人|车主)[：:]\s*)"
    r"(?:[\u4e00-\u9fa5·]{2,4}?(?=身份|证件|性别|联系|电话|住址|地址|车牌|[\s，,。；;：:]|$)|[\u4e00-\u9fa5·]{2,3})"
)


def scrub_document(text: str) -> str:
    """`scrub`, and the names written after 当事人/姓名/驾驶人 labels."""
    return scrub(PARTY_NAME.sub(r"\1〔姓名〕", text))
