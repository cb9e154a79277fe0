"""Staff working a case in its topic: replies relayed to the driver, and the case commands.

Each command changes the case once per staff update (a replayed update finds its own event and skips
the change) and tells the driver once (the message is stored under the update's key).
"""

from __future__ import annotations

from html import escape
from typing import Any

from bot import desk_texts as t
from bot.case_mail import case_buttons
from bot.staff.actions import StaffAction
from bot.staff.context import StaffContext
from bureau.answers import AnswerIncomplete, involves_penalty, parse_answer
from foundation.clock import utcnow
from foundation.enums import CaseState
from storage import desk as d
from storage.cases import normalise_case_number, record_event
from storage.models import Case

FINISHED_NOTICE = "本案状态为“{state}”，消息未转发给驾驶员。如需继续办理，请先用 /reopen 理由 重办。"
MERGED_NOTICE = "本案已合并到 {target}，消息未转发。请到该案件的话题办理。"


class CaseCommands:
    def __init__(self, ctx: StaffContext) -> None:
        self.ctx = ctx
        self.deps = ctx.deps

    def handlers(self) -> dict[str, Any]:
        return {
            "assign": self.assign,
            "btn_take": self.take,
            "btn_as": self.assign_by_index,
            "btn_units": self.unit_picker,
            "btn_refs": self.referral_picker,
            "note": self.note,
            "answer": self.answer,
            "close": self.close,
            "btn_close": self.close,
            "reopen": self.reopen,
            "extend": self.extend,
            "reject": self.reject,
            "btn_rj": self.reject,
            "merge": self.merge,
            "bot": self.hand_back,
            "btn_bot": self.hand_back,
            "visit": self.visit,
        }

    def _done(self, action: StaffAction) -> bool:
        with self.deps.sessions.begin() as session:
            return d.done_by_update(session, action.update_id)

    # ------------------------------------------------------------ relaying

    async def relay_to_driver(self, action: StaffAction, case_id: int) -> None:
        """A staff reply in the topic reaches the driver, signed with the unit, never with the person."""
        with self.deps.sessions.begin() as session:
            case, conversation = self.ctx.case_view(session, case_id)
            notice = _not_open_notice(session, case)
            signed = t.staff_reply_to_driver(case, action.text or "")
            caption = f"💬 <b>{escape(case.unit)}</b>（案件 {case.number}）" + (
                f"：{escape(action.text)}" if action.text else ""
            )
            conversation_id = conversation.id
        if notice:
            await self.ctx.group.post(case_id, notice)
            return
        markup = case_buttons(case_id, staff=True)
        if action.photo_file_id:
            key = action.key(f"photo:{case_id}")
            sent = await self.ctx.outbox.say_photo(
                conversation_id, action.photo_file_id, caption, case_id=case_id, key=key
            )
            delivered = sent is not None
            if not delivered:
                await self.ctx.group.post(case_id, "⚠️ 驾驶员已屏蔽机器人，照片未能送达。")
        else:
            delivered = await self.ctx.tell_driver(action, case_id, signed, markup, what="relay")
        if delivered and not self._done(action):
            with self.deps.sessions.begin() as session:
                case, _ = self.ctx.case_view(session, case_id)
                d.note_first_feedback(case, utcnow())
                record_event(
                    session,
                    case,
                    actor=self.ctx.actor(action).label,
                    action="staff_reply",
                    note=action.text,
                    update_id=action.update_id,
                )

    # ------------------------------------------------------------ assignment

    async def assign(self, action: StaffAction, case_id: int) -> str:
        units = self.deps.routing.units
        wanted = action.args.strip()
        matches = [u for u in units if u == wanted] or [u for u in units if wanted and wanted in u]
        if len(matches) != 1:
            return "请写明单位，例如 /assign 局政策法规科。可选：" + "、".join(units)
        return await self._assign(action, case_id, matches[0])

    async def take(self, action: StaffAction, case_id: int) -> str:
        with self.deps.sessions.begin() as session:
            unit = self.ctx.case_view(session, case_id)[0].unit
        return await self._assign(action, case_id, unit)

    async def assign_by_index(self, action: StaffAction, case_id: int) -> str:
        units = self.deps.routing.units
        index = int(action.args) if action.args.isdigit() else -1
        if not 0 <= index < len(units):
            return "⚠️ 未知单位。"
        return await self._assign(action, case_id, units[index])

    async def _assign(self, action: StaffAction, case_id: int, unit: str) -> str:
        with self.deps.sessions.begin() as session:
            case, _ = self.ctx.case_view(session, case_id)
            if not d.done_by_update(session, action.update_id):
                d.assign(session, case, unit, self.deps.routing.units, self.ctx.actor(action), utcnow())
            number, station = case.number, (case.fields or {}).get("station")
            request = (case.fields or {}).get("request") or case.summary
        await self.ctx.group.refresh_title(case_id)
        if station:  # a service at a station: its duty officer has taken it
            told = f"{escape(station)}值班人员已确认您的请求（{escape(request)}），编号 <b>{number}</b>。"
        else:
            told = f"您的案件 <b>{number}</b> 已转交{escape(unit)}办理。"
        await self.ctx.tell_driver(action, case_id, told, what="assigned")
        return f"✅ 已转办：{escape(unit)}（{escape(action.name or '')}）"

    async def unit_picker(self, action: StaffAction, case_id: int) -> str | None:
        with self.deps.sessions.begin() as session:
            avoid = self.ctx.case_view(session, case_id)[0].avoid_unit
        units = [(i, u) for i, u in enumerate(self.deps.routing.units) if u != avoid]
        rows = [[{"title": u, "payload": f"d:as:{case_id}:{i}"}] for i, u in units]
        note = f"（回避：{escape(avoid)}）" if avoid else ""
        await self.ctx.group.post(case_id, f"请选择承办单位{note}：", {"rows": rows})
        return None

    async def referral_picker(self, action: StaffAction, case_id: int) -> str | None:
        rows = [[{"title": r.channel, "payload": f"d:rj:{case_id}:{r.key}"}] for r in self.deps.referrals.values()]
        await self.ctx.group.post(case_id, "不予受理，并告知驾驶员应找的渠道：", {"rows": rows})
        return None

    # ------------------------------------------------------------ the record

    async def note(self, action: StaffAction, case_id: int) -> str:
        if not action.args:
            return "请在 /note 后写备注内容。"
        with self.deps.sessions.begin() as session:
            if not d.done_by_update(session, action.update_id):
                case = self.ctx.case_view(session, case_id)[0]
                d.add_note(session, case, action.args, self.ctx.actor(action), utcnow())
        return "📝 已记录内部备注（不会发给驾驶员）。"

    async def answer(self, action: StaffAction, case_id: int) -> str | None:
        with self.deps.sessions.begin() as session:
            case, _ = self.ctx.case_view(session, case_id)
            penalty = involves_penalty(case.summary, case.category, action.args)
            try:
                formal = parse_answer(action.args, penalty)
            except AnswerIncomplete as exc:
                return f"⚠️ {escape(str(exc))}"
            text = formal.render(case.number, case.unit)
            if not d.done_by_update(session, action.update_id):
                d.answer(session, case, text, self.ctx.actor(action), utcnow())
            merged = [m.id for m in d.merged_into(session, case)]
        delivered = await self.ctx.tell_driver(action, case_id, text, what="answer")
        for other in merged:
            await self.ctx.tell_driver(action, other, text, what="answer")
        await self.ctx.group.refresh_title(case_id)
        await self.ctx.group.post(
            case_id,
            "📨 答复已送达驾驶员。" if delivered else "答复已记录。",
            {"rows": [[{"title": "✅ 办结并请驾驶员评价", "payload": f"d:close:{case_id}"}]]},
        )
        return None

    async def visit(self, action: StaffAction, case_id: int) -> str:
        with self.deps.sessions.begin() as session:
            case, _ = self.ctx.case_view(session, case_id)
            if case.state is not CaseState.closed:
                return "只有已办结的案件需要回访。"
            if not d.done_by_update(session, action.update_id):
                case.return_visit_at = utcnow()
                actor = self.ctx.actor(action)
                note = action.args or None
                record_event(
                    session, case, actor=actor.label, action="return_visit", note=note, update_id=action.update_id
                )
        return "☎️ 已记录回访。"

    # ------------------------------------------------------------ state changes

    async def close(self, action: StaffAction, case_id: int) -> str | None:
        with self.deps.sessions.begin() as session:
            case, conversation = self.ctx.case_view(session, case_id)
            if not d.done_by_update(session, action.update_id):
                d.close(session, case, self.ctx.actor(action), self.deps.calendar, utcnow())
                if conversation.focus_case_id == case.id:
                    d.hand_to_bot(session, conversation, None, self.ctx.actor(action), utcnow())
            number, markup = case.number, t.rating_markup(case)
            merged = [m.id for m in d.merged_into(session, case)]
        done = f"✅ 您的案件 <b>{number}</b> 已办结，答复意见见上。请对本次办理评价："
        await self.ctx.tell_driver(action, case_id, done, markup, what="closed")
        for other in merged:
            await self.ctx.tell_driver(
                action, other, f"与您反映问题合并办理的案件 <b>{number}</b> 已办结。", what="closed"
            )
        await self.ctx.group.post(case_id, f"✅ 已办结（{escape(action.name or '')}），已请驾驶员评价。")
        await self.ctx.group.refresh_title(case_id)
        await self.ctx.group.set_topic_closed(case_id, True)
        return None

    async def reopen(self, action: StaffAction, case_id: int) -> str | None:
        reason = action.args or "工作人员重办"
        with self.deps.sessions.begin() as session:
            case, _ = self.ctx.case_view(session, case_id)
            if not d.done_by_update(session, action.update_id):
                d.reopen(session, case, reason, self.ctx.actor(action), self.deps.calendar, utcnow())
            number, due = case.number, t.local_time(case.opinion_due, self.deps.settings.timezone)
        await self.ctx.group.set_topic_closed(case_id, False)
        await self.ctx.group.refresh_title(case_id)
        told = f"您的案件 <b>{number}</b> 已重新办理（重办），新的办理期限：{due}。"
        await self.ctx.tell_driver(action, case_id, told, what="reopened")
        await self.ctx.group.alert_supervisors(f"🔁 案件 <b>{number}</b> 重办：{escape(reason)}")
        return f"🔁 已重办，新的办理意见期限 {due}。"

    async def extend(self, action: StaffAction, case_id: int) -> str:
        if not await self.ctx.auth.is_supervisor(action.user_id):
            return "⛔ 延期需要督办人员批准（督办群成员），请联系督办人员操作。"
        days_text, _, reason = action.args.partition(" ")
        if not days_text.isdigit() or not reason.strip():
            return "格式：/extend 天数 理由，例如 /extend 3 需要调取执法记录仪视频"
        with self.deps.sessions.begin() as session:
            case, _ = self.ctx.case_view(session, case_id)
            if not d.done_by_update(session, action.update_id):
                calendar, now = self.deps.calendar, utcnow()
                d.extend(session, case, int(days_text), reason.strip(), self.ctx.actor(action), calendar, now)
            number, due = case.number, t.local_time(case.opinion_due, self.deps.settings.timezone)
        told = f"您的案件 <b>{number}</b> 办理期限延长至 {due}。原因：{escape(reason.strip())}"
        await self.ctx.tell_driver(action, case_id, told, what="extended")
        await self.ctx.group.refresh_title(case_id)
        return f"⏳ 已延期 {days_text} 个工作日，至 {due}。"

    async def reject(self, action: StaffAction, case_id: int) -> str | None:
        key, _, reason = action.args.partition(" ")
        referral = self.deps.referrals.get(key.strip().lower())
        if referral is None:
            return "格式：/reject 渠道 理由，渠道可选：" + "、".join(self.deps.referrals)
        reason = reason.strip() or referral.reason
        with self.deps.sessions.begin() as session:
            case, conversation = self.ctx.case_view(session, case_id)
            if not d.done_by_update(session, action.update_id):
                d.reject(session, case, referral.channel, reason, self.ctx.actor(action), utcnow())
                if conversation.focus_case_id == case.id:
                    d.hand_to_bot(session, conversation, None, self.ctx.actor(action), utcnow())
            number = case.number
        told = (
            f"关于您的案件 <b>{number}</b>：经审查，该事项不属于本局受理范围（不予受理）。\n"
            f"原因：{escape(reason)}\n建议您联系：{escape(referral.channel)}。"
        )
        await self.ctx.tell_driver(action, case_id, told, what="rejected")
        await self.ctx.group.post(case_id, f"🚫 不予受理，已告知驾驶员转至{escape(referral.channel)}。")
        await self.ctx.group.refresh_title(case_id)
        await self.ctx.group.set_topic_closed(case_id, True)
        return None

    async def merge(self, action: StaffAction, case_id: int) -> str | None:
        number = normalise_case_number(action.args)
        if number is None:
            return "格式：/merge 案件编号，例如 /merge TS-2026-000123"
        with self.deps.sessions.begin() as session:
            case, conversation = self.ctx.case_view(session, case_id)
            target = d.case_by_number(session, number)
            if target is None:
                return f"没有找到案件 {number}。"
            if not d.done_by_update(session, action.update_id):
                d.merge(session, case, target, self.ctx.actor(action), utcnow())
                if conversation.focus_case_id == case.id:
                    d.hand_to_bot(session, conversation, None, self.ctx.actor(action), utcnow())
            this, target_id = case.number, target.id
        told = f"您的案件 <b>{this}</b> 与同类问题合并办理（并入 {number}），办理结果会一并告知您。"
        await self.ctx.tell_driver(action, case_id, told, what="merged")
        await self.ctx.group.post(target_id, f"🔗 {this} 已并入本案，答复时会一并告知其反映人。")
        await self.ctx.group.post(case_id, f"🔗 已合并到 {number}，请到该案件话题办理。")
        await self.ctx.group.refresh_title(case_id)
        await self.ctx.group.set_topic_closed(case_id, True)
        return None

    async def hand_back(self, action: StaffAction, case_id: int) -> str:
        """End the driver's writing to this case: their messages go to the bot again."""
        with self.deps.sessions.begin() as session:
            case, conversation = self.ctx.case_view(session, case_id)
            replayed = d.done_by_update(session, action.update_id)
            if conversation.focus_case_id != case.id and not replayed:
                return "驾驶员目前没有在给本案留言，消息本来就由机器人处理。"
            if not replayed:
                d.hand_to_bot(session, conversation, case, self.ctx.actor(action), utcnow())
            number = case.number
        told = (
            f"工作人员已结束本次对话，您可以继续向机器人提问。案件 <b>{number}</b> 仍在办理，有进展会通知您；"
            "要补充情况，回复（引用）本案的消息即可。"
        )
        await self.ctx.tell_driver(action, case_id, told, what="handed_back")
        return "↩️ 已结束驾驶员对本案的留言，之后的消息由机器人处理；案件仍在办理中。"


def _not_open_notice(session: Any, case: Case) -> str | None:
    """Why a staff message does not go to the driver (the case is finished or merged), or None."""
    if case.state is CaseState.merged:
        target = session.get(Case, case.merged_into_id) if case.merged_into_id else None
        return MERGED_NOTICE.format(target=target.number if target else "另一案件")
    if case.state in (CaseState.closed, CaseState.not_accepted):
        return FINISHED_NOTICE.format(state=case.state.value)
    return None
