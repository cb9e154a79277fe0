"""Pure helpers that read complaint fields out of a driver's message and Rasa's entities."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

GENERIC_OPENERS = re.compile(
    r"^(我|俺|本人|我们)?(要|想|想要|需要)?(投诉|举报|反映|反应|告状)(一下|个事|件事|个情况|情况|问题)?[!！。.,，~～]*$"
)
CONFIRM = re.compile(r"^(确认|提交|是的|是|对的|对|没问题|好的|好|ok|可以|嗯|行|没错|yes|y)+(提交)?(吧|啊|呀)?$")
DENY = re.compile(r"^(不对|不是|错了|不要提交|不提交|不要|不行|no|n|不)+")
UNKNOWN_WORDS = ("不记得", "忘了", "记不清", "不清楚", "不知道", "说不清", "不好说")
NOT_GIVEN = "不详"  # what the case keeps when the driver skips a question or does not know


def entity_values(entities: Iterable[Mapping[str, Any]], *names: str) -> list[str]:
    """Distinct entity values of the given types, in order of appearance."""
    seen: list[str] = []
    for entity in entities:
        value = str(entity.get("value", "")).strip()
        if entity.get("entity") in names and value and value not in seen:
            seen.append(value)
    # overlapping patterns find "昨天下午" inside "昨天下午3点": keep only the longest
    return [v for v in seen if not any(v != other and v in other for other in seen)]


def clean(text: str | None) -> str:
    return (text or "").strip()


def is_generic_opener(text: str) -> bool:
    """'我要投诉' says nothing about what happened."""
    return bool(GENERIC_OPENERS.match(clean(text)))


def substantive_description(text: str | None) -> str | None:
    """The message as a description of what happened, if it says more than 'I want to complain'."""
    body = clean(text)
    if len(body) < 6 or is_generic_opener(body) or body.startswith("/"):
        return None
    return body


def place_from_entities(entities: Iterable[Mapping[str, Any]]) -> str | None:
    values = entity_values(entities, "station", "location")
    return "，".join(values) if values else None


def time_from_entities(entities: Iterable[Mapping[str, Any]]) -> str | None:
    values = entity_values(entities, "time")
    return " ".join(values) if values else None


def answer_field(text: str) -> str | None:
    """The answer to the form's place or time question: the driver's words, or 不详 when they skip it
    ("跳过", "没有") or do not know ("记不清了")."""
    body = clean(text)
    if not body or body.startswith("/"):
        return None
    if is_skip(body) or any(word in body for word in UNKNOWN_WORDS):
        return NOT_GIVEN
    return body


SKIP = re.compile(r"^(跳过|没有|没得|无|不用|没|不需要|暂无|略|skip|no|/deny)+(了|啊|吧|呢)?$")


def is_skip(text: str) -> bool:
    """'跳过', '没有没有', '没有了' …"""
    return bool(SKIP.match(_compact(text)))


def _compact(text: str) -> str:
    return re.sub(r"[\s,，.。!！~～、]+", "", clean(text).lower())


def is_confirm(text: str) -> bool:
    """'确认', '是的是的', 'ok ok', '好的提交吧' …"""
    return bool(CONFIRM.match(_compact(text)))


def is_deny(text: str) -> bool:
    """'不对', '错了错了', '不要提交' … (an answer to "is this right?")."""
    compact = _compact(text)
    return bool(DENY.match(compact)) and len(compact) <= 8


def format_coordinates(latitude: float, longitude: float) -> str:
    return f"位置 {latitude:.5f}, {longitude:.5f}"


def names_a_place_only(entities: Iterable[Mapping[str, Any]]) -> bool:
    """The message names a place (a station, a road) and no time."""
    listed = list(entities)
    return bool(entity_values(listed, "station", "location")) and not entity_values(listed, "time")


def is_only(text: str, entities: Iterable[Mapping[str, Any]], *names: str) -> bool:
    """The message is (almost) nothing but entities of these types, e.g. just a time."""
    body = clean(text)
    covered = sum(len(v) for v in entity_values(entities, *names))
    return bool(body) and covered >= 0.8 * len(body)
