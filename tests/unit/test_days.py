"""Days typed by operators and staff: the three usual forms, and a clear refusal of anything else."""

from __future__ import annotations

from datetime import date

import pytest

from foundation.days import BadDay, parse_day


@pytest.mark.parametrize("text", ["2026-11-01", "2026/11/01", "20261101", " 2026.11.1 ", "2026-11-1"])
def test_the_usual_forms_of_a_day_are_read(text: str) -> None:
    assert parse_day(text) == date(2026, 11, 1)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-13-01", "没有这一天"),
        ("20260230", "没有这一天"),
        ("2026/11-01", "分隔符不一致"),
        ("11/01/2026", "无法识别"),
        ("2026111", "无法识别"),
        ("昨天", "无法识别"),
        ("", "无法识别"),
    ],
)
def test_anything_else_is_refused_with_the_forms_that_work(text: str, reason: str) -> None:
    with pytest.raises(BadDay, match=reason):
        parse_day(text)
