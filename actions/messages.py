"""Chinese texts the actions build from data (static texts live in domain.yml responses)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from complaints.labels import KIND_NAMES
from storage.models import Case

WEEKDAYS = "一二三四五六日"
HANDED_OFF_NOTE = "案件已转给工作人员。办理期间，您在这里发的文字、照片、语音都会直接转给承办人员，他们的回复也会发到这里。"
URGENT_NOTE = "⚠️ 已按紧急情况上报值班领导。如有人身危险，请先拨打 110 / 120。"


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


def receipt(case: Case, tz: ZoneInfo, attachments: int = 0) -> str:
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
    if case.urgent:
        lines.append(URGENT_NOTE)
    lines.append(f"查询进度请发送：/status {case.number}")
    lines.append(HANDED_OFF_NOTE)
    return "\n".join(lines)


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


def case_list_line(case: Case) -> str:
    return f"• <b>{case.number}</b> {KIND_NAMES[case.kind]}，{case.state.value}：{escape(_shorten(case.summary, 24))}"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
