"""Which of a driver's cases a message is addressed to, if any (a pure function).

A chat is one conversation for months; a case is one matter in it. A message reaches a case only when
the driver says so: a Telegram reply to a message of that case, a choice to write to it ("补充到案件 …",
"联系承办人员"), or when it plainly belongs to it (a photo or voice note right after filing, "补充一下…",
the case's number). When that is unclear the driver is asked with buttons; everything else is the
bot's to understand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

# the buttons under a case's messages (the bot reads them; actions and the bot both put them there)
ADD_PAYLOAD = "case:add:{case_id}"
TALK_PAYLOAD = "case:talk:{case_id}"
BACK_PAYLOAD = "case:bot"
# a photo, voice note or file this soon after a case was filed is material for it
FRESH_CASE = timedelta(minutes=30)
# a driver who chose to write to a case and then said nothing for this long is back with the bot
FOCUS_IDLE = timedelta(hours=2)
MEDIA_KINDS = ("photo", "voice", "document")
ADDING = re.compile(r"^\s*(?:再|还要|还想|我再|我还|另外)?(?:补充|追加|补一下|补个|加一句|再说一下)")
STATUS_WORDS = re.compile(r"进度|进展|结果|怎么样了|咋样了|到哪|查询|查一下|查下|处理了吗|办好了吗|回复了吗|状态")
LEAVE_WORDS = {"返回", "回到机器人", "退出", "结束", "取消", "算了", "不说了", "没了", "就这些", "完了", "好了"}


@dataclass(frozen=True)
class CaseRef:
    """One of the driver's cases as addressing sees it."""

    id: int
    number: str
    created_at: datetime
    finished: bool  # closed, merged or not accepted


@dataclass(frozen=True)
class Incoming:
    """What addressing needs to know about a driver's message."""

    kind: str  # text, photo, voice, document, location, command, button, ...
    text: str | None
    at: datetime
    replied_case_id: int | None = None  # the case of the message the driver replied to (Telegram reply)
    focus_case_id: int | None = None  # the case the driver chose to write to
    focus_since: datetime | None = None  # when they last wrote to it (or chose it)
    form_open: bool = False  # the bot is filling in a form with the driver


@dataclass(frozen=True)
class ToCase:
    case_id: int
    how: str  # reply, focus, fresh, adding, number


@dataclass(frozen=True)
class AskWhich:
    case_ids: tuple[int, ...]


@dataclass(frozen=True)
class Finished:
    """Addressed to a case that is no longer being handled: the driver is told, the bot reads the message."""

    case_id: int


@dataclass(frozen=True)
class LeaveCase:
    case_id: int


@dataclass(frozen=True)
class ToBot:
    focus_expired: bool = False


Decision = ToCase | AskWhich | Finished | LeaveCase | ToBot


def address(message: Incoming, cases: list[CaseRef]) -> Decision:
    """Where the message goes: a case, a question which case, or the bot."""
    by_id = {case.id: case for case in cases}
    if message.kind in ("command", "button"):
        return ToBot()
    if message.replied_case_id is not None and message.replied_case_id in by_id:
        return _to(by_id[message.replied_case_id], "reply")
    if message.focus_case_id is not None:
        focused = by_id.get(message.focus_case_id)
        idle = message.focus_since is None or message.at - message.focus_since > FOCUS_IDLE
        if focused is not None and not focused.finished and not idle:
            if _is_leaving(message.text):
                return LeaveCase(focused.id)
            return ToCase(focused.id, "focus")
        return ToBot(focus_expired=True)
    if message.form_open:
        return ToBot()  # the form's own questions take photos and answers
    return _plainly_belongs(message, [case for case in cases if not case.finished], by_id)


def _plainly_belongs(message: Incoming, open_cases: list[CaseRef], by_id: dict[int, CaseRef]) -> Decision:
    text = message.text or ""
    if message.kind == "text":
        named = _named_case(text, by_id)
        if named is not None and not STATUS_WORDS.search(text):
            return _to(named, "number")
    if not open_cases:
        return ToBot()
    newest = max(open_cases, key=lambda case: case.created_at)
    if message.kind in MEDIA_KINDS:
        if message.at - newest.created_at <= FRESH_CASE:
            return ToCase(newest.id, "fresh")
        return AskWhich(_newest_first(open_cases))
    if message.kind == "text" and ADDING.match(text):
        if len(open_cases) == 1:
            return ToCase(newest.id, "adding")
        return AskWhich(_newest_first(open_cases))
    return ToBot()


def _to(case: CaseRef, how: str) -> Decision:
    return Finished(case.id) if case.finished else ToCase(case.id, how)


def _named_case(text: str, by_id: dict[int, CaseRef]) -> CaseRef | None:
    numbers = {_normal(found) for found in re.findall(r"[Tt][Ss][-_\s]*20\d{2}[-_\s]*\d{1,6}", text)}
    named = [case for case in by_id.values() if case.number in numbers]
    return named[0] if len(named) == 1 else None


def _normal(raw: str) -> str:
    year, seq = re.findall(r"\d+", raw)[:2]
    return f"TS-{year}-{int(seq):06d}"


def _is_leaving(text: str | None) -> bool:
    return (text or "").strip().rstrip("!！。.~～ ").lower() in LEAVE_WORDS


def _newest_first(cases: list[CaseRef]) -> tuple[int, ...]:
    return tuple(case.id for case in sorted(cases, key=lambda case: case.created_at, reverse=True))


def case_rows(case_id: int, staff: bool) -> list[list[dict[str, str]]]:
    """The buttons under a receipt or a staff message: add to this case, or (with staff) write to its handlers."""
    row = [{"title": "📎 补充材料", "payload": ADD_PAYLOAD.format(case_id=case_id)}]
    if staff:
        row.append({"title": "💬 联系承办人员", "payload": TALK_PAYLOAD.format(case_id=case_id)})
    return [row]
