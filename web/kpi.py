"""KPIs over time per unit or kind: the rates of `complaints stats` (bureau.stats.compute_rates, the same
definitions), month by month, read as columns so a year of cases stays quick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bureau.labels import KIND_NAMES
from bureau.stats import COUNTS, DEFINITIONS, Rates, case_counts, local_day_window, rates_from
from storage.models import Case
from storage.web_access import Viewer
from web.case_list import visible_to

RATES = (
    ("response_rate", "响应率"),
    ("on_time_rate", "按时率"),
    ("resolution_rate", "办结率"),
    ("satisfaction_rate", "满意率"),
    ("reopen_rate", "重办率"),
)
# what compute_rates reads of a case, and the two columns the buckets need
_COLUMNS = (
    Case.created_at,
    Case.unit,
    Case.kind,
    Case.state,
    Case.merged_into_id,
    Case.first_feedback_at,
    Case.first_feedback_due,
    Case.answered_at,
    Case.opinion_due,
    Case.rating,
    Case.closed_at,
    Case.reopen_count,
)
MAX_LINES = 12  # units beyond the biggest twelve are summed into the overall line only


@dataclass(frozen=True)
class KpiReport:
    start: date
    end: date
    by: str  # unit or kind
    months: list[str]
    charts: list[dict[str, Any]]  # one per rate: {"id", "title", "labels", "series": [{"name", "values"}]}
    table: list[tuple[str, Rates]]  # the whole range, overall first
    definitions: list[tuple[str, str]]
    computed_at: datetime


def default_range(today: date) -> tuple[date, date]:
    """The last twelve months up to today."""
    first = date(today.year - 1, today.month, 1) + timedelta(days=32)
    return first.replace(day=1), today


def _months(start: date, end: date) -> list[str]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _name(by: str, row: Any) -> str:
    return row.unit if by == "unit" else KIND_NAMES[row.kind]


def build_kpis(
    session: Session, start: date, end: date, by: str, viewer: Viewer, tz: ZoneInfo, now: datetime
) -> KpiReport:
    """Each case's counts are worked out once (bureau.stats.case_counts) and summed per month and per unit
    or kind; the rates of every sum are bureau.stats.rates_from, as in `complaints stats`."""
    lower, upper = local_day_window(start, end, tz)
    query = select(*_COLUMNS).where(Case.created_at >= lower, Case.created_at < upper, visible_to(viewer))
    months = _months(start, end)
    counts: list[tuple[int, ...]] = []
    cells: list[tuple[int, int]] = []  # (name number, month number) of each case
    name_index: dict[str, int] = {}
    for row in session.execute(query):
        counts.append(case_counts(row, now))  # type: ignore[arg-type]
        local = row.created_at.astimezone(tz)
        month = (local.year - start.year) * 12 + local.month - start.month
        cells.append((name_index.setdefault(_name(by, row), len(name_index)), month))
    matrix = np.array(counts, dtype=np.int64).reshape(len(counts), len(COUNTS))
    where = np.array(cells, dtype=np.int64).reshape(len(cells), 2)
    sums = np.zeros((len(name_index), len(months), len(COUNTS)), dtype=np.int64)
    np.add.at(sums, (where[:, 0], where[:, 1]), matrix)
    by_name = sums.sum(axis=1)
    order = sorted(name_index, key=lambda name: (-int(by_name[name_index[name], 0]), name))[:MAX_LINES]
    overall_by_month = sums.sum(axis=0)
    series_counts = {"全部": overall_by_month, **{name: sums[name_index[name]] for name in order}}
    charts = []
    for attribute, title in RATES:
        series = [
            {"name": name, "values": [_percent(rates_from(per_month[m]), attribute) for m in range(len(months))]}
            for name, per_month in series_counts.items()
        ]
        charts.append({"id": attribute, "title": title, "labels": months, "series": series, "max": 100})
    table = [("全部", rates_from(matrix.sum(axis=0).tolist()))]
    table += [(name, rates_from(by_name[name_index[name]].tolist())) for name in order]
    return KpiReport(start, end, by, months, charts, table, DEFINITIONS, now)


class KpiCache:
    """Reports kept for `seconds`: the figures of a year take a moment to work out, and several people opening
    the page in the same minute see the same numbers (the page says when they were worked out)."""

    def __init__(self, seconds: float = 60.0, size: int = 32) -> None:
        self._seconds, self._size = seconds, size
        self._kept: dict[tuple[object, ...], tuple[float, KpiReport]] = {}

    def get(self, key: tuple[object, ...], clock: float) -> KpiReport | None:
        found = self._kept.get(key)
        return found[1] if found and clock - found[0] < self._seconds else None

    def put(self, key: tuple[object, ...], clock: float, report: KpiReport) -> None:
        if len(self._kept) >= self._size:
            self._kept.pop(min(self._kept, key=lambda k: self._kept[k][0]))
        self._kept[key] = (clock, report)


def _percent(rates: Rates | None, attribute: str) -> float | None:
    value = getattr(rates, attribute) if rates is not None else None
    return None if value is None else round(value * 100, 1)
