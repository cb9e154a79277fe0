"""The `complaints` command: run, chat, train, migrate, stats, export, import, digest, ledger, nlu, and the services
(bot, rasa, actions, status, retention, privacy)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from app.cli_help import SubParsers, add_period, bilingual, command
from app.services_cli import SERVICE_COMMANDS
from foundation.logs import configure_logging
from foundation.settings import ConfigError, Settings, load_settings

DESCRIPTION = """\
交通运输局公众投诉渠道（Telegram 机器人 + Rasa）的运维命令。配置来自环境变量或项目根目录的 .env 文件
（见 README“配置”一节）。每个子命令都有自己的帮助：complaints <子命令> --help。

Operator's command of the transport bureau's complaints channel (a Telegram bot with Rasa). Configuration
comes from the environment or a .env file in the project root (README, "Configuration"). Each subcommand has
its own help: complaints <subcommand> --help."""

EXAMPLES = """\
示例 / examples:
  complaints run                          # 启动全部 / start everything
  complaints status                       # 各部分是否正常 / health of every part, Telegram included
  complaints stats --from 2026/11/01      # 本月至今的指标 / figures since 1 November
  complaints import 12328.xlsx --channel 12328
  complaints stats --help                 # 某个子命令的帮助 / help of one subcommand"""


def _parser() -> argparse.ArgumentParser:
    from app.digest_cli import add_commands
    from app.nlu_cli import add_commands as add_nlu_commands
    from app.services_cli import add_commands as add_service_commands

    parser = argparse.ArgumentParser(
        prog="complaints",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bilingual(parser)
    commands = parser.add_subparsers(dest="command", required=True, title="子命令 / subcommands", metavar="<子命令>")
    _run_commands(commands)
    _report_commands(commands)
    add_commands(commands)
    add_nlu_commands(commands)
    add_service_commands(commands)
    return parser


def _run_commands(commands: SubParsers) -> None:
    command(
        commands,
        "run",
        "启动 Rasa、动作服务器和机器人 / start Rasa, the action server and the bot",
        """
按需迁移数据库、训练模型，然后启动 Rasa、动作服务器和机器人，Ctrl-C 一起停止。未设置 TELEGRAM_BOT_TOKEN 时
在终端里与本地模拟的 Telegram 对话。

Migrate the database and train the model when needed, then start Rasa, the action server and the bot;
Ctrl-C stops them together. Without TELEGRAM_BOT_TOKEN it opens a chat in the terminal instead.""",
        "complaints run\nTELEGRAM_BOT_TOKEN=123:abc STAFF_CHAT_ID=-100123 complaints run",
    )
    command(
        commands,
        "chat",
        "在终端里和机器人对话（即使设置了令牌）/ chat with the bot in the terminal, even with a token",
        """
与 run 相同，但总是连接本地模拟的 Telegram，在终端里以司机身份对话，不会连接真正的 Telegram。

Like run, but always against the local Telegram double: you chat as a driver in the terminal, and nothing
reaches the real Telegram.""",
        "complaints chat",
    )
    train = command(
        commands,
        "train",
        "训练 Rasa 模型（训练数据变了才训练）/ train the Rasa model (only if its data changed)",
        """
用 domain.yml、config.yml 和 data/ 训练对话模型，存入 models/。训练数据没有变化时直接使用已有模型。

Train the dialogue model from domain.yml, config.yml and data/ into models/; an unchanged training set
reuses the model it already has.""",
        "complaints train\ncomplaints train --force",
    )
    train.add_argument("--force", action="store_true", help="即使数据没变也重新训练 / retrain even if nothing changed")
    command(
        commands,
        "migrate",
        "把数据库结构升级到最新 / bring the database schema up to date",
        """
对 DATABASE_URL 指向的数据库执行尚未执行的迁移（storage/migrations）。run 和 bot 启动时也会自动执行。

Apply the migrations (storage/migrations) the database at DATABASE_URL has not had yet; run and bot do this
on start too.""",
        "complaints migrate\nDATABASE_URL=postgresql+psycopg://bot@127.0.0.1/complaints complaints migrate",
    )


def _report_commands(commands: SubParsers) -> None:
    stats = command(
        commands,
        "stats",
        "响应率、按时率、办结率、满意率、重复投诉率 / response, on-time, resolution, satisfaction, reopen rates",
        """
按单位和类别打印一段时间内的办理指标（与工作群里 /stats 的定义相同）。默认从本月 1 日到今天。

Print the handling figures of a period per unit and kind (the same definitions as /stats in the staff
group). Default: from the first of this month to today.""",
        "complaints stats\ncomplaints stats --from 2026/11/01 --to 2026/11/30\ncomplaints stats --from 20261101",
    )
    add_period(stats)
    export = command(
        commands,
        "export",
        "把案件台账导出为 .xlsx / write the case ledger (台账) as an .xlsx file",
        """
把案件台账（每件案件一行）写入 Excel 文件，电话号码和车牌已打码。
--from/--to 按受理日期筛选，默认全部案件。

Write the case ledger (one row a case) as an Excel file, phone numbers and plates masked.
--from/--to filter on the day a case was filed; default: every case.""",
        "complaints export\ncomplaints export var/11月台账.xlsx --from 2026-11-01 --to 2026-11-30",
    )
    export.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=Path("var/case_ledger.xlsx"),
        help="输出文件（默认 var/case_ledger.xlsx）/ file to write (default: var/case_ledger.xlsx)",
    )
    add_period(export)


def _digest(settings: Settings, args: argparse.Namespace) -> int:
    from app import digest_cli as cli
    from bureau.deps import build_deps

    deps = build_deps(settings)
    try:
        handler = {"import": cli.run_import, "digest": cli.run_digest, "ledger": cli.run_ledger}[args.command]
        return handler(deps, args)
    finally:
        deps.engine.dispose()


def _report(settings: Settings, args: argparse.Namespace) -> int:
    """`stats` and `export`: read-only views of the cases, printed or written to a file."""
    from bureau.deps import build_deps
    from foundation.clock import utcnow

    deps = build_deps(settings)
    tz = settings.timezone
    today = utcnow().astimezone(tz).date()
    with deps.sessions.begin() as session:
        if args.command == "stats":
            from bureau.stats import build_report, render_text

            start = args.start or today.replace(day=1)
            print(render_text(build_report(session, start, args.end or today, tz, utcnow())))
            return 0
        from bureau.export import export_ledger

        args.path.parent.mkdir(parents=True, exist_ok=True)
        rows = export_ledger(session, args.path, tz, args.start, args.end)
    print(f"{rows} 件案件已写入 {args.path}")
    return 0


def _nlu(settings: Settings, args: argparse.Namespace) -> int:
    from app import nlu_cli

    if args.nlu_command == "import":
        return nlu_cli.run_import(args)
    from bureau.deps import build_deps

    deps = build_deps(settings)
    try:
        return nlu_cli.run_review(deps, args)
    finally:
        deps.engine.dispose()


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
        from bot.texts import check_catalogue
        from bureau.data_check import DATA_ERRORS
        from bureau.deps import build_deps
        from foundation.settings import require_own_secrets
        from notices.law import PenaltyDataError, load_notice_library

        try:
            require_own_secrets(settings)
        except ConfigError as exc:
            print(f"配置错误 / configuration error: {exc}", file=sys.stderr)
            return 2

        try:
            build_deps(settings).engine.dispose()
            check_catalogue(settings.content_dir / "texts.yml")
            load_notice_library(settings.content_dir)
        except (*DATA_ERRORS, PenaltyDataError) as exc:
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
    if args.command == "nlu":
        return _nlu(settings, args)
    if args.command in SERVICE_COMMANDS:
        from app import services_cli as services

        try:
            return services.run(settings, args)
        except ConfigError as exc:
            print(f"配置错误 / configuration error: {exc}", file=sys.stderr)
            return 2
    if args.command == "train":
        from app.training import train as train_model

        print(train_model(force=args.force))
        return 0
    from app.processes import PortBusy, StackAlreadyRunning
    from app.runner import TelegramSetupFailed, WebhookRegistered, run_all
    from app.stack import StackStartError

    terminal = args.command == "chat" or not settings.telegram_bot_token
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_all(settings, terminal=terminal))
    except (WebhookRegistered, TelegramSetupFailed, ConfigError, PortBusy, StackAlreadyRunning, StackStartError) as exc:
        print(f"未启动 / not started: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
