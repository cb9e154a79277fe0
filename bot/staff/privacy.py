"""Staff and a driver's personal data: who the driver is (to the asker only), and written requests to see
or erase a driver's data. Every look and every request is an event on the case."""

from __future__ import annotations

import asyncio
from html import escape
from typing import Any

from telegram.error import BadRequest

from bot.privacy import send_file
from bot.sending import send_text
from bot.staff.actions import StaffAction
from bot.staff.context import StaffContext
from bureau.retention import erase_person, export_person
from foundation.clock import utcnow
from storage.cases import record_event
from storage.models import Reporter, ReporterIdentity

START_FIRST = "⚠️ 请先私聊机器人（发送 /start），再使用本命令；身份信息和数据文件只私信给您本人，不发到群里。"
SUPERVISORS_ONLY = "⛔ 删除驾驶员个人数据需要督办人员操作（督办群成员，或未设督办群时的工作群管理员）。"


class PrivacyCommands:
    def __init__(self, ctx: StaffContext) -> None:
        self.ctx = ctx
        self.deps = ctx.deps

    def handlers(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "btn_id": self.identity,
            "exportdata": self.export_data,
            "erasedata": self.erase_data,
        }

    async def identity(self, action: StaffAction, case_id: int) -> str:
        """The driver's name, username, phone and plates, sent to the asker's private chat, never the topic."""
        with self.deps.sessions.begin() as session:
            case, _ = self.ctx.case_view(session, case_id)
            reporter = session.get(Reporter, case.reporter_id)
            allowed = case.contact_consent
            label = self.ctx.actor(action).label
            record_event(session, case, actor=label, action="identity_viewed" if allowed else "identity_refused")
            if not allowed or reporter is None:
                return "🔒 驾驶员未同意提供身份信息，只能使用匿名编号联系。本次查看已记录。"
            identity: ReporterIdentity | None = reporter.identity
            if identity is None:
                return "🔒 反映人的身份信息已按规定删除（保存期满或本人申请），只保留匿名编号。"
            card = _identity_card(reporter.pseudonym, case.number, identity, (case.fields or {}).get("plates"))
            pseudonym = reporter.pseudonym
        try:
            sent = await send_text(self.ctx.group.bot, action.user_id, card, None)
        except BadRequest:  # "chat not found": the staff member never opened a chat with the bot
            sent = None
        if sent is None:
            return START_FIRST
        return f"🪪 反映人 {pseudonym} 的身份信息已私信给您（驾驶员已同意提供）。本次查看已记录。"

    async def export_data(self, action: StaffAction, case_id: int) -> str:
        """A driver's access request, handled by staff: the file goes to the staff member's private chat only."""
        with self.deps.sessions.begin() as session:
            case, _ = self.ctx.case_view(session, case_id)
            reporter = session.get(Reporter, case.reporter_id)
            if reporter is None:
                return "没有找到反映人。"
            number, pseudonym, reporter_id = case.number, reporter.pseudonym, reporter.id
            label = self.ctx.actor(action).label
            record_event(session, case, actor=label, action="data_exported", note=action.args)
        body = await asyncio.to_thread(export_person, self.deps, reporter_id)
        assert body is not None
        if await send_file(self.ctx.group.bot, action.user_id, body, f"个人数据_{pseudonym}.json") is None:
            return START_FIRST
        return f"📦 反映人 {pseudonym}（{number}）的数据已私信给您。本次导出已记录。"

    async def erase_data(self, action: StaffAction, case_id: int) -> str:
        """A driver's deletion request received by staff (letter, phone, counter); a supervisor carries it out."""
        if not await self.ctx.auth.is_supervisor(action.user_id):
            return SUPERVISORS_ONLY
        if not action.args.strip():
            return "请写明申请来源，例如：/erasedata 驾驶员11月27日来电申请"
        with self.deps.sessions.begin() as session:
            case, _ = self.ctx.case_view(session, case_id)
            reporter_id = case.reporter_id
            label = self.ctx.actor(action).label
            record_event(
                session, case, actor=label, action="erase_requested", note=action.args, update_id=action.update_id
            )
        report = await asyncio.to_thread(erase_person, self.deps, reporter_id, utcnow())
        if report.kept_open:
            return (
                f"🗑 已结案件的个人信息已匿名化；在办案件 {'、'.join(report.kept_open)} 办结后，"
                "驾驶员的身份信息和消息记录自动删除。"
            )
        return "🗑 已删除驾驶员的身份信息，消息与案件中的个人信息已匿名化；案件办理记录保留。"


def _identity_card(pseudonym: str, number: str, identity: ReporterIdentity, plates: object) -> str:
    parts = [f"🪪 案件 {number} 反映人 {pseudonym}（驾驶员已同意提供，仅用于办理本案，请勿转发）"]
    parts.append(f"姓名/昵称：{escape(identity.display_name or '—')}")
    if identity.username:
        parts.append(f"用户名：@{escape(identity.username)}")
    if identity.phone:
        parts.append(f"电话：{escape(identity.phone)}")
    if isinstance(plates, list) and plates:
        parts.append("车牌：" + escape("、".join(str(p) for p in plates)))
    return "\n".join(parts)
