"""`complaints import`, `complaints digest` and `complaints ledger`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from complaints.clock import utcnow
from complaints.deps import Deps

VAR = Path("var") / "digest"


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    imp = commands.add_parser("import", help="import complaints from other channels (CSV, XLSX or JSON Lines)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--channel", help="channel of rows without one, e.g. 12328 (default: 其他渠道)")
    imp.add_argument("--encoding", help="encoding of a CSV/JSONL file when it is neither UTF-8 nor GBK")
    digest = commands.add_parser("digest", help="build (or show) the weekly high-frequency complaint digest")
    digest.add_argument("--week", help="ISO week such as 2026-W47 (default: the last complete week)")
    digest.add_argument("--json", type=Path, help="write the groups and their members' ids to this file")
    digest.add_argument("--dry-run", action="store_true", help="print it; store nothing, send nothing")
    ledger = commands.add_parser("ledger", help="the supervision ledger (督办台账): list, export, close")
    ledger.add_argument("action", nargs="?", default="list", choices=["list", "export", "close", "measures"])
    ledger.add_argument("number", nargs="?", help="item number (close, measures) or .xlsx path (export)")
    ledger.add_argument("text", nargs="*", help="the closing note (close) or the measures (measures)")
    ledger.add_argument("--all", action="store_true", help="list closed items too")


def run_import(deps: Deps, args: argparse.Namespace) -> int:
    from complaints.digest.importer import ImportFileError, import_file

    try:
        with deps.sessions.begin() as session:
            report = import_file(
                session,
                args.file,
                deps.settings.timezone,
                deps.settings.digest.pseudonym_key,
                args.channel,
                args.encoding,
            )
    except ImportFileError as exc:
        print(f"导入失败，未导入任何记录：{exc}")
        return 2
    encoding = f"（编码 {report.encoding}）" if report.encoding else ""
    print(
        f"{args.file}{encoding}：共 {report.rows} 行，新导入 {report.added} 条，"
        f"此前已导入 {report.already} 条，有问题 {len(report.bad)} 行。"
    )
    for bad in report.bad:
        print(f"  第 {bad.line} 行：{bad.reason}")
    return 1 if report.bad else 0


def run_digest(deps: Deps, args: argparse.Namespace) -> int:
    from complaints.digest.build import WeekAlreadyBuilt, build_week, context, read_stored, write_json
    from complaints.digest.render import render_text
    from complaints.digest.weeks import BadWeek, Week, last_complete_week

    now = utcnow()
    try:
        week = Week.parse(args.week) if args.week else last_complete_week(now, deps.settings.timezone)
    except BadWeek as exc:
        print(f"周次格式错误：{exc}")
        return 2
    with deps.sessions.begin() as session:
        existing = read_stored(session, week)
    if existing is not None:  # shown as it was built, also for --dry-run
        built = existing
        print(f"{week.label} 的分析已于此前生成（不重复生成）：")
    else:
        try:
            built = build_week(deps.sessions, week, context(deps), now, dry_run=args.dry_run)
        except WeekAlreadyBuilt as exc:
            print(str(exc))
            return 1
    print(render_text(built.html))
    VAR.mkdir(parents=True, exist_ok=True)
    chart, book = VAR / f"{week.label}.png", VAR / f"{week.label}.xlsx"
    chart.write_bytes(built.chart_png)
    book.write_bytes(built.xlsx)
    print(f"\n图表：{chart}  表格：{book}")
    if args.json:
        write_json(args.json, built.payload)
        print(f"分组（含投诉编号）：{args.json}")
    if args.dry_run:
        print("（试运行：未保存，未发送）")
        return 0
    return _send(deps)


def _send(deps: Deps) -> int:
    settings = deps.settings
    if not settings.telegram_bot_token or settings.staff_chat_id is None:
        print("未设置 TELEGRAM_BOT_TOKEN 或 STAFF_CHAT_ID：已保存，未发送到工作群（机器人运行时会补发）。")
        return 0
    from telegram import Bot

    from bot.digest_job import DigestJob

    async def send() -> None:
        bot = Bot(settings.telegram_bot_token or "", base_url=settings.telegram_api_url)
        async with bot:
            await DigestJob(deps, bot).send_pending()

    asyncio.run(send())
    print("已发送到工作群。")
    return 0


def run_ledger(deps: Deps, args: argparse.Namespace) -> int:
    from complaints.digest.ledger import LedgerError, close_item, list_items, set_measures
    from complaints.digest.render import LEDGER_HEADER, ledger_rows, ledger_workbook
    from storage.models import LedgerState

    tz = deps.settings.timezone
    try:
        with deps.sessions.begin() as session:
            if args.action == "close":
                item = close_item(session, args.number or "", "cli", " ".join(args.text), utcnow())
                print(f"{item.number} 已销号。")
                return 0
            if args.action == "measures":
                item = set_measures(session, args.number or "", "cli", " ".join(args.text), utcnow())
                print(f"{item.number} 的整改措施已更新。")
                return 0
            items = list_items(session, None if args.all or args.action == "export" else LedgerState.open)
            if args.action == "export":
                path = Path(args.number or VAR / "ledger.xlsx")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(ledger_workbook(items, tz))
                print(f"{len(items)} 项已写入 {path}")
                return 0
            rows = ledger_rows(items, tz)
    except LedgerError as exc:
        print(str(exc))
        return 1
    if not rows:
        print("督办台账中没有督办中的事项。" if not args.all else "督办台账是空的。")
    for row in rows:
        print(" | ".join(f"{name}：{value}" for name, value in zip(LEDGER_HEADER, row, strict=True) if value != ""))
    return 0
