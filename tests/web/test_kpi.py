"""The dashboard's figures are those of `complaints stats`: the same cases give the same rates."""

from __future__ import annotations

from datetime import timedelta

from bureau.deps import Deps
from bureau.stats import build_report
from foundation.clock import utcnow
from storage.web_access import Viewer
from tests.web.conftest import SHANGHAI, seed_cases
from web.kpi import build_kpis


def test_kpis_by_unit_and_kind_equal_complaints_stats(deps: Deps) -> None:
    now = utcnow()
    seed_cases(deps, now - timedelta(days=1))
    start, end = (now - timedelta(days=60)).astimezone(SHANGHAI).date(), now.astimezone(SHANGHAI).date()
    supervisor = Viewer(1, "督办", "supervisor")
    with deps.sessions() as session:
        stats = build_report(session, start, end, SHANGHAI, now)
        by_unit = build_kpis(session, start, end, "unit", supervisor, SHANGHAI, now)
        by_kind = build_kpis(session, start, end, "kind", supervisor, SHANGHAI, now)
    assert dict(by_unit.table) == {"全部": stats.overall, **stats.by_unit}
    assert by_kind.table[0] == ("全部", stats.overall) and len(by_kind.table) == len(stats.by_kind) + 1
    monthly = {s["name"]: s["values"] for s in by_unit.charts[0]["series"]}  # response rate, per month
    assert set(monthly) == {"全部", *stats.by_unit} and all(len(v) == len(by_unit.months) for v in monthly.values())
