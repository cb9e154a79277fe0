"""The digest as leadership and staff see it: an HTML message (Chinese), a PNG chart, an .xlsx workbook."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from html import escape, unescape
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from bureau.export import write_cell
from digest.analysis import Group, WeekAnalysis
from foundation.enums import LedgerState
from storage.models import LedgerItem

MESSAGE_LIMIT = 4096  # Telegram's limit for a message
TAIL_ROOM = 500  # what follows the groups: counts not shown, overdue items, the commands
CHART_GROUPS = 10
WORKBOOK_GROUPS = 5000  # rows of the groups sheet (a city's week has a few hundred complaints)
STATE_NAMES = {LedgerState.open: "督办中", LedgerState.closed: "已销号"}


def topic_link(staff_chat_id: int | None, topic_id: int | None) -> str | None:
    """A t.me link to a case's topic in the staff supergroup (ids of supergroups start with -100)."""
    if staff_chat_id is None or topic_id is None or not str(staff_chat_id).startswith("-100"):
        return None
    return f"https://t.me/c/{str(staff_chat_id)[4:]}/{topic_id}"


def _change(group: Group) -> str:
    if group.is_new:
        return "新出现"
    if group.previous_size == 0:
        return "近期出现过，上周无"
    delta = group.change
    percent = f"{delta / group.previous_size:+.0%}"
    return f"上周 {group.previous_size} 件，{'+' if delta >= 0 else ''}{delta}（{percent}）"


def _names(pairs: list[tuple[str, int]], limit: int = 3) -> str:
    return "、".join(f"{name}({count})" if count > 1 else name for name, count in pairs[:limit])


def _ledger_mention(group: Group, items: dict[str, LedgerItem], tz: ZoneInfo) -> str:
    item = items.get(group.ledger_number or "")
    if item is None:
        return ""
    status = "新立" if group.ledger_new else STATE_NAMES[item.state]
    return f" · 台账 {item.number}（{status}，期限 {item.deadline.astimezone(tz):%m-%d}）"


def _group_html(n: int, group: Group, ledger: str, staff_chat_id: int | None) -> str:
    flag = "🔴 高频 " if group.high_frequency else ""
    lines = [
        f"<b>{n}. {flag}{escape(group.label)}</b>",
        f"{group.size} 件 · {group.reporters} 人 · {escape(_change(group))}{escape(ledger)}",
    ]
    where = [part for part in (_names(group.stations), _names(group.units)) if part]
    if where:
        lines.append("地点/单位：" + escape("；".join(where)))
    if group.cases:
        lines.append(f"案件：在办 {group.open_cases}，逾期 {group.overdue_cases}")
        links = []
        for case in group.cases[:3]:
            link = topic_link(staff_chat_id, case.topic_id)
            links.append(f'<a href="{link}">{case.number}</a>' if link else case.number)
        lines.append("　" + "、".join(links) + ("…" if len(group.cases) > 3 else ""))
    lines += [f"　“{escape(q)}”" for q in group.quotes[:2]]
    return "\n".join(lines)


def render_html(
    analysis: WeekAnalysis, items: list[LedgerItem], staff_chat_id: int | None, now: datetime, tz: ZoneInfo
) -> str:
    week = analysis.week
    head = [f"<b>📊 每周高频投诉分析 {week.label}</b>（{week.days_text()}）"]
    if analysis.total == 0:
        head.append("本周没有收到投诉（机器人与导入渠道均为 0 件）。")
    else:
        groups = [g for g in analysis.groups if not g.photo_only]
        change = analysis.total - analysis.previous_total
        head.append(
            f"共 {analysis.total} 件投诉（上周 {analysis.previous_total} 件，{change:+d}），归为 {len(groups)} 类问题；"
            f"高频 {sum(g.high_frequency for g in groups)} 类，新出现 {sum(g.is_new for g in groups if g.size > 1)} 类。"
        )
    open_items = [i for i in items if i.state is LedgerState.open]
    overdue = [i for i in open_items if i.deadline < now]
    head.append(f"督办台账：督办中 {len(open_items)} 项，其中逾期 {len(overdue)} 项。")
    parts = ["\n".join(head)]
    shown = 0
    ranked = [g for g in analysis.groups if g.size > 1 or g.high_frequency]
    by_number = {i.number: i for i in items}
    for n, group in enumerate(ranked, start=1):
        block = _group_html(n, group, _ledger_mention(group, by_number, tz), staff_chat_id)
        if sum(len(p) + 2 for p in parts) + len(block) + TAIL_ROOM > MESSAGE_LIMIT:
            break
        parts.append(block)
        shown += 1
    singles = sum(1 for g in analysis.groups if g.size == 1 and not g.high_frequency)
    tail = []
    if shown < len(ranked):
        tail.append(f"另有 {len(ranked) - shown} 类未列出")
    if singles:
        tail.append(f"{singles} 件单独出现的投诉")
    if analysis.total:
        tail.append("完整分组与台账见附件表格")
    if tail:
        parts.append("（" + "；".join(tail) + "）")
    if overdue:
        names = "、".join(f"{i.number} {i.title[:12]}" for i in overdue[:5])
        parts.append(f"⏰ 逾期督办：{escape(names)}")
    parts.append("销号：/xiaohao 台账编号 整改情况；填报措施：/measures 台账编号 措施；查看：/ledger")
    return "\n\n".join(parts)


def render_text(html: str) -> str:
    """The message for a terminal (`complaints digest --dry-run`)."""
    return unescape(re.sub(r"<[^>]+>", "", html))


# ---------------------------------------------------------------------------------------------- chart


def _font_path() -> str:
    from importlib.resources import files

    return str(files("mplfonts") / "fonts" / "NotoSansCJKsc-Regular.otf")


@cache
def _font() -> str:
    """Noto Sans CJK SC from the mplfonts wheel (a project dependency), so Chinese renders anywhere."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(_font_path())
    return font_manager.FontProperties(fname=_font_path()).get_name()


@cache
def _glyphs() -> frozenset[int]:
    from fontTools.ttLib import TTFont  # matplotlib's own dependency

    with TTFont(_font_path(), lazy=True) as font:
        return frozenset(font.getBestCmap())


def drawable(text: str) -> str:
    """`text` with what the chart's font has no glyph for (emoji, rare symbols) left out, so no empty box
    is drawn; labels are cleaned already (digest.labels), this is the last guard."""
    glyphs = _glyphs()
    return " ".join("".join(c for c in text if ord(c) in glyphs or c == " ").split())


def render_chart(analysis: WeekAnalysis) -> bytes:
    """Top groups, this week and last week side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    family = _font()
    plt.rcParams["font.family"] = family
    plt.rcParams["axes.unicode_minus"] = False
    groups = [g for g in analysis.groups if not g.photo_only][:CHART_GROUPS]
    figure, axes = plt.subplots(figsize=(10, 1.2 + 0.55 * max(len(groups), 2)), dpi=110)
    try:
        if not groups:
            axes.text(0.5, 0.5, "本周没有收到投诉", ha="center", va="center", fontsize=16)
            axes.set_axis_off()
        else:
            rows = range(len(groups))[::-1]
            labels = [f"{drawable(g.label)[:18]}{' ★' if g.high_frequency else ''}" for g in groups]
            axes.barh([r + 0.2 for r in rows], [g.size for g in groups], height=0.4, label="本周", color="#c0392b")
            axes.barh(
                [r - 0.2 for r in rows], [g.previous_size for g in groups], height=0.4, label="上周", color="#95a5a6"
            )
            axes.set_yticks(list(rows), labels)
            axes.set_xlabel("投诉件数")
            axes.legend(loc="lower right")
            locator = axes.xaxis.get_major_locator()
            if isinstance(locator, MaxNLocator):  # the default AutoLocator is one
                locator.set_params(integer=True)
        axes.set_title(f"高频投诉 {analysis.week.label}（★ 高频，列入督办台账）")
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(figure)


# ---------------------------------------------------------------------------------------------- workbook


def _sheet(book: Workbook, title: str, header: list[str], rows: Sequence[Sequence[object]], widths: list[int]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row_number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            write_cell(sheet, row_number, column, value)
    for n, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + n)].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"


def ledger_rows(items: list[LedgerItem], tz: ZoneInfo) -> list[list[object]]:
    def local(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d") if moment else ""

    return [
        [
            i.number,
            i.title,
            i.owner_unit,
            i.measures or "待填报",
            local(i.deadline),
            STATE_NAMES[i.state],
            i.first_week,
            i.last_week,
            i.complaints,
            local(i.closed_at),
            i.close_note or "",
        ]
        for i in items
    ]


LEDGER_HEADER = [
    "编号",
    "问题",
    "责任单位",
    "整改措施",
    "期限",
    "状态",
    "首次出现",
    "最近出现",
    "累计件数",
    "销号日期",
    "销号说明",
]
LEDGER_WIDTHS = [14, 36, 18, 36, 12, 8, 10, 10, 10, 12, 36]


def render_workbook(analysis: WeekAnalysis, items: list[LedgerItem], tz: ZoneInfo) -> bytes:
    book = Workbook()
    if book.active is not None:  # a new workbook starts with one empty sheet
        book.remove(book.active)
    groups = [
        [
            n,
            g.label,
            g.size,
            g.reporters,
            g.previous_size,
            "是" if g.is_new else "否",
            "是" if g.high_frequency else "否",
            g.ledger_number or "",
            _names(g.stations, 10),
            _names(g.units, 10),
            _names(g.channels, 10),
            g.open_cases,
            g.overdue_cases,
            "\n".join(g.quotes),
            "、".join(g.member_ids()[:200]),
        ]
        for n, g in enumerate(analysis.groups[:WORKBOOK_GROUPS], start=1)
    ]
    if len(analysis.groups) > WORKBOOK_GROUPS:
        rest = analysis.groups[WORKBOOK_GROUPS:]
        groups.append(
            ["…", f"另有 {len(rest)} 组（共 {sum(g.size for g in rest)} 件）未列出，见 --json 输出", *[""] * 13]
        )
    _sheet(
        book,
        f"分组 {analysis.week.label}",
        [
            "序号",
            "问题",
            "件数",
            "人数",
            "上周件数",
            "新出现",
            "高频",
            "台账编号",
            "站点",
            "单位",
            "渠道",
            "在办",
            "逾期",
            "代表性原话（已脱敏）",
            "投诉编号",
        ],
        groups,
        [6, 32, 8, 8, 10, 8, 8, 14, 24, 24, 16, 8, 8, 60, 40],
    )
    _sheet(book, "督办台账", LEDGER_HEADER, ledger_rows(items, tz), LEDGER_WIDTHS)
    return _bytes(book)


def ledger_workbook(items: list[LedgerItem], tz: ZoneInfo) -> bytes:
    """The ledger alone (`complaints ledger export`)."""
    book = Workbook()
    if book.active is not None:  # a new workbook starts with one empty sheet
        book.remove(book.active)
    _sheet(book, "督办台账", LEDGER_HEADER, ledger_rows(items, tz), LEDGER_WIDTHS)
    return _bytes(book)


def _bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
