"""What `complaints … --help` shows: a description and examples for each subcommand, Chinese first."""

from __future__ import annotations

import argparse
from datetime import date

from foundation.days import BadDay, parse_day

type SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def day(text: str) -> date:
    """argparse type of every date option: the one day parser, its message instead of a traceback."""
    try:
        return parse_day(text)
    except BadDay as exc:
        raise argparse.ArgumentTypeError(f"{exc} / not a date: use 2026-11-01, 2026/11/01 or 20261101") from exc


def command(commands: SubParsers, name: str, summary: str, description: str, examples: str) -> argparse.ArgumentParser:
    """A subcommand with a one-line summary (in `complaints --help`), a description and examples."""
    lines = "\n".join(f"  {line}" for line in examples.strip().splitlines())
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description.strip(),
        epilog=f"示例 / examples:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bilingual(parser)
    return parser


def bilingual(parser: argparse.ArgumentParser) -> None:
    """argparse's own words (group titles, -h) in Chinese and English too."""
    parser._positionals.title = "参数 / arguments"
    parser._optionals.title = "选项 / options"
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            action.help = "显示本帮助并退出 / show this help and exit"


def add_period(parser: argparse.ArgumentParser) -> None:
    """--from and --to, the same on every command that reads a period."""
    parser.add_argument(
        "--from",
        dest="start",
        type=day,
        metavar="DAY",
        help="起始日（含），如 2026-11-01、2026/11/01、20261101 / first day, included",
    )
    parser.add_argument("--to", dest="end", type=day, metavar="DAY", help="截止日（含）/ last day, included")
