"""What staff do in the staff group: commands and buttons in a case's topic, and replies relayed to the driver."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from html import escape

from sqlalchemy.orm import Session
from telegram import Update
from telegram.error import BadRequest, TelegramError

from bot import desk_texts as t
from bot.desk import Markup, StaffDesk
from bot.privacy import send_file
from bot.replies import send_text
from complaints.answers import AnswerIncomplete, involves_penalty, parse_answer
from complaints.clock import utcnow
from complaints.digest import ledger
from complaints.retention import erase_person, export_person
from complaints.stats import build_report, render_html
from storage import desk as d
from storage.cases import normalise_case_number, record_event
from storage.models import Case, CaseState, Conversation, LedgerState, Reporter, ReporterIdentity

logger = logging.getLogger(__name__)

REFUSED = "⛔ 只有工作组成员可以办理案件。此次操作已记录。"
NEED_CASE = "请在案件话题内使用该命令，或在命令后写上案件编号。"
FINISHED_NOTICE = "本案状态为“{state}”，消息未转发给驾驶员。如需继续办理，请先用 /reopen 理由 重办。"
FAILED_NOTICE = "⚠️ 这次操作没有完成（与 Telegram 的连接出错），驾驶员可能没有收到。请稍后重试。"
MERGED_NOTICE = "本案已合并到 {target}，消息未转发。请到该案件的话题办理。"
COMMAND = re.compile(r"/(\w+)(?:@\w+)?\s*(.*)", re.DOTALL)


@dataclass
class StaffAction:
    """One staff message or button press, reduced to what the desk needs."""

    user_id: int
    name: str | None
    thread_id: int | None
    command: str | None
    args: str
    text: str | None
    photo_file_id: str | None
    callback_id: str | None = None
    case_id: int | None = None


def read_action(update: Update) -> StaffAction | None:
    """None for what staff do not address to the desk (service messages, the bot's own posts)."""
    if update.callback_query is not None:
        query = update.callback_query
        parts = (query.data or "").split(":", 3)
        if len(parts) < 3 or parts[0] != "d" or not parts[2].isdigit():
            return None
        thread = getattr(query.message, "message_thread_id", None)  # None for an inaccessible (old) message
        return StaffAction(
            query.from_user.id,
            query.from_user.full_name,
            thread,
            f"btn_{parts[1]}",
            parts[3] if len(parts) > 3 else "",
            None,
            None,
            query.id,
            int(parts[2]),
        )
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    text = message.text or message.caption
    thread = message.message_thread_id if message.is_topic_message else None
    photo = message.photo[-1].file_id if message.photo else None
    if text is None and photo is None:
        return None
    command, args = None, ""
    if message.text and (match := COMMAND.match(message.text)):
        command, args = match.group(1).lower(), match.group(2).strip()
    return StaffAction(message.from_user.id, message.from_user.full_name, thread, command, args, text, photo)


Handler = Callable[["StaffCommands", StaffAction, int], Awaitable[str | None]]


class StaffCommands:
    def __init__(self, desk: StaffDesk) -> None:
        self.desk = desk
        self.deps = desk.deps
        self._handlers: dict[str, Handler] = {
            "assign": StaffCommands.assign,
            "btn_take": StaffCommands.take,
            "note": StaffCommands.note,
            "answer": StaffCommands.answer,
            "close": StaffCommands.close,
            "btn_close": StaffCommands.close,
            "reopen": StaffCommands.reopen,
            "extend": StaffCommands.extend,
            "reject": StaffCommands.reject,
            "btn_rj": StaffCommands.reject,
            "merge": StaffCommands.merge,
            "bot": StaffCommands.hand_back,
            "btn_bot": StaffCommands.hand_back,
            "identity": StaffCommands.identity,
            "btn_id": StaffCommands.identity,
            "visit": StaffCommands.visit,
            "btn_units": StaffCommands.unit_picker,
            "btn_as": StaffCommands.assign_by_index,
            "btn_refs": StaffCommands.referral_picker,
            "exportdata": StaffCommands.export_data,
            "erasedata": StaffCommands.erase_data,
        }
        # commands that act on no case, usable anywhere in the staff group
        self._caseless: dict[str, Callable[[StaffAction], str]] = {
            "stats": self._stats,
            "ledger": self._ledger,
            "measures": self._measures,
            "xiaohao": self._close_item,
        }

    async def handle(self, update: Update) -> None:
        action = read_action(update)
        if action is None:
            return
        if action.callback_id is not None:
            await self._answer_query(action.callback_id)
        if action.command in ("help", "start"):
            await self._post(action, None, t.STAFF_HELP)
            return
        if action.command is None and action.thread_id is None:
            return  # conversation among staff outside any case topic
        caseless = self._caseless
        if action.command is not None and action.command not in self._handlers and action.command not in caseless:
            await self._post(action, None, "没有这个命令。\n" + t.STAFF_HELP)
            return
        assert self.desk.auth is not None
        case_id = action.case_id or self._case_for(action)
        if not await self.desk.auth.is_staff(action.user_id):
            await self._refuse(action, case_id)
            return
        if action.command in caseless:
            await self._post(action, None, caseless[action.command](action))
            return
        if case_id is None:
            if action.command is not None:
                await self._post(action, None, NEED_CASE)
            return
        try:
            await self._act(action, case_id)
        except TelegramError:
            # retries are spent (deliver()): say so, rather than let staff believe the driver has it
            logger.exception("Staff action %s on case %s failed at Telegram", action.command, case_id)
            with contextlib.suppress(TelegramError):
                await self._post(action, None, FAILED_NOTICE)

    async def _act(self, action: StaffAction, case_id: int) -> None:
        if action.command is None:
            await self.relay_to_driver(action, case_id)
            return
        try:
            reply = await self._handlers[action.command](self, action, case_id)
        except d.DeskError as exc:
            reply = f"⚠️ {exc}"
        if reply:
            await self._post(action, case_id, reply)

    # ------------------------------------------------------------ plumbing

    def _case_for(self, action: StaffAction) -> int | None:
        with self.deps.sessions.begin() as session:
            number = normalise_case_number(action.args) if action.thread_id is None else None
            case = d.case_by_number(session, number) if number else None
            if case is None and action.thread_id is not None:
                case = d.case_by_topic(session, action.thread_id)
            return case.id if case is not None else None

    async def _answer_query(self, query_id: str) -> None:
        try:
            await self.desk.bot.answer_callback_query(query_id)
        except TelegramError:
            logger.debug("Callback query too old to answer")

    async def _post(self, action: StaffAction, case_id: int | None, text: str, markup: Markup = None) -> None:
        if case_id is not None:
            await self.desk.post(case_id, text, markup)
            return
        assert self.desk.staff_chat_id is not None
        try:
            await send_text(self.desk.bot, self.desk.staff_chat_id, text, markup, thread_id=action.thread_id)
        except BadRequest as exc:
            if action.thread_id is None or "topic_closed" not in str(exc).lower():
                raise
            # a closed topic (administrators may still write there) takes no posts: answer in the general thread
            await send_text(self.desk.bot, self.desk.staff_chat_id, text, markup)

    async def _refuse(self, action: StaffAction, case_id: int | None) -> None:
        logger.warning("A non-member tried a staff action (%s) on case %s; refused", action.command, case_id)
        if case_id is not None:
            with self.deps.sessions.begin() as session:
                case = session.get(Case, case_id)
                if case is not None:
                    record_event(
                        session, case, actor=f"non-staff:{action.user_id}", action="refused", note=action.command
                    )
        await self._post(action, None, REFUSED)

    def _actor(self, action: StaffAction) -> d.Actor:
        return d.Actor.staff(action.user_id, action.name)

    def _stats(self, action: StaffAction) -> str:
        tz = self.deps.settings.timezone
        today = utcnow().astimezone(tz).date()
        parts = action.args.split()
        try:
            start = date.fromisoformat(parts[0]) if parts else today.replace(day=1)
            end = date.fromisoformat(parts[1]) if len(parts) > 1 else today
        except ValueError:
            return "日期格式应为 2026-11-01，例如 /stats 2026-11-01 2026-11-30"
        with self.deps.sessions.begin() as session:
            return render_html(build_report(session, start, end, tz, utcnow()))

    def _ledger(self, action: StaffAction) -> str:
        with self.deps.sessions.begin() as session:
            items = ledger.list_items(session, None if action.args.strip() == "all" else LedgerState.open)
            return t.ledger_text(items, self.deps.settings.timezone, utcnow())

    def _measures(self, action: StaffAction) -> str:
        return self._on_item(action, ledger.set_measures, "{number} 的整改措施已记录：{measures}")

    def _close_item(self, action: StaffAction) -> str:
        """销号 of a ledger item, with the note of what was done."""
        return self._on_item(action, ledger.close_item, "✅ {number}「{title}」已销号。整改情况：{note}")

    def _on_item(self, action: StaffAction, change: ledger.ItemChange, done: str) -> str:
        number, _, text = action.args.strip().partition(" ")
        try:
            with self.deps.sessions.begin() as session:
                item = change(session, number, self._actor(action).label, text, utcnow())
                fields = {"title": item.title, "measures": item.measures or "", "note": item.close_note or ""}
                return done.format(number=item.number, **{k: escape(v) for k, v in fields.items()})
        except ledger.LedgerError as exc:
            return f"⚠️ {escape(str(exc))}"

    def _case_view(self, session: Session, case_id: int) -> tuple[Case, Conversation]:
        case = session.get(Case, case_id)
        assert case is not None
        conversation = session.get(Conversation, case.conversation_id)
        assert conversation is not None
        return case, conversation

    async def _tell_driver(self, case_id: int, text: str, markup: Markup = None) -> bool:
        """Send to the case's driver; False (and a note in the topic) if the driver blocked the bot."""
        with self.deps.sessions.begin() as session:
            conversation_id = self._case_view(session, case_id)[1].id
        if await self.desk.say_to_driver(conversation_id, text, markup) is None:
            await self.desk.post(case_id, "⚠️ 驾驶员已屏蔽机器人，消息未能送达。已记录，请通过其他方式联系。")
            return False
        return True

    # ------------------------------------------------------------ relaying

    async def relay_to_driver(self, action: StaffAction, case_id: int) -> None:
        """A staff reply in the topic reaches the driver, signed with the unit, never with the person."""
        with self.deps.sessions.begin() as session:
            case, _ = self._case_view(session, case_id)
            if case.state is CaseState.merged:
                target = session.get(Case, case.merged_into_id) if case.merged_into_id else None
                notice = MERGED_NOTICE.format(target=target.number if target else "另一案件")
            elif case.state in (CaseState.closed, CaseState.not_accepted):
                notice = FINISHED_NOTICE.format(state=case.state.value)
            else:
                notice = None
                signed = t.staff_reply_to_driver(case, action.text or "")
                caption = f"💬 <b>{escape(case.unit)}</b>（案件 {case.number}）" + (
                    f"：{escape(action.text)}" if action.text else ""
                )
        if notice:
            await self.desk.post(case_id, notice)
            return
        if action.photo_file_id:
            with self.deps.sessions.begin() as session:
                conversation_id = self._case_view(session, case_id)[1].id
            delivered = await self.desk.send_photo_to_driver(conversation_id, action.photo_file_id, caption)
            if delivered is None:
                await self.desk.post(case_id, "⚠️ 驾驶员已屏蔽机器人，照片未能送达。")
        else:
            delivered = await self._tell_driver(case_id, signed)
        if delivered:
            with self.deps.sessions.begin() as session:
                case, _ = self._case_view(session, case_id)
                d.note_first_feedback(case, utcnow())
                record_event(session, case, actor=self._actor(action).label, action="staff_reply", note=action.text)

    # ------------------------------------------------------------ commands

    async def assign(self, action: StaffAction, case_id: int) -> str:
        units = self.deps.routing.units
        wanted = action.args.strip()
        matches = [u for u in units if u == wanted] or [u for u in units if wanted and wanted in u]
        if len(matches) != 1:
            return "请写明单位，例如 /assign 局政策法规科。可选：" + "、".join(units)
        return await self._assign(action, case_id, matches[0])

    async def take(self, action: StaffAction, case_id: int) -> str:
        with self.deps.sessions.begin() as session:
            unit = self._case_view(session, case_id)[0].unit
        return await self._assign(action, case_id, unit)

    async def assign_by_index(self, action: StaffAction, case_id: int) -> str:
        units = self.deps.routing.units
        index = int(action.args) if action.args.isdigit() else -1
        if not 0 <= index < len(units):
            raise d.DeskError("未知单位。")
        return await self._assign(action, case_id, units[index])

    async def _assign(self, action: StaffAction, case_id: int, unit: str) -> str:
        with self.deps.sessions.begin() as session:
            case, _ = self._case_view(session, case_id)
            d.assign(session, case, unit, self.deps.routing.units, self._actor(action), utcnow())
            number, station = case.number, (case.fields or {}).get("station")
            request = (case.fields or {}).get("request") or case.summary
        await self.desk.refresh_title(case_id)
        if station:  # a service at a station: its duty officer has taken it
            told = f"{escape(station)}值班人员已确认您的请求（{escape(request)}），编号 <b>{number}</b>。"
        else:
            told = f"您的案件 <b>{number}</b> 已转交{escape(unit)}办理。"
        await self._tell_driver(case_id, told)
        return f"✅ 已转办：{escape(unit)}（{escape(action.name or '')}）"

    async def unit_picker(self, action: StaffAction, case_id: int) -> str | None:
        with self.deps.sessions.begin() as session:
            avoid = self._case_view(session, case_id)[0].avoid_unit
        units = [(i, u) for i, u in enumerate(self.deps.routing.units) if u != avoid]
        rows = [[{"title": u, "payload": f"d:as:{case_id}:{i}"}] for i, u in units]
        await self.desk.post(
            case_id, "请选择承办单位" + (f"（回避：{escape(avoid)}）" if avoid else "") + "：", {"rows": rows}
        )
        return None

    async def referral_picker(self, action: StaffAction, case_id: int) -> str | None:
        rows = [[{"title": r.channel, "payload": f"d:rj:{case_id}:{r.key}"}] for r in self.deps.referrals.values()]
        await self.desk.post(case_id, "不予受理，并告知驾驶员应找的渠道：", {"rows": rows})
        return None

    async def note(self, action: StaffAction, case_id: int) -> str:
        if not action.args:
            return "请在 /note 后写备注内容。"
        with self.deps.sessions.begin() as session:
            d.add_note(session, self._case_view(session, case_id)[0], action.args, self._actor(action), utcnow())
        return "📝 已记录内部备注（不会发给驾驶员）。"

    async def answer(self, action: StaffAction, case_id: int) -> str | None:
        with self.deps.sessions.begin() as session:
            case, _ = self._case_view(session, case_id)
            penalty = involves_penalty(case.summary, case.category, action.args)
            try:
                formal = parse_answer(action.args, penalty)
            except AnswerIncomplete as exc:
                return f"⚠️ {escape(str(exc))}"
            text = formal.render(case.number, case.unit)
            d.answer(session, case, text, self._actor(action), utcnow())
            merged = [m.id for m in d.merged_into(session, case)]
        delivered = await self._tell_driver(case_id, text)
        for other in merged:
            await self._tell_driver(other, text)
        await self.desk.refresh_title(case_id)
        await self.desk.post(
            case_id,
            "📨 答复已送达驾驶员。" if delivered else "答复已记录。",
            {"rows": [[{"title": "✅ 办结并请驾驶员评价", "payload": f"d:close:{case_id}"}]]},
        )
        return None

    async def close(self, action: StaffAction, case_id: int) -> str | None:
        with self.deps.sessions.begin() as session:
            case, conversation = self._case_view(session, case_id)
            d.close(session, case, self._actor(action), self.deps.calendar, utcnow())
            if conversation.handoff_case_id == case.id:
                d.hand_to_bot(session, conversation, None, self._actor(action), utcnow())
            number, markup = case.number, t.rating_markup(case)
            merged = [m.id for m in d.merged_into(session, case)]
        await self._tell_driver(
            case_id, f"✅ 您的案件 <b>{number}</b> 已办结，答复意见见上。请对本次办理评价：", markup
        )
        for other in merged:
            await self._tell_driver(other, f"与您反映问题合并办理的案件 <b>{number}</b> 已办结。")
        await self.desk.post(case_id, f"✅ 已办结（{escape(action.name or '')}），已请驾驶员评价。")
        await self.desk.refresh_title(case_id)
        await self.desk.set_topic_closed(case_id, True)
        return None

    async def reopen(self, action: StaffAction, case_id: int) -> str | None:
        reason = action.args or "工作人员重办"
        with self.deps.sessions.begin() as session:
            case, conversation = self._case_view(session, case_id)
            d.reopen(session, case, reason, self._actor(action), self.deps.calendar, utcnow())
            d.hand_to_staff(conversation, case)
            number, due = case.number, t.local_time(case.opinion_due, self.deps.settings.timezone)
        await self.desk.set_topic_closed(case_id, False)
        await self.desk.refresh_title(case_id)
        await self._tell_driver(case_id, f"您的案件 <b>{number}</b> 已重新办理（重办），新的办理期限：{due}。")
        await self.desk.alert_supervisors(f"🔁 案件 <b>{number}</b> 重办：{escape(reason)}")
        return f"🔁 已重办，新的办理意见期限 {due}。"

    async def extend(self, action: StaffAction, case_id: int) -> str:
        assert self.desk.auth is not None
        if not await self.desk.auth.is_supervisor(action.user_id):
            logger.warning("Extension of case %s refused: not a supervisor", case_id)
            return "⛔ 延期需要督办人员批准（督办群成员），请联系督办人员操作。"
        days_text, _, reason = action.args.partition(" ")
        if not days_text.isdigit() or not reason.strip():
            return "格式：/extend 天数 理由，例如 /extend 3 需要调取执法记录仪视频"
        with self.deps.sessions.begin() as session:
            case, _ = self._case_view(session, case_id)
            d.extend(session, case, int(days_text), reason.strip(), self._actor(action), self.deps.calendar, utcnow())
            number, due = case.number, t.local_time(case.opinion_due, self.deps.settings.timezone)
        await self._tell_driver(
            case_id, f"您的案件 <b>{number}</b> 办理期限延长至 {due}。原因：{escape(reason.strip())}"
        )
        await self.desk.refresh_title(case_id)
        return f"⏳ 已延期 {days_text} 个工作日，至 {due}。"

    async def reject(self, action: StaffAction, case_id: int) -> str | None:
        key, _, reason = action.args.partition(" ")
        referral = self.deps.referrals.get(key.strip().lower())
        if referral is None:
            return "格式：/reject 渠道 理由，渠道可选：" + "、".join(self.deps.referrals)
        reason = reason.strip() or referral.reason
        with self.deps.sessions.begin() as session:
            case, conversation = self._case_view(session, case_id)
            d.reject(session, case, referral.channel, reason, self._actor(action), utcnow())
            if conversation.handoff_case_id == case.id:
                d.hand_to_bot(session, conversation, None, self._actor(action), utcnow())
            number = case.number
        await self._tell_driver(
            case_id,
            f"关于您的案件 <b>{number}</b>：经审查，该事项不属于本局受理范围（不予受理）。\n"
            f"原因：{escape(reason)}\n建议您联系：{escape(referral.channel)}。",
        )
        await self.desk.post(case_id, f"🚫 不予受理，已告知驾驶员转至{escape(referral.channel)}。")
        await self.desk.refresh_title(case_id)
        await self.desk.set_topic_closed(case_id, True)
        return None

    async def merge(self, action: StaffAction, case_id: int) -> str | None:
        number = normalise_case_number(action.args)
        if number is None:
            return "格式：/merge 案件编号，例如 /merge TS-2026-000123"
        with self.deps.sessions.begin() as session:
            case, conversation = self._case_view(session, case_id)
            target = d.case_by_number(session, number)
            if target is None:
                return f"没有找到案件 {number}。"
            d.merge(session, case, target, self._actor(action), utcnow())
            if conversation.handoff_case_id == case.id:
                d.hand_to_bot(session, conversation, None, self._actor(action), utcnow())
            this, target_id = case.number, target.id
        await self._tell_driver(
            case_id, f"您的案件 <b>{this}</b> 与同类问题合并办理（并入 {number}），办理结果会一并告知您。"
        )
        await self.desk.post(target_id, f"🔗 {this} 已并入本案，答复时会一并告知其反映人。")
        await self.desk.post(case_id, f"🔗 已合并到 {number}，请到该案件话题办理。")
        await self.desk.refresh_title(case_id)
        await self.desk.set_topic_closed(case_id, True)
        return None

    async def hand_back(self, action: StaffAction, case_id: int) -> str:
        with self.deps.sessions.begin() as session:
            case, conversation = self._case_view(session, case_id)
            if conversation.handoff_case_id != case.id:
                return "驾驶员的对话目前不在本案人工处理中。"
            d.hand_to_bot(session, conversation, case, self._actor(action), utcnow())
            number = case.number
        await self._tell_driver(
            case_id,
            f"工作人员已结束人工对话，您可以继续向机器人提问。案件 <b>{number}</b> 仍在办理，有进展会通知您。",
        )
        return "↩️ 已把对话交还机器人；案件仍在办理中。"

    async def identity(self, action: StaffAction, case_id: int) -> str:
        with self.deps.sessions.begin() as session:
            case, _ = self._case_view(session, case_id)
            reporter = session.get(Reporter, case.reporter_id)
            allowed = case.contact_consent
            record_event(
                session,
                case,
                actor=self._actor(action).label,
                action="identity_viewed" if allowed else "identity_refused",
            )
            if not allowed or reporter is None:
                return "🔒 驾驶员未同意提供身份信息，只能使用匿名编号联系。本次查看已记录。"
            identity: ReporterIdentity | None = reporter.identity
            if identity is None:
                return "🔒 反映人的身份信息已按规定删除（保存期满或本人申请），只保留匿名编号。"
            parts = [f"姓名/昵称：{escape(identity.display_name or '—')}"]
            if identity.username:
                parts.append(f"用户名：@{escape(identity.username)}")
            if identity.phone:
                parts.append(f"电话：{escape(identity.phone)}")
        return f"🪪 反映人 {reporter.pseudonym}（驾驶员已同意提供，本次查看已记录）\n" + "\n".join(parts)

    async def export_data(self, action: StaffAction, case_id: int) -> str:
        """A driver's access request, handled by staff: the file goes to the staff member's private chat only."""
        with self.deps.sessions.begin() as session:
            case, _ = self._case_view(session, case_id)
            reporter = session.get(Reporter, case.reporter_id)
            if reporter is None:
                return "没有找到反映人。"
            number, pseudonym, reporter_id = case.number, reporter.pseudonym, reporter.id
            record_event(session, case, actor=self._actor(action).label, action="data_exported", note=action.args)
        body = await asyncio.to_thread(export_person, self.deps, reporter_id)
        assert body is not None
        if await send_file(self.desk.bot, action.user_id, body, f"个人数据_{pseudonym}.json") is None:
            return "⚠️ 请先私聊机器人（发送 /start），再用 /exportdata；文件只私信给申请的工作人员。"
        return f"📦 反映人 {pseudonym}（{number}）的数据已私信给您。本次导出已记录。"

    async def erase_data(self, action: StaffAction, case_id: int) -> str:
        """A driver's deletion request received by staff (letter, phone, counter); the reason is recorded."""
        if not action.args.strip():
            return "请写明申请来源，例如：/erasedata 驾驶员11月27日来电申请"
        with self.deps.sessions.begin() as session:
            case, _ = self._case_view(session, case_id)
            reporter_id = case.reporter_id
            record_event(session, case, actor=self._actor(action).label, action="erase_requested", note=action.args)
        report = await asyncio.to_thread(erase_person, self.deps, reporter_id, utcnow())
        if report.kept_open:
            return (
                f"🗑 已结案件的个人信息已匿名化；在办案件 {'、'.join(report.kept_open)} 办结后，"
                "驾驶员的身份信息和消息记录自动删除。"
            )
        return "🗑 已删除驾驶员的身份信息，消息与案件中的个人信息已匿名化；案件办理记录保留。"

    async def visit(self, action: StaffAction, case_id: int) -> str:
        with self.deps.sessions.begin() as session:
            case, _ = self._case_view(session, case_id)
            if case.state is not CaseState.closed:
                return "只有已办结的案件需要回访。"
            case.return_visit_at = utcnow()
            record_event(
                session, case, actor=self._actor(action).label, action="return_visit", note=action.args or None
            )
        return "☎️ 已记录回访。"
