"""Personal data in free text: found and replaced by placeholders when a case's retention period ends."""

from __future__ import annotations

import re
from typing import Any

from complaints.logs import PHONE, PLATE

ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
LONG_NUMBER = re.compile(r"(?<!\d)\d{7,}(?!\d)")
# slot and field names whose whole value is personal (a name, a phone, a plate), whatever it looks like
PERSONAL_KEYS = frozenset({"plate", "phone", "contact", "contact_phone", "name", "contact_name", "id_number"})
REDACTED = "〔已匿名化〕"


def scrub(text: str) -> str:
    """Replace ID card numbers, phones, plates, e-mail addresses and long numbers by placeholders."""
    text = ID_CARD.sub("〔证件号〕", text)
    text = EMAIL.sub("〔邮箱〕", text)
    text = PHONE.sub("〔电话〕", text)
    text = LANDLINE.sub("〔电话〕", text)
    text = PLATE.sub("〔车牌〕", text)
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
