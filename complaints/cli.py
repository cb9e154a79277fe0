"""The `complaints` command: run, chat, train, migrate, stats, export, import, digest, ledger, and the services
(bot, rasa, actions, status, retention, privacy)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from datetime import date
from pathlib import Path

from complaints.config import ConfigError, Settings, load_settings
from complaints.logs import configure_logging
from complaints.services import SERVICE_COMMANDS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="complaints", description="Transport complaints chatbot")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start Rasa, the action server and the bot (terminal chat without a token)")
    commands.add_parser("chat", help="start everything with a local terminal chat, even if a token is set")
    train = commands.add_parser("train", help="train the Rasa model (only if the data changed, unless --force)")
    train.add_argument("--force", action="store_true")
    commands.add_parser("migrate", help="bring the database schema up to date")
    stats = commands.add_parser("stats", help="response, on-time, resolution, satisfaction and reopen rates")
    stats.add_argument("--from", dest="start", type=date.fromisoformat, help="first day, e.g. 2026-11-01")
    stats.add_argument("--to", dest="end", type=date.fromisoformat, help="last day (included)")
    export = commands.add_parser("export", help="write the case ledger (台账) as an .xlsx file")
    export.add_argument("path", nargs="?", type=Path, default=Path("var/case_ledger.xlsx"))
    export.add_argument("--from", dest="start", type=date.fromisoformat)
    export.add_argument("--to", dest="end", type=date.fromisoformat)
    from complaints.digest.cli import add_commands
    from complaints.services import add_commands as add_service_commands

    add_commands(commands)
    add_service_commands(commands)
    return parser


def _digest(settings: Settings, args: argparse.Namespace) -> int:
    from complaints.deps import build_deps
    from complaints.digest import cli

    deps = build_deps(settings)
    try:
        handler = {"import": cli.run_import, "digest": cli.run_digest, "ledger": cli.run_ledger}[args.command]
        return handler(deps, args)
    finally:
        deps.engine.dispose()


def _report(settings: Settings, args: argparse.Namespace) -> int:
    """`stats` and `export`: read-only views of the cases, printed or written to a file."""
    from complaints.clock import utcnow
    from complaints.deps import build_deps

    deps = build_deps(settings)
    tz = settings.timezone
    today = utcnow().astimezone(tz).date()
    with deps.sessions.begin() as session:
        if args.command == "stats":
            from complaints.stats import build_report, render_text

            start = args.start or today.replace(day=1)
            print(render_text(build_report(session, start, args.end or today, tz, utcnow())))
            return 0
        from complaints.export import export_ledger

        args.path.parent.mkdir(parents=True, exist_ok=True)
        rows = export_ledger(session, args.path, tz, args.start, args.end)
    print(f"{rows} 件案件已写入 {args.path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging()
    log = logging.getLogger("complaints")
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"配置错误 / configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command in ("run", "chat"):
        from complaints.data_check import DATA_ERRORS
        from complaints.deps import build_deps

        try:
            build_deps(settings).engine.dispose()
        except DATA_ERRORS as exc:
            print(f"数据文件错误 / data file error: {exc}", file=sys.stderr)
            return 2
    if args.command == "migrate":
        from storage.migrate import upgrade

        upgrade(settings.database_url)
        log.info("Database is up to date")
        return 0
    if args.command in ("import", "digest", "ledger"):
        return _digest(settings, args)
    if args.command in ("stats", "export"):
        return _report(settings, args)
    if args.command in SERVICE_COMMANDS:
        from complaints import services

        try:
            return services.run(settings, args)
        except ConfigError as exc:
            print(f"配置错误 / configuration error: {exc}", file=sys.stderr)
            return 2
    if args.command == "train":
        from complaints.model import train as train_model

        print(train_model(force=args.force))
        return 0
    from complaints.runner import WebhookRegistered, run_all

    terminal = args.command == "chat" or not settings.telegram_bot_token
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_all(settings, terminal=terminal))
    except WebhookRegistered as exc:
        print(f"未启动 / not started: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
