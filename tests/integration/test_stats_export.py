"""Staff figures and the case ledger on a real database: rates worked out by hand, the date window, the export."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from sqlalchemy.orm import Session

from bureau.deps import Deps
from bureau.export import export_ledger
from bureau.stats import DEFINITIONS, StatsReport, build_report, compute_rates, render_html, render_text
from foundation.enums import CaseKind, CaseState
from storage import conversations as convs
from storage.cases import NewCase, create_case
from storage.models import Case

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = "局综合运输科"
ENFORCEMENT = "市交通运输综合执法大队"
HOUR = timedelta(hours=1)


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def _case(
    session: Session, deps: Deps, unit: str, at: datetime, kind: CaseKind = CaseKind.complaint, summary: str = "测试"
) -> Case:
    conversation = convs.conversation_for(session, convs.TelegramPerson(2001, 2001, "张三", None))
    return create_case(
        session, NewCase(kind, unit, "其他", conversation.reporter_id, conversation.id, summary, {}), deps.calendar, at
    )


def _month_of_cases(deps: Deps) -> None:
    """Four complaints to the office (and one merged into the first), two requests to enforcement."""
    with deps.sessions.begin() as session:
        monday = local(2026, 11, 16, 10, 0)  # deadlines: first feedback 11-18, opinion 11-23
        on_time = _case(session, deps, OFFICE, monday, summary="司机电话13812345678，车牌苏A12345，站点乱收费")
        on_time.first_feedback_at = on_time.created_at + HOUR
        on_time.answered_at = on_time.created_at + timedelta(days=2)
        on_time.closed_at = on_time.answered_at + HOUR
        on_time.state = CaseState.closed
        on_time.rating = "满意"

        late_answer = _case(session, deps, OFFICE, monday + HOUR, summary='=HYPERLINK("http://x")')
        late_answer.first_feedback_at = late_answer.created_at + HOUR
        late_answer.answered_at = late_answer.opinion_due + timedelta(days=1)
        late_answer.closed_at = late_answer.answered_at + HOUR
        late_answer.rating = "不满意"
        late_answer.reopen_count = 1
        late_answer.state = CaseState.reopened

        late_feedback = _case(session, deps, OFFICE, monday + 2 * HOUR)
        late_feedback.first_feedback_at = late_feedback.first_feedback_due + HOUR
        late_feedback.state = CaseState.in_progress

        refused = _case(session, deps, OFFICE, monday + 3 * HOUR)
        refused.state = CaseState.not_accepted
        refused.referral = "12345热线"

        duplicate = _case(session, deps, OFFICE, monday + 4 * HOUR)
        duplicate.state = CaseState.merged
        duplicate.merged_into_id = on_time.id

        friday = local(2026, 11, 27, 10, 0)  # deadlines: first feedback 12-01, opinion 12-04 (not yet due)
        advice = _case(session, deps, ENFORCEMENT, friday, CaseKind.legal_consultation)
        advice.first_feedback_at = advice.created_at + HOUR
        rescue = _case(session, deps, ENFORCEMENT, friday + HOUR, CaseKind.service_request)
        rescue.first_feedback_at = rescue.created_at + HOUR
        rescue.answered_at = local(2026, 12, 2, 9, 0)


NOW = local(2026, 12, 2, 12, 0)


def _report(deps: Deps, start: date = date(2026, 11, 1), end: date = date(2026, 11, 30)) -> StatsReport:
    with deps.sessions() as session:
        return build_report(session, start, end, SHANGHAI, NOW)


def test_rates_per_unit_match_the_figures_worked_out_by_hand(deps: Deps) -> None:
    _month_of_cases(deps)
    report = _report(deps)
    office = report.by_unit[OFFICE]
    assert (office.cases, office.merged) == (4, 1)  # the merged duplicate counts nowhere
    assert (office.responded, office.response_rate) == (3, 0.75)
    # 8 deadlines, all past: both met by the first case, only the first feedback by the second
    assert (office.due, office.on_time, office.on_time_rate) == (8, 3, 0.375)
    assert (office.resolved, office.resolution_rate) == (2, 0.5)  # closed and not accepted
    assert (office.rated, office.satisfied, office.satisfaction_rate) == (2, 1, 0.5)
    assert (office.closed_ever, office.reopened, office.reopen_rate) == (2, 1, 0.5)

    enforcement = report.by_unit[ENFORCEMENT]
    # the consultation's opinion deadline (12-04) is neither met nor past: not counted yet
    assert (enforcement.due, enforcement.on_time, enforcement.on_time_rate) == (3, 3, 1.0)
    assert (enforcement.resolution_rate, enforcement.satisfaction_rate, enforcement.reopen_rate) == (0.0, None, None)

    overall = report.overall
    assert (overall.cases, overall.responded, overall.due, overall.on_time) == (6, 5, 11, 6)
    assert list(report.by_unit) == [OFFICE, ENFORCEMENT]  # busiest unit first
    assert {kind: rates.cases for kind, rates in report.by_kind.items()} == {
        "complaint": 4,
        "service_request": 1,
        "legal_consultation": 1,
    }


def test_a_group_of_only_merged_cases_has_no_rates(deps: Deps) -> None:
    with deps.sessions.begin() as session:
        case = _case(session, deps, OFFICE, local(2026, 11, 16, 10, 0))
        case.state = CaseState.merged
        rates = compute_rates([case], NOW)
    assert (rates.cases, rates.merged, rates.response_rate, rates.on_time_rate, rates.resolution_rate) == (
        0,
        1,
        None,
        None,
        None,
    )


def test_the_window_includes_the_whole_last_local_day(deps: Deps) -> None:
    with deps.sessions.begin() as session:
        for at in (
            local(2026, 10, 31, 23, 59),  # before the window
            local(2026, 11, 1, 0, 0),
            local(2026, 11, 30, 23, 30),  # 15:30 UTC, still 30 November in Shanghai
            local(2026, 12, 1, 0, 0),  # after the window
        ):
            _case(session, deps, OFFICE, at)
    assert _report(deps).overall.cases == 2
    assert _report(deps, date(2026, 11, 30), date(2026, 11, 30)).overall.cases == 1


def test_the_terminal_report_shows_units_percentages_and_definitions(deps: Deps) -> None:
    _month_of_cases(deps)
    text = render_text(_report(deps))
    assert "2026-11-01 至 2026-11-30" in text
    assert OFFICE in text and ENFORCEMENT in text
    assert "75.0% (3/4)" in text and "37.5% (3/8)" in text and "100.0% (3/3)" in text
    assert "投诉" in text and "服务请求" in text and "法律咨询" in text
    assert "—" in text  # enforcement has no ratings yet
    assert "另有 1 件已合并的案件未计入" in text
    assert all(name in text and definition in text for name, definition in DEFINITIONS)


def test_the_telegram_report_escapes_unit_names_and_stays_short(deps: Deps) -> None:
    with deps.sessions.begin() as session:
        for number in range(150):
            _case(session, deps, f"第{number:03d}<分队>", local(2026, 11, 16, 10, 0))
    html = render_html(_report(deps))
    assert len(html) < 4000
    assert "第000&lt;分队&gt;" in html and "<分队>" not in html
    assert "个单位未列出" in html
    assert html.startswith("<b>") and "<pre>" in html and "指标说明" in html


def test_the_ledger_opens_in_excel_with_local_times_and_no_phone_numbers(deps: Deps, tmp_path: Path) -> None:
    _month_of_cases(deps)
    path = tmp_path / "台账.xlsx"
    with deps.sessions() as session:
        written = export_ledger(session, path, SHANGHAI)
    assert written == 7

    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["案件台账", "指标说明"]
    sheet = book["案件台账"]
    rows = list(sheet.iter_rows(values_only=True))
    headers = rows[0]
    assert headers[:4] == ("案件编号", "类型", "状态", "承办单位")
    assert headers[-1] == "摘要" and "首次反馈时限" in headers and "合并至" in headers
    assert len(rows) == 1 + 7
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:U8"

    first = dict(zip(headers, rows[1], strict=True))
    assert first["案件编号"] == "TS-2026-000001" and first["类型"] == "投诉" and first["状态"] == "已办结"
    assert first["受理时间"] == datetime(2026, 11, 16, 10, 0)  # Shanghai time, not 02:00 UTC
    assert sheet["G2"].number_format == "yyyy-mm-dd hh:mm"
    assert "13812345678" not in first["摘要"] and "138****5678" in first["摘要"]
    assert "苏A12345" not in first["摘要"]
    assert first["满意度"] == "满意"

    second = dict(zip(headers, rows[2], strict=True))
    assert second["摘要"] == '=HYPERLINK("http://x")' and sheet["U3"].data_type == "s"  # text, not a formula
    merged = dict(zip(headers, rows[5], strict=True))
    assert (merged["状态"], merged["合并至"]) == ("合并", "TS-2026-000001")
    assert all("13812345678" not in str(value) for row in rows for value in row)
    definitions = list(book["指标说明"].iter_rows(min_row=2, values_only=True))
    assert definitions == [tuple(pair) for pair in DEFINITIONS]


def test_the_ledger_can_cover_a_date_range(deps: Deps, tmp_path: Path) -> None:
    _month_of_cases(deps)
    with deps.sessions() as session:
        written = export_ledger(session, tmp_path / "late.xlsx", SHANGHAI, start=date(2026, 11, 20))
    rows = list(openpyxl.load_workbook(tmp_path / "late.xlsx")["案件台账"].iter_rows(min_row=2, values_only=True))
    assert written == len(rows) == 2
    assert {row[1] for row in rows} == {"服务请求", "法律咨询"}
