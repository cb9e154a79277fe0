"""What staff see in the staff group (topic titles, case cards, reminders) and what drivers hear from the desk."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from bureau.deadlines import DEADLINE_NAMES, OpenDeadline, time_left_label
from bureau.labels import KIND_NAMES
from foundation.enums import LedgerState
from foundation.masks import mask_id_cards, mask_phones
from foundation.workdays import WorkCalendar
from storage.models import Case, LedgerItem

REASONS = {
    "complaint": "投诉",
    "service_request": "需现场服务",
    "human_handoff": "驾驶员要求人工",
    "low_confidence": "连续两次未能识别",
    "legal_unanswered": "法律问题机器人无法回答",
}
GRADE_NAMES = {1: "一级（最高）", 2: "二级", 3: "三级"}
FIELD_NAMES = {
    "description": "事情经过",
    "request": "请求",
    "station": "站点",
    "place": "地点",
    "time": "时间",
    "evidence": "补充材料",
    "plates": "车牌",
}
TITLE_LIMIT = 128
IMAGE_TOO_LARGE_NOTE = "📎 驾驶员发来的一张图片过大（{size}），未打开、未转发。"
IMAGE_UNREADABLE_NOTE = "📎 驾驶员发来的一张图片无法读取（{kind}）；原文件可能带有拍摄位置等信息，为保护隐私未转发。"
IMAGE_TOO_LARGE = "您发送的图片太大，无法转给工作人员。请直接以“照片”方式重新发送（不要以文件发送）。"
IMAGE_UNREADABLE = "您以文件发送的图片格式无法读取，没有转给工作人员。请直接以“照片”方式重新发送。"


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%m-%d %H:%M}"


def for_staff(text: str, consent: bool) -> str:
    """A driver's words as staff read them: ID card numbers always hidden, phones unless the driver agreed."""
    return mask_id_cards(text) if consent else mask_phones(text)


def topic_title(case: Case, next_deadline: OpenDeadline | None, calendar: WorkCalendar, now: datetime) -> str:
    """'🚨 TS-2026-000123 投诉 收费 · 首次反馈剩3工作日' (at most 128 characters).

    The category, never the place the driver typed: every member of the group sees titles in the topic list,
    and Telegram keeps them after retention has cleaned the case (the place is on the card)."""
    head = f"{'🚨 ' if case.urgent else ''}{case.number} {KIND_NAMES[case.kind]} {case.category or ''}".strip()
    if next_deadline is None:
        tail = case.state.value
    else:
        tail = f"{next_deadline.name}{time_left_label(calendar, next_deadline.due, now)}"
    return f"{head} · {tail}"[:TITLE_LIMIT]


PERSONAL_FIELDS = ("plates",)  # shown only where the driver agreed to be known (the unit complained about reads it)


def _field_lines(case: Case, show_phones: bool) -> list[str]:
    lines = []
    for key, label in FIELD_NAMES.items():
        value = (case.fields or {}).get(key)
        if key in PERSONAL_FIELDS and value and not show_phones:
            lines.append(f"<b>{label}</b>：已隐去（驾驶员同意提供身份后可用 /identity 私信查看）")
            continue
        if isinstance(value, list):
            value = "、".join(str(v) for v in value)
        if value:
            text = for_staff(str(value), show_phones)
            lines.append(f"<b>{label}</b>：{escape(text)}")
    return lines


def case_card(case: Case, pseudonym: str, attachments: int, tz: ZoneInfo) -> str:
    confidence = f"{case.intent_confidence:.2f}" if case.intent_confidence is not None else "—"
    lines = [f"🗂 <b>{case.number}</b> · {KIND_NAMES[case.kind]} · {escape(case.category or '其他')}"]
    if case.urgent:
        lines.append(f"🚨 <b>紧急</b> 预警等级：{GRADE_NAMES.get(case.warning_grade or 2, '二级')}")
    elif case.warning_grade == 3:
        lines.append("⚠️ <b>关注</b>（三级：驾驶员提到找媒体或热线），请做好解释沟通；时限不变。")
    lines.append(f"<b>摘要</b>：{escape(mask_phones(case.summary))}")
    lines += _field_lines(case, show_phones=case.contact_consent)
    unit = escape(case.unit) + (f"（回避：{escape(case.avoid_unit)}）" if case.avoid_unit else "")
    lines += [
        f"<b>分类</b>：{KIND_NAMES[case.kind]}，置信度 {confidence}；转人工原因：{REASONS.get(case.escalation_reason or '', '—')}",
        f"<b>承办单位</b>：{unit}",
        f"<b>时限</b>：转办 {local_time(case.handoff_due, tz)} · 首次反馈 {local_time(case.first_feedback_due, tz)}"
        f" · 办理意见 {local_time(case.opinion_due, tz)}",
        f"<b>反映人</b>：{pseudonym}（{'已同意提供身份，可用 /identity 查看' if case.contact_consent else '未授权提供身份'}）",
    ]
    if attachments:
        lines.append(f"<b>附件</b>：{attachments} 份（见下方，照片已去除位置信息）")
    lines.append("在本话题直接回复即转给驾驶员；/help 查看命令。")
    return "\n".join(lines)


def card_buttons(case: Case) -> dict[str, object]:
    return {
        "rows": [
            [{"title": f"✅ 确认承办：{case.unit}", "payload": f"d:take:{case.id}"}],
            [
                {"title": "🔁 改派单位", "payload": f"d:units:{case.id}"},
                {"title": "🚫 不予受理", "payload": f"d:refs:{case.id}"},
            ],
            [
                {"title": "↩️ 交还机器人", "payload": f"d:bot:{case.id}"},
                {"title": "🪪 查看身份", "payload": f"d:id:{case.id}"},
            ],
        ]
    }


def reminder_text(case: Case, deadline: OpenDeadline, stage: str, tz: ZoneInfo) -> str:
    name = DEADLINE_NAMES[deadline.key]
    if stage == "soon":
        return f"⏰ 提醒：{case.number} 的{name}时限 {local_time(deadline.due, tz)} 即将到期（{escape(case.unit)}）。"
    return f"🔴 超期：{case.number} 的{name}时限 {local_time(deadline.due, tz)} 已过，承办单位：{escape(case.unit)}。"


def staff_reply_to_driver(case: Case, text: str) -> str:
    return f"💬 <b>{escape(case.unit)}</b>（案件 {case.number}）：\n{escape(text)}"


RATING_BUTTONS = ("满意", "基本满意", "不满意")


def rating_markup(case: Case) -> dict[str, object]:
    return {"rows": [[{"title": r, "payload": f"rate:{case.id}:{i}"} for i, r in enumerate(RATING_BUTTONS)]]}


def consent_markup(case: Case) -> dict[str, object]:
    return {
        "rows": [
            [
                {"title": "同意提供", "payload": f"consent:{case.id}:1"},
                {"title": "不提供", "payload": f"consent:{case.id}:0"},
            ]
        ]
    }


CONSENT_PROMPT = (
    "为了便于承办人员联系您，是否同意向承办人员提供您的 Telegram 昵称和用户名？"
    "不同意也不影响办理，工作人员只会看到一个匿名编号。"
)


def ledger_text(items: list[LedgerItem], tz: ZoneInfo, now: datetime) -> str:
    """The supervision ledger as a staff-group message (HTML)."""
    if not items:
        return "督办台账中没有督办中的事项。"
    lines = [f"<b>督办台账</b>（{len(items)} 项）"]
    for item in items[:30]:
        state = "已销号" if item.state is LedgerState.closed else ("⏰ 已逾期" if item.deadline < now else "督办中")
        lines.append(
            f"<b>{item.number}</b> {escape(item.title)}\n"
            f"　{escape(item.owner_unit)} · 期限 {item.deadline.astimezone(tz):%Y-%m-%d} · {state} · "
            f"累计 {item.complaints} 件（{item.first_week}–{item.last_week}）\n"
            f"　措施：{escape(item.measures or '待填报')}"
        )
    if len(items) > 30:
        lines.append(f"……另有 {len(items) - 30} 项，完整台账：complaints ledger export")
    return "\n".join(lines)
