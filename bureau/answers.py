"""The formal answer to a driver, the 说理式 way: facts, basis, result, and rights where a penalty is involved."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

SECTIONS = {
    "facts": ("事实", "情况", "调查情况"),
    "basis": ("依据", "法律依据", "处理依据"),
    "result": ("结果", "处理结果", "处理意见"),
    "rights": ("权利", "救济", "您的权利"),
}
REQUIRED = ("facts", "basis", "result")
TEMPLATE = (
    "/answer\n事实：经调查，……\n依据：《……》第……条规定，……\n结果：……\n权利：（涉及处罚时填写；不填则附上标准告知）"
)
PENALTY_WORDS = ("罚款", "处罚", "罚了", "罚单", "扣车", "暂扣", "吊销", "没收", "罚")
# quoted from ../shared/legal/07a_行政复议法_2023.md 第二十条 and 第二十三条, 07b_行政诉讼法_2017.md 第四十六条
STANDARD_RIGHTS = (
    "如对行政处罚决定不服，您可以自知道或者应当知道该行政行为之日起六十日内申请行政复议"
    "（《中华人民共和国行政复议法》第二十条），对当场作出的行政处罚决定不服的，应当先申请行政复议"
    "（同法第二十三条）；也可以自知道或者应当知道之日起六个月内依法向人民法院提起行政诉讼"
    "（《中华人民共和国行政诉讼法》第四十六条）。"
)
_HEADER = re.compile(
    r"^\s*(" + "|".join(sorted((w for ws in SECTIONS.values() for w in ws), key=len, reverse=True)) + r")\s*[:：]\s*",
    re.MULTILINE,
)


class AnswerIncomplete(ValueError):
    """The staff member's answer lacks a required section; the message lists them."""


@dataclass(frozen=True)
class FormalAnswer:
    facts: str
    basis: str
    result: str
    rights: str | None

    def render(self, number: str, unit: str) -> str:
        parts = [
            f"📄 <b>案件 {number} 答复意见</b>（{escape(unit)}）",
            f"<b>一、调查情况</b>\n{escape(self.facts)}",
            f"<b>二、处理依据</b>\n{escape(self.basis)}",
            f"<b>三、处理结果</b>\n{escape(self.result)}",
        ]
        if self.rights:
            parts.append(f"<b>四、您的权利</b>\n{escape(self.rights)}")
        return "\n\n".join(parts)


def _section_of(header: str) -> str:
    return next(key for key, words in SECTIONS.items() if header in words)


def parse_answer(text: str, penalty_involved: bool) -> FormalAnswer:
    """Split '事实：… 依据：… 结果：… [权利：…]'; the standard rights notice is added for penalties."""
    found: dict[str, str] = {}
    matches = list(_HEADER.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end() : end].strip()
        if body:
            found[_section_of(match.group(1))] = body
    missing = [SECTIONS[key][0] for key in REQUIRED if key not in found]
    if missing:
        raise AnswerIncomplete(f"答复缺少：{'、'.join(missing)}。请按格式填写：\n{TEMPLATE}")
    rights = found.get("rights")
    if rights is None and penalty_involved:
        rights = STANDARD_RIGHTS
    return FormalAnswer(found["facts"], found["basis"], found["result"], rights)


def involves_penalty(*texts: str | None) -> bool:
    return any(word in (text or "") for text in texts for word in PENALTY_WORDS)
