"""Chinese texts the actions build from data (static texts live in domain.yml responses)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from bureau.addressing import case_rows
from bureau.deadlines import StationPromise, open_deadlines
from bureau.labels import KIND_NAMES
from bureau.stations import Station
from storage.models import Case

WEEKDAYS = "一二三四五六日"
# what happens next, said only as the deployment does it
FOLLOW_UP_STAFF = (
    "案件已转给承办人员，他们的答复会发到这里。您可以继续问我其他问题；"
    "要补充材料或给承办人员留言，点下方按钮，或直接回复（引用）这条消息。"
)
FOLLOW_UP_NO_STAFF = (
    "承办单位会在上述期限内办理并答复您，随时可以发送 /status 查询进度。您可以继续问我其他问题；"
    "要补充材料，点下方“补充材料”或直接回复（引用）这条消息。"
)
URGENT_NOTES = {
    "supervisors": "⚠️ 已按紧急情况报告督办人员。如有人身危险，请先拨打 110 / 120。",
    "staff": "⚠️ 已按紧急情况通知值班工作人员。如有人身危险，请先拨打 110 / 120。",
}


def local_date(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.year}年{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）"


def local_datetime(moment: datetime, tz: ZoneInfo) -> str:
    return f"{local_date(moment, tz)} {moment.astimezone(tz):%H:%M}"


def complaint_summary(description: str, place: str, when: str, evidence: str, plate: str | None) -> str:
    lines = [
        "请核对您的投诉内容：",
        f"• 事情经过：{escape(description)}",
        f"• 地点：{escape(place)}",
        f"• 时间：{escape(when)}",
    ]
    if plate:
        lines.append(f"• 车牌：{escape(plate)}")
    lines.append(f"• 补充材料：{escape(evidence)}")
    lines.append("确认无误请点“确认提交”；需要改动请点“重新填写”，或直接发送要补充的内容。")
    return "\n".join(lines)


def receipt(case: Case, tz: ZoneInfo, staff: bool, alerted: str | None, attachments: int = 0) -> str:
    """The case receipt: number, unit, the promised dates, and what happens next as this deployment does it."""
    kind = KIND_NAMES[case.kind]
    lines = [
        f"✅ 您的{kind}已受理。",
        f"受理编号：<b>{case.number}</b>",
        f"类型：{kind}（{escape(case.category or '其他')}）",
        f"承办单位：{escape(case.unit)}",
        f"首次反馈：{local_datetime(case.first_feedback_due, tz)}前",
        f"办理意见：{local_datetime(case.opinion_due, tz)}前",
    ]
    if attachments:
        lines.append(f"已附上照片/语音 {attachments} 份。")
    if alerted in URGENT_NOTES:
        lines.append(URGENT_NOTES[alerted])
    lines.append(f"查询进度请发送：/status {case.number}")
    lines.append(FOLLOW_UP_STAFF if staff else FOLLOW_UP_NO_STAFF)
    return "\n".join(lines)


def case_markup(case: Case, staff: bool) -> dict[str, object]:
    """Carried with a receipt: the case's number (the bot files the message under it) and its buttons."""
    return {"case": case.number, "rows": case_rows(case.id, staff)}


def service_receipt(
    case: Case, station: Station | None, promise: StationPromise | None, tz: ZoneInfo, staff: bool
) -> str:
    """A service request's receipt: who acts and by when, in the hours of the place that acts."""
    lines = ["🆗 您的服务请求已登记。", f"编号：<b>{case.number}</b>（{escape(case.category or '其他')}）"]
    if station is not None and promise is not None and staff:
        if promise.opens_at is None:
            lines.append(
                f"{escape(station.name)}现在开放，正在通知值班人员，{local_time(case.handoff_due, tz, case.created_at)} 前会确认您的请求，"
                f"最迟 {local_time(case.first_feedback_due, tz, case.created_at)} 前答复。"
            )
        else:
            lines.append(
                f"{escape(station.name)}现在未开放（开放时间 {escape(station.hours_text)}），"
                f"将在 {local_datetime(promise.opens_at, tz)} 开放后通知值班人员，"
                f"{local_datetime(case.first_feedback_due, tz)} 前答复您。"
            )
    elif station is not None and promise is not None:
        lines.append(
            f"负责站点：{escape(station.name)}（开放时间 {escape(station.hours_text)}）。"
            f"承办单位会在 {local_datetime(case.first_feedback_due, tz)} 前答复您。"
        )
    else:
        why = OFFICE_REASONS.get(
            case.category or "", f"没有指定站点，由{escape(case.unit)}在工作时间（工作日 8:30-17:30）跟进"
        )
        lines.append(
            f"{why}：{local_datetime(case.handoff_due, tz)} 前安排人员，"
            f"最迟 {local_datetime(case.first_feedback_due, tz)} 前答复。"
        )
    lines.append("需要立即救援（人身安全、车辆故障停在路上）请直接拨打 12328 或 122/120，不必等待。")
    lines.append(FOLLOW_UP_STAFF if staff else FOLLOW_UP_NO_STAFF)
    return "\n".join(lines)


# why a service waits for office hours, told to the driver
OFFICE_REASONS = {
    "证照业务": "证照业务要由窗口在工作时间（工作日 8:30-17:30）办理",
    "法律咨询": "法律咨询由政策法规科在工作时间（工作日 8:30-17:30）安排",
}


def local_time(moment: datetime, tz: ZoneInfo, today: datetime) -> str:
    """A time on `today`'s date as 22:30; another day's with its date."""
    local = moment.astimezone(tz)
    return f"{local:%H:%M}" if local.date() == today.astimezone(tz).date() else local_datetime(moment, tz)


def status_text(case: Case, tz: ZoneInfo) -> str:
    return "\n".join(
        [
            f"编号 <b>{case.number}</b>（{KIND_NAMES[case.kind]}）",
            f"当前状态：{case.state.value}",
            f"承办单位：{escape(case.unit)}",
            f"受理时间：{local_datetime(case.created_at, tz)}",
            f"首次反馈期限：{local_datetime(case.first_feedback_due, tz)}",
            f"办理意见期限：{local_datetime(case.opinion_due, tz)}",
            f"内容：{escape(_shorten(case.summary))}",
        ]
    )


def case_list_line(case: Case, tz: ZoneInfo) -> str:
    line = f"• <b>{case.number}</b> {KIND_NAMES[case.kind]}，{case.state.value}：{escape(_shorten(case.summary, 24))}"
    due = next((d for d in open_deadlines(case) if d.key != "handoff"), None)
    return line + (f"（{due.name} {local_datetime(due.due, tz)}前）" if due else "")


def status_list(open_cases: list[Case], finished: list[Case], tz: ZoneInfo) -> str:
    """Every open case with its next promised date, then the latest finished ones."""
    lines = []
    if open_cases:
        lines.append(f"您正在办理的案件（{len(open_cases)} 件）：")
        lines += [case_list_line(case, tz) for case in open_cases]
    if finished:
        lines.append("最近办结的案件：")
        lines += [case_list_line(case, tz) for case in finished]
    lines.append("发送 /status 加编号可查看详情；回复（引用）某个案件的消息可以补充材料。")
    return "\n".join(lines)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
