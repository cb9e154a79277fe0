"""Figures for staff: response, on-time, resolution, satisfaction and reopen rates per unit and kind."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bureau.labels import KIND_NAMES
from foundation.enums import CaseKind, CaseState
from storage.models import Case

DEFINITIONS: list[tuple[str, str]] = [
    ("响应率", "工作人员已向来诉人作出首次反馈的案件数 ÷ 案件数"),
    (
        "按时率",
        "按时完成的时限数 ÷ 已完成或已到期的时限数；每件案件计两个时限："
        "首次反馈时限（首次反馈时间不晚于时限为按时）和办理时限（答复时间不晚于时限为按时）",
    ),
    ("办结率", "状态为已办结或不予受理的案件数 ÷ 案件数"),
    ("满意率", "评价为满意或基本满意的案件数 ÷ 已评价的案件数"),
    ("重办率", "重办过的案件数 ÷ 办结过的案件数（有办结时间或重办过）"),
    ("统计口径", "按受理时间（本地时间）统计，起止日期均含；已合并到其他案件的案件不计入任何分母"),
]

RESOLVED_STATES = (CaseState.closed, CaseState.not_accepted)
SATISFIED_RATINGS = ("满意", "基本满意")
HTML_LIMIT = 4000


@dataclass(frozen=True)
class Rates:
    cases: int
    responded: int
    response_rate: float | None
    due: int  # deadlines met or already past
    on_time: int
    on_time_rate: float | None
    resolved: int
    resolution_rate: float | None
    rated: int
    satisfied: int
    satisfaction_rate: float | None
    closed_ever: int
    reopened: int
    reopen_rate: float | None
    merged: int = 0  # merged into another case, left out of everything above


@dataclass(frozen=True)
class StatsReport:
    start: date
    end: date
    overall: Rates
    by_unit: dict[str, Rates]
    by_kind: dict[str, Rates]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def is_merged(case: Case) -> bool:
    return case.state == CaseState.merged or case.merged_into_id is not None


def _deadline_counts(done_at: datetime | None, due_at: datetime, now: datetime) -> tuple[int, int]:
    """(counted, on time) for one deadline: counted once met, or once past even if unmet."""
    if done_at is not None:
        return 1, int(done_at <= due_at)
    return int(due_at <= now), 0


# what one case adds to each count of Rates, in this order (see case_counts)
COUNTS = (
    "cases", "responded", "due", "on_time", "resolved", "rated", "satisfied", "closed_ever", "reopened", "merged"
)  # fmt: skip


def case_counts(case: Case, now: datetime) -> tuple[int, ...]:
    """What one case adds to each of COUNTS at `now`: the definitions of every rate live here. Summed over a
    group of cases they give its Rates (rates_from); the dashboard sums them per month without re-deciding."""
    if is_merged(case):
        return (0, 0, 0, 0, 0, 0, 0, 0, 0, 1)
    feedback_due, feedback_on_time = _deadline_counts(case.first_feedback_at, case.first_feedback_due, now)
    opinion_due, opinion_on_time = _deadline_counts(case.answered_at, case.opinion_due, now)
    return (
        1,
        int(case.first_feedback_at is not None),
        feedback_due + opinion_due,
        feedback_on_time + opinion_on_time,
        int(case.state in RESOLVED_STATES),
        int(case.rating is not None),
        int(case.rating in SATISFIED_RATINGS),
        int(case.closed_at is not None or case.reopen_count > 0),
        int(case.reopen_count > 0),
        0,
    )


def rates_from(counts: Sequence[int]) -> Rates:
    """Rates from the summed COUNTS of a group of cases."""
    c = dict(zip(COUNTS, (int(n) for n in counts), strict=True))
    return Rates(
        cases=c["cases"],
        responded=c["responded"],
        response_rate=_ratio(c["responded"], c["cases"]),
        due=c["due"],
        on_time=c["on_time"],
        on_time_rate=_ratio(c["on_time"], c["due"]),
        resolved=c["resolved"],
        resolution_rate=_ratio(c["resolved"], c["cases"]),
        rated=c["rated"],
        satisfied=c["satisfied"],
        satisfaction_rate=_ratio(c["satisfied"], c["rated"]),
        closed_ever=c["closed_ever"],
        reopened=c["reopened"],
        reopen_rate=_ratio(c["reopened"], c["closed_ever"]),
        merged=c["merged"],
    )


def compute_rates(cases: Iterable[Case], now: datetime) -> Rates:
    """The rates of one group of cases at `now` (see DEFINITIONS)."""
    totals = [0] * len(COUNTS)
    for case in cases:
        for n, value in enumerate(case_counts(case, now)):
            totals[n] += value
    return rates_from(totals)


def local_day_window(start: date | None, end: date | None, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """UTC bounds [start 00:00, end+1 00:00) of local days; None leaves that side open."""
    lower = datetime.combine(start, time(0), tz).astimezone(UTC) if start else None
    upper = datetime.combine(end + timedelta(days=1), time(0), tz).astimezone(UTC) if end else None
    return lower, upper


def build_report(session: Session, start: date, end: date, tz: ZoneInfo, now: datetime) -> StatsReport:
    """Rates of the cases received from `start` to `end` (both local days included)."""
    lower, upper = local_day_window(start, end, tz)
    cases = list(session.scalars(select(Case).where(Case.created_at >= lower, Case.created_at < upper)))
    units: dict[str, list[Case]] = {}
    kinds: dict[str, list[Case]] = {kind.value: [] for kind in CaseKind}
    for case in cases:
        units.setdefault(case.unit, []).append(case)
        kinds[case.kind.value].append(case)
    by_unit = {unit: compute_rates(group, now) for unit, group in units.items()}
    return StatsReport(
        start=start,
        end=end,
        overall=compute_rates(cases, now),
        by_unit=dict(sorted(by_unit.items(), key=lambda item: (-item[1].cases, item[0]))),
        by_kind={kind: compute_rates(group, now) for kind, group in kinds.items() if group},
    )


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def _columns(rates: Rates, with_counts: bool) -> list[str]:
    pairs = [
        (rates.response_rate, rates.responded, rates.cases),
        (rates.on_time_rate, rates.on_time, rates.due),
        (rates.resolution_rate, rates.resolved, rates.cases),
        (rates.satisfaction_rate, rates.satisfied, rates.rated),
        (rates.reopen_rate, rates.reopened, rates.closed_ever),
    ]
    cells = [percent(rate) + (f" ({part}/{whole})" if with_counts else "") for rate, part, whole in pairs]
    return [str(rates.cases), *cells]


def _table(title: str, rows: Sequence[tuple[str, Rates]], with_counts: bool) -> list[str]:
    header = [title, "案件数", "响应率", "按时率", "办结率", "满意率", "重办率"]
    body = [[name, *_columns(rates, with_counts)] for name, rates in rows]
    widths = [max(_width(line[i]) for line in [header, *body]) for i in range(len(header))]
    return ["  ".join(_pad(cell, widths[i]) for i, cell in enumerate(line)).rstrip() for line in [header, *body]]


def _kind_rows(report: StatsReport) -> list[tuple[str, Rates]]:
    return [(KIND_NAMES[CaseKind(kind)], rates) for kind, rates in report.by_kind.items()]


def _title(report: StatsReport) -> str:
    return f"案件统计 {report.start:%Y-%m-%d} 至 {report.end:%Y-%m-%d}（按受理时间，含首尾两日）"


def _merged_note(report: StatsReport) -> str | None:
    merged = report.overall.merged
    return f"另有 {merged} 件已合并的案件未计入。" if merged else None


def render_text(report: StatsReport) -> str:
    """A plain-text report for the terminal, with counts behind every rate."""
    lines = [_title(report), ""]
    lines += _table("合计", [("全部", report.overall)], with_counts=True)
    lines += ["", *_table("类型", _kind_rows(report), with_counts=True)]
    lines += ["", *_table("承办单位", list(report.by_unit.items()), with_counts=True)]
    if note := _merged_note(report):
        lines += ["", note]
    lines += ["", "指标说明："]
    lines += [f"  {name}：{definition}" for name, definition in DEFINITIONS]
    return "\n".join(lines)


def render_html(report: StatsReport) -> str:
    """The report for Telegram (HTML parse mode), units cut to stay under the message limit."""
    units = list(report.by_unit.items())
    for shown in range(len(units), -1, -1):
        text = _html(report, units[:shown], len(units) - shown)
        if len(text) < HTML_LIMIT:
            return text
    return text


def _html(report: StatsReport, units: list[tuple[str, Rates]], hidden: int) -> str:
    rows = [("全部", report.overall), *_kind_rows(report)]
    parts = [f"<b>{escape(_title(report))}</b>"]
    parts.append("<pre>" + escape("\n".join(_table("合计/类型", rows, with_counts=False))) + "</pre>")
    parts.append("<b>按承办单位</b>")
    parts.append("<pre>" + escape("\n".join(_table("单位", units, with_counts=False))) + "</pre>")
    if hidden:
        parts.append(f"另有 {hidden} 个单位未列出，完整数字请在终端查看或导出台账。")
    if note := _merged_note(report):
        parts.append(note)
    parts.append("<b>指标说明</b>\n" + "\n".join(f"<b>{name}</b>：{escape(text)}" for name, text in DEFINITIONS))
    return "\n".join(parts)
