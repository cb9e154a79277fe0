"""The terminal chat reads a script from a file as well as from a keyboard or a pipe."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from simulator.terminal import stdin_lines


async def test_a_script_redirected_from_a_file_is_read_line_by_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "journey.txt"
    script.write_text("我要投诉检测站乱罚款\n/status\n", encoding="utf-8")
    with script.open(encoding="utf-8") as file:
        monkeypatch.setattr(sys, "stdin", file)
        lines = stdin_lines()
        assert [await lines.get() for _ in range(3)] == ["我要投诉检测站乱罚款", "/status", None]
