"""The `complaints` command: run, chat, train, migrate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

from complaints.config import ConfigError, load_settings
from complaints.logs import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="complaints", description="Transport complaints chatbot")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start Rasa, the action server and the bot (terminal chat without a token)")
    commands.add_parser("chat", help="start everything with a local terminal chat, even if a token is set")
    train = commands.add_parser("train", help="train the Rasa model (only if the data changed, unless --force)")
    train.add_argument("--force", action="store_true")
    commands.add_parser("migrate", help="bring the database schema up to date")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging()
    log = logging.getLogger("complaints")
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"配置错误 / configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        from storage.migrate import upgrade

        upgrade(settings.database_url)
        log.info("Database is up to date")
        return 0
    if args.command == "train":
        from complaints.model import train as train_model

        print(train_model(force=args.force))
        return 0
    from complaints.runner import run_all

    terminal = args.command == "chat" or not settings.telegram_bot_token
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_all(settings, terminal=terminal))
    return 0


if __name__ == "__main__":
    sys.exit(main())
