"""Calendar days typed by people: `2026-11-01`, `2026/11/01`, `20261101` (one parser for the CLI and the bot)."""

from __future__ import annotations

import re
from datetime import date

DAY_FORMATS_HINT = "2026-11-01、2026/11/01 或 20261101"
_DAY = re.compile(r"^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$")
_COMPACT = re.compile(r"^\d{8}$")


class BadDay(ValueError):
    """The text is not a calendar day in one of the accepted forms."""


def parse_day(text: str) -> date:
    """A day from `2026-11-01`, `2026/11/01`, `2026.11.01`, `2026-11-1` or `20261101`; BadDay otherwise."""
    raw = text.strip()
    match = _DAY.match(raw)
    separated = not _COMPACT.match(raw)
    if match is None or (separated and not re.search(r"[-/.]", raw)):
        raise BadDay(f"日期无法识别：{raw[:20]!r}，请写成 {DAY_FORMATS_HINT}")
    if separated and len({c for c in raw if c in "-/."}) > 1:
        raise BadDay(f"日期中的分隔符不一致：{raw[:20]!r}，请写成 {DAY_FORMATS_HINT}")
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise BadDay(f"没有这一天：{raw[:20]!r}（{exc}）") from exc
