"""`complaints --help` explains every subcommand and every argument, Chinese first, with examples."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import _parser, main
from foundation.settings import PROJECT_ROOT
from storage.migrate import upgrade

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    [group] = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(group.choices)


def test_every_subcommand_has_a_bilingual_summary_description_and_examples() -> None:
    [group] = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    summaries = {choice.dest: choice.help or "" for choice in group._choices_actions}
    commands = _subcommands()
    assert {"run", "stats", "export", "import", "digest", "ledger", "status", "privacy"} <= set(commands)
    for name, parser in commands.items():
        summary, description = summaries[name], parser.description or ""
        assert CHINESE.match(summary) and "/ " in summary, f"{name}: summary {summary!r}"
        assert CHINESE.search(description.split("\n\n")[0]), f"{name}: the description starts in Chinese"
        assert re.search(r"[A-Za-z]{4,} [a-z]{3,}", description.split("\n\n")[-1]), f"{name}: English part"
        assert f"complaints {name}" in (parser.epilog or ""), f"{name}: no example"


def test_every_argument_of_every_subcommand_is_explained() -> None:
    for name, parser in _subcommands().items():
        for action in parser._actions:
            label = "/".join(action.option_strings) or action.dest
            assert action.help and action.help != argparse.SUPPRESS, f"complaints {name} {label} has no help"
            assert CHINESE.search(action.help), f"complaints {name} {label}: help in Chinese first"


def test_stats_takes_the_three_ways_of_writing_a_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    for first in ("2026-11-01", "2026/11/01", "20261101"):
        assert main(["stats", "--from", first, "--to", "2026/11/30"]) == 0
        assert "2026-11-01" in capsys.readouterr().out


def test_a_bad_day_is_answered_in_one_line_without_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "stats", "--from", "2026-11-31"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "--from" in done.stderr and "没有这一天" in done.stderr and "2026/11/01" in done.stderr
