"""Two matters in one message ("先投诉…，顺便问一下…"): where the second one starts, and what it is.

The message is read by its first matter (the intent, the case); the second is then answered or offered by
the action that handled the first, so neither is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# words that open a second matter after a first one; a question unless it says it is a complaint
_OPENERS = re.compile(
    r"(?:(?:顺便|顺带|另外|还有|还想|对了)[，,\s]*(?:我想|我要|我|想|要)?|再)"
    r"(?:(?P<complaint>投诉|举报|反映)(?:一下|下)?"
    r"|想?(?:问一下|问一问|问问|问下|请问|咨询一下|咨询下|打听一下|问一句|问个事|问个问题)|一?个问题|个事)"
)
_EDGES = " \t\r\n,，。.;；:：!！、~～…"
MIN_PART = 4  # characters: a shorter part is a greeting or a filler, not a matter


@dataclass(frozen=True)
class SecondMatter:
    first: str
    second: str
    kind: Literal["question", "complaint"]


def second_matter(text: str) -> SecondMatter | None:
    """The message split at the first opener of a second matter, when both parts say something."""
    for found in _OPENERS.finditer(text):
        first = text[: found.start()].strip(_EDGES)
        second = text[found.end() :].strip(_EDGES)
        if len(first) >= MIN_PART and len(second) >= MIN_PART:
            return SecondMatter(first, second, "complaint" if found.group("complaint") else "question")
    return None
