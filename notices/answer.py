"""What a reading says, in Chinese: the driver's answer (fields, checks, deadlines) and the staff's summary.

Checks are worded as a machine's reading, never as a ruling on the notice; the deadlines name the articles
they come from (content/legal_texts/)."""

from __future__ import annotations

from datetime import date
from html import escape

from notices.checks import Verdict
from notices.fields import NoticeFields
from notices.reading import Reading, Status

ICONS = {Verdict.ok: "✅", Verdict.info: "ℹ️", Verdict.flag: "⚠️"}
SHARPER = "请把文书平放、对准拍全整页、光线充足、对焦清楚后再拍一张发给我。"
NOT_A_NOTICE = "照片已收到。我没有在照片中认出处罚决定书等执法文书；如果这是一份文书，" + SHARPER
TWO_PAGES = "照片里好像有不止一份文书。为免读错，请每张照片只拍一份（一页）文书，分别发给我。"
CAVEAT = "以上由机器识别和核对，可能有误，请以决定书原件为准；不构成对您个案的处理意见。"
ON_THE_SPOT_REVIEW_FIRST = (
    "这是当场作出的行政处罚决定：不服的，应当先申请行政复议，对复议决定不服的，再依法向人民法院起诉"
    "（《行政复议法》第二十三条第一项）。"
)
CHOICES = "需要进一步帮助吗？可以转工作人员做法律咨询，也可以投诉这次执法行为。"


def day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _header(f: NoticeFields) -> str:
    parts = [escape(p) for p in (f.doc_number, day(f.issued) if f.issued else None, f.unit) if p]
    title = escape(f.doc_type or "执法文书")
    return f"📄 已读出您的<b>{title}</b>" + (f"（{'，'.join(parts)}）" if parts else "") + "："


def _penalty(f: NoticeFields) -> str:
    parts = []
    if f.amount is not None:
        parts.append(f"罚款 <b>{f.amount}</b> 元")
    if f.points is not None:
        parts.append(f"记 {f.points} 分")
    parts += [escape(m) for m in f.measures]
    return "；".join(parts) or "未读出"


def _field_lines(f: NoticeFields) -> list[str]:
    lines = []
    if f.facts:
        lines.append(f"• 事实：{escape(f.facts)}")
    if f.basis:
        lines.append(f"• 处罚依据：<b>{escape('、'.join(str(c) for c in f.basis))}</b>")
    if f.violated:
        lines.append(f"• 认定违反：{escape('、'.join(str(c) for c in f.violated))}")
    lines.append(f"• 处罚：{_penalty(f)}")
    return lines


def _deadline_lines(reading: Reading) -> list[str]:
    d, f = reading.deadlines, reading.fields
    if d is None:
        return []
    lines = ["<b>您的期限</b>（按决定书上的日期计算；如果您收到决定书的日期更晚，从收到之日起算）："]
    if d.pay_by is not None:
        lines.append(
            f"• 缴纳罚款：<b>{day(d.pay_by)}</b>前（收到决定书之日起十五日内，《行政处罚法》第六十七条）；"
            f"到期不缴纳的，每日加处罚款 {d.surcharge_per_day} 元（罚款数额的百分之三），"
            f"加处总额不超过罚款数额 {d.surcharge_cap} 元（《行政处罚法》第七十二条）。"
        )
    where = f"，决定书写明向{escape(f.review_body)}申请" if f.review_body else ""
    lines.append(f"• 申请行政复议：<b>{day(d.review_by)}</b>前（六十日内，《行政复议法》第二十条）{where}。")
    court = f"，决定书写明向{escape(f.litigation_court)}起诉" if f.litigation_court else ""
    lines.append(f"• 提起行政诉讼：<b>{day(d.litigation_by)}</b>前（六个月内，《行政诉讼法》第四十六条）{court}。")
    if f.doc_type == "当场行政处罚决定书":
        lines.append(ON_THE_SPOT_REVIEW_FIRST)
    return lines


def for_driver(reading: Reading, staff_available: bool) -> str:
    """The answer to the driver's photo (HTML)."""
    if reading.status is Status.not_a_notice:
        return NOT_A_NOTICE
    if reading.status is Status.two_pages:
        return TWO_PAGES
    if reading.status is Status.unreadable:
        return f"照片中的文书有些地方我读不清（{'、'.join(reading.missing)}），为免读错，我不作猜测。{SHARPER}"
    lines = [_header(reading.fields), *_field_lines(reading.fields), "<b>核对</b>："]
    lines += [f"{ICONS[f.verdict]} {escape(f.text)}" for f in reading.findings]
    if reading.flagged:
        lines.append(
            "带 ⚠️ 的内容可能是决定书或识别有误，"
            + ("已请工作人员核对。" if staff_available else "建议向执法单位核实。")
        )
    lines += _deadline_lines(reading)
    lines += [CAVEAT, CHOICES]
    return "\n".join(lines)


def for_staff(reading: Reading) -> str:
    """The extracted fields for the case card (plain text; personal data already masked)."""
    f = reading.fields
    if reading.status is not Status.read:
        names = {
            Status.not_a_notice: "未识别出执法文书",
            Status.two_pages: "一张照片中有多份文书",
            Status.unreadable: "文书不清晰，未读出：" + "、".join(reading.missing),
        }
        return f"🔎 照片识别：{names[reading.status]}"
    lines = [
        f"🔎 照片识别（机器读取，请以原件为准）：{f.doc_type or '文书'} {f.doc_number or ''}".rstrip(),
        f"日期：{day(f.issued) if f.issued else '未读出'}；单位：{f.unit or '未读出'}",
        f"依据：{'、'.join(str(c) for c in f.basis) or '未读出'}；处罚：{_penalty(f).replace('<b>', '').replace('</b>', '')}",
    ]
    if f.facts:
        lines.append(f"事实：{f.facts}")
    flags = [x.text for x in reading.findings if x.verdict is Verdict.flag]
    lines += [f"⚠️ {text}" for text in flags]
    return "\n".join(lines)
