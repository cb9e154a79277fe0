"""`complaints import`, `complaints digest` and `complaints ledger`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import NoReturn, TextIO

from tqdm import tqdm

from app.cli_help import SubParsers, command
from bureau.deps import Deps
from foundation.clock import utcnow

VAR = Path("var") / "digest"


def add_commands(commands: SubParsers) -> None:
    _import_command(commands)
    digest = command(
        commands,
        "digest",
        "生成（或显示）每周高频投诉分析 / build (or show) the weekly high-frequency complaint digest",
        """
把一周内各渠道的投诉按内容分组，找出高频问题，生成文字、图表（var/digest/<周>.png）和表格，新的高频问题
列入督办台账，并发送到工作群。已生成过的周只显示，不重复生成。

Group a week's complaints from every channel by what they are about, find the frequent ones, write the text,
a chart (var/digest/<week>.png) and a workbook, put new frequent matters on the supervision ledger and send it
to the staff group. A week built before is shown, not built again.""",
        "complaints digest\ncomplaints digest --week 2026-W47 --dry-run\ncomplaints digest --week 2026-W47 --json w47.json",
    )
    digest.add_argument(
        "--week", help="ISO 周次，如 2026-W47（默认：上一个完整的周）/ ISO week (default: the last complete week)"
    )
    digest.add_argument("--json", type=Path, help="把分组及其投诉编号写入此文件 / write the groups and their ids here")
    digest.add_argument(
        "--dry-run", action="store_true", help="只打印：不保存，不发送 / print it; store and send nothing"
    )
    ledger = command(
        commands,
        "ledger",
        "督办台账：列出、导出、记录整改措施、销号 / the supervision ledger: list, export, measures, close",
        """
每周分析中的高频问题列入督办台账（编号如 DB-2026-001），有期限。list 列出督办中的事项（--all 含已销号），
export 导出为 .xlsx，measures 记录整改措施，close 销号并写明办理结果。

Frequent matters from the weekly digest go on the supervision ledger (numbers like DB-2026-001) with a
deadline. list shows the open items (--all: closed ones too), export writes an .xlsx, measures records what
is being done, close closes an item with a note of the outcome.""",
        """complaints ledger
complaints ledger list --all
complaints ledger export var/督办台账.xlsx
complaints ledger measures DB-2026-001 已校准南湖超限站的地磅
complaints ledger close DB-2026-001 地磅已校准，复核无误""",
    )
    ledger.add_argument(
        "action",
        nargs="?",
        default="list",
        choices=["list", "export", "close", "measures"],
        help="做什么（默认 list）/ what to do (default: list)",
    )
    ledger.add_argument(
        "number", nargs="?", help="事项编号（close、measures）或 .xlsx 路径（export）/ item number, or the .xlsx path"
    )
    ledger.add_argument("text", nargs="*", help="销号说明（close）或整改措施（measures）/ the closing note or measures")
    ledger.add_argument("--all", action="store_true", help="也列出已销号的事项 / list closed items too")


def _import_command(commands: SubParsers) -> None:
    imp = command(
        commands,
        "import",
        "导入其他渠道的投诉（CSV、XLSX、XLS、JSON Lines）/ import complaints from other channels",
        """
导入 12328 热线、来信、来访、公众号等渠道的投诉，供每周分析使用。读取 .csv/.tsv（UTF-8 或 GBK）、.xlsx、
.xls 和 .jsonl；必需的列是“投诉内容”和“受理时间”，可选“工单号”“渠道”“站点”“联系电话”“车牌号”“投诉人”
“承办单位”“图片”。--template 生成一个可直接填写的模板。同一文件再次导入不会重复；有问题的行会列出行号，
其余行照常导入。电话、车牌只以不可逆的化名保存。

Import complaints received on other channels (the 12328 line, letters, walk-ins, the WeChat account) for the
weekly digest. Reads .csv/.tsv (UTF-8 or GBK), .xlsx, .xls and .jsonl; the text and the received time are
required. --template writes a workbook to fill in. Importing a file again adds nothing twice; bad rows are
listed by line and the others still go in. Phones and plates are kept only as keyed pseudonyms.""",
        """complaints import --template var/导入模板.xlsx
complaints import 12328-11月.xlsx --channel 12328
complaints import 来信登记.xls --channel 来信
complaints import wechat.csv --encoding big5""",
    )
    imp.add_argument("file", type=Path, nargs="?", help="要导入的文件 / the file to import")
    imp.add_argument(
        "--channel",
        help="未写渠道的行用此渠道，如 12328（默认：其他渠道）/ channel of rows without one (default: 其他渠道)",
    )
    imp.add_argument(
        "--encoding", help="CSV/JSONL 文件既非 UTF-8 也非 GBK 时的编码，如 big5 / encoding when neither UTF-8 nor GBK"
    )
    imp.add_argument(
        "--template",
        type=Path,
        metavar="FILE.xlsx",
        help="写出一个待填写的导入模板（不导入）/ write a template to fill in, import nothing",
    )


def run_import(deps: Deps, args: argparse.Namespace) -> int:
    from digest.import_files import ImportFileError
    from digest.importer import import_file

    if args.template is not None:
        return _write_template(args.template)
    if args.file is None:
        print("请给出要导入的文件，或用 --template 文件.xlsx 生成模板 / give a file to import, or --template FILE.xlsx")
        return 2
    bars = ImportBars()
    try:
        with deps.sessions.begin() as session:
            report = import_file(
                session,
                args.file,
                deps.settings.timezone,
                deps.settings.digest.pseudonym_key,
                args.channel,
                args.encoding,
                progress=bars,
            )
    except ImportFileError as exc:
        print(f"导入失败，未导入任何记录：{exc}")
        return 2
    finally:
        bars.close()
    encoding = f"（编码 {report.encoding}）" if report.encoding else ""
    print(
        f"{args.file}{encoding}：共 {report.rows} 行，新导入 {report.added} 条，"
        f"此前已导入 {report.already} 条，有问题 {len(report.bad)} 行。"
    )
    for bad in report.bad:
        print(f"  第 {bad.line} 行：{bad.reason}")
    return 1 if report.bad else 0


def _write_template(path: Path) -> int:
    from digest.import_template import TemplateError, write_template

    try:
        write_template(path)
    except (TemplateError, OSError) as exc:
        print(f"模板未写出：{exc}")
        return 2
    print(f"导入模板已写入 {path}：填好“投诉”工作表后运行 complaints import {path}")
    return 0


class ImportBars:
    """Progress of `complaints import` on the terminal: rows read, then rows stored with their rate and the time
    left. Shown only on a terminal (tqdm's disable=None), so logs and pipes stay clean."""

    def __init__(self, file: TextIO | None = None, disable: bool | None = None) -> None:
        self._file = file if file is not None else sys.stderr
        self._disable = disable
        self._bar: tqdm[NoReturn] | None = None

    def _open(self, description: str, total: int | None) -> tqdm[NoReturn]:
        self.close()
        self._bar = tqdm(
            total=total, desc=description, unit="行", file=self._file, disable=self._disable, dynamic_ncols=True
        )
        return self._bar

    def read(self, rows: int) -> None:
        bar = self._bar if self._bar is not None else self._open("读取 / reading", None)
        bar.update(rows)

    def storing(self, total: int) -> None:
        self._open("导入 / storing", total)

    def stored(self, rows: int) -> None:
        if self._bar is not None:
            self._bar.update(rows)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def run_digest(deps: Deps, args: argparse.Namespace) -> int:
    from digest.build import WeekAlreadyBuilt, build_week, context, read_stored, write_json
    from digest.render import render_text
    from digest.weeks import BadWeek, Week, last_complete_week

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
    from digest.ledger import LedgerError, close_item, list_items, set_measures
    from digest.render import LEDGER_HEADER, ledger_rows, ledger_workbook
    from foundation.enums import LedgerState

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
