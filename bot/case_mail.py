"""A driver's messages to their cases: which case a message is for (bureau.addressing), and getting it there.

With a staff group, a message for a case is posted in the case's topic; without one it is stored with the
case, where staff find it. Either way the driver is told what happened to it, and only that.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import select

from bot import desk_texts as t
from bot import texts
from bot.staff_group import StaffGroup
from bot.staff_media import media_item
from bot.updates import Inbound
from bureau import addressing as a
from bureau.deps import Deps
from foundation.clock import utcnow
from foundation.enums import ConversationMode
from storage import conversations as convs
from storage.cases import FINISHED_STATES
from storage.models import Attachment, Case, Conversation, Message, Reporter

logger = logging.getLogger(__name__)
Reply = tuple[str, dict[str, Any] | None]
ASK_AT_MOST = 5  # cases offered as buttons when the driver has to say which one


@dataclass(frozen=True)
class NewMatter:
    """The driver says a message they sent is a new matter: the bot reads it as a new turn."""

    message_id: int
    rasa_texts: tuple[str, ...]


def back_button() -> dict[str, Any]:
    return {"buttons": [{"title": texts.BACK_TO_BOT_BUTTON, "payload": a.BACK_PAYLOAD}]}


def case_buttons(case_id: int, staff: bool) -> dict[str, Any]:
    """Under a receipt or a staff message: add to this case, or (with staff) write to its handlers."""
    return {"rows": a.case_rows(case_id, staff)}


class CaseMail:
    def __init__(self, deps: Deps, group: StaffGroup) -> None:
        self.deps = deps
        self.group = group

    # ------------------------------------------------------------ deciding

    def decide(self, inbound: Inbound, conversation_id: int, form_open: bool, now: datetime) -> a.Decision:
        with self.deps.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            replied = (
                convs.case_of_message(session, conversation_id, inbound.reply_to_message_id)
                if inbound.reply_to_message_id is not None
                else None
            )
            cases = [_ref(case) for case in convs.cases_of_reporter(session, conversation.reporter_id)]
            incoming = a.Incoming(
                kind=inbound.kind,
                text=inbound.text,
                at=now,
                replied_case_id=replied,
                focus_case_id=conversation.focus_case_id if conversation.mode is ConversationMode.with_case else None,
                focus_since=conversation.focus_at,
                form_open=form_open,
            )
        return a.address(incoming, cases)

    # ------------------------------------------------------------ buttons

    async def button(self, inbound: Inbound, conversation_id: int) -> list[Reply] | NewMatter | None:
        """The case buttons (case:add, case:talk, case:bot, case:pick, case:new); None for other updates."""
        data = inbound.text or ""
        if inbound.kind != "button" or not data.startswith("case:"):
            return None
        parts = data.split(":")
        action, numbers = parts[1] if len(parts) > 1 else "", [p for p in parts[2:] if p.isdigit()]
        if action == "bot":
            return self.leave(conversation_id)
        if action == "new" and len(numbers) == 1:
            return self._new_matter(conversation_id, int(numbers[0]))
        if not numbers or action not in ("add", "talk", "pick"):
            return [(texts.BUTTON_EXPIRED, None)]
        case = self._own_open_case(conversation_id, int(numbers[0]))
        if case is None:
            return [(texts.CASE_NOT_OPEN, None)]
        if action == "pick" and len(numbers) == 2:
            return await self._pick(conversation_id, case, int(numbers[1]))
        if action == "talk" and not self.group.enabled:
            return [(texts.NO_STAFF_CHAT.format(number=case.number), None)]
        return self._focus(conversation_id, case, talk=action == "talk")

    def _own_open_case(self, conversation_id: int, case_id: int) -> a.CaseRef | None:
        """The case if it is this driver's and still being handled (forged ids find nothing)."""
        with self.deps.sessions.begin() as session:
            case = session.get(Case, case_id)
            if case is None or case.conversation_id != conversation_id or case.state in FINISHED_STATES:
                return None
            return _ref(case)

    def _focus(self, conversation_id: int, case: a.CaseRef, talk: bool) -> list[Reply]:
        with self.deps.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            convs.focus_on(conversation, case.id, utcnow())
        staff = self.group.enabled
        text = texts.TALK_TO_CASE if talk else (texts.ADD_TO_CASE_STAFF if staff else texts.ADD_TO_CASE)
        return [(text.format(number=case.number), back_button())]

    def leave(self, conversation_id: int) -> list[Reply]:
        with self.deps.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            was = conversation.focus_case_id
            convs.release_focus(conversation)
        return [(texts.BACK_TO_BOT if was else texts.ALREADY_WITH_BOT, None)]

    def _new_matter(self, conversation_id: int, message_id: int) -> list[Reply] | NewMatter:
        with self.deps.sessions.begin() as session:
            row = session.get(Message, message_id)
            if row is None or row.conversation_id != conversation_id or row.direction != "in":
                return [(texts.BUTTON_EXPIRED, None)]
            row.case_id = None
            kinds = {"photo": "/attach_photo", "document": "/attach_photo", "voice": "/attach_voice"}
            media = kinds.get(row.kind)
            words = (row.text or "").strip()
        rasa = tuple(t for t in (media, words) if t)
        return NewMatter(message_id, rasa) if rasa else [(texts.HOW_CAN_I_HELP, None)]

    async def _pick(self, conversation_id: int, case: a.CaseRef, message_id: int) -> list[Reply]:
        with self.deps.sessions.begin() as session:
            row = session.get(Message, message_id)
            if row is None or row.conversation_id != conversation_id or row.direction != "in":
                return [(texts.BUTTON_EXPIRED, None)]
        return await self.deliver(a.ToCase(case.id, "picked"), conversation_id, message_id)

    # ------------------------------------------------------------ delivering

    async def deliver(self, decision: a.ToCase, conversation_id: int, message_id: int) -> list[Reply]:
        """Attach the message to the case, post it in the case's topic if there is a staff group, and say so."""
        now = utcnow()
        with self.deps.sessions.begin() as session:
            case = session.get(Case, decision.case_id)
            message = session.get(Message, message_id)
            conversation = session.get(Conversation, conversation_id)
            assert case is not None and message is not None and conversation is not None
            message.case_id = case.id
            for attachment in session.scalars(select(Attachment).where(Attachment.message_id == message_id)):
                attachment.case_id = case.id
            if conversation.mode is ConversationMode.with_case:
                conversation.focus_at = now
            number = case.number
        relayed = await self._relay(decision.case_id, message_id) if self.group.enabled else False
        return self._acknowledgement(decision, conversation_id, message_id, number, relayed)

    def _acknowledgement(
        self, decision: a.ToCase, conversation_id: int, message_id: int, number: str, relayed: bool
    ) -> list[Reply]:
        text = (texts.SENT_TO_CASE_STAFF if relayed else texts.ADDED_TO_CASE).format(number=number)
        if decision.how == "focus":
            with self.deps.sessions.begin() as session:
                if convs.last_outbound_text(session, conversation_id) == text:
                    return []  # writing on to the same case: told once is enough
            return [(text, back_button())]
        if decision.how in ("fresh", "adding"):  # a guess: let the driver correct it
            wrong = {"title": "不是，这是新问题", "payload": f"case:new:{message_id}"}
            return [(text, {"buttons": [wrong]})]
        return [(text, None)]

    async def _relay(self, case_id: int, message_id: int) -> bool:
        """Post the driver's message in the case's topic; False if it could not be posted now (it is kept)."""
        with self.deps.sessions.begin() as session:
            needs_topic = session.scalar(select(Case.topic_id).where(Case.id == case_id)) is None
        if needs_topic:  # a new case: its topic first (it posts what waits for it, this message included)
            await self.group.escalate_pending()
        with self.deps.sessions.begin() as session:
            case = session.get(Case, case_id)
            row = session.get(Message, message_id)
            assert case is not None and row is not None
            if case.topic_id is None:
                return False
            if row.sent or needs_topic:
                # the topic was opened just now: its card brought the case's photos and its waiting texts
                row.sent = True
                return True
            reporter = session.get(Reporter, case.reporter_id)
            who = reporter.pseudonym if reporter else "驾驶员"
            text = row.text or ""
            shown = t.for_staff(text, case.contact_consent)
            attachments = list(session.scalars(select(Attachment).where(Attachment.message_id == message_id)))
            media = [media_item(att, f"🧑 {who}" + (f"：{shown}" if shown else "")) for att in attachments]
        if media:
            for item in media:
                await self.group.post_media(case_id, item)
        elif text:
            await self.group.post(case_id, f"🧑 <b>{who}</b>：{escape(shown)}")
        with self.deps.sessions.begin() as session:
            row = session.get(Message, message_id)
            if row is not None:
                row.sent = True  # on an inbound message: it reached the topic
        return True

    def ask_which(self, decision: a.AskWhich, conversation_id: int, message_id: int) -> list[Reply]:
        with self.deps.sessions.begin() as session:
            cases = [session.get(Case, case_id) for case_id in decision.case_ids[:ASK_AT_MOST]]
        rows = [
            [{"title": f"{c.number} {_short(c.summary)}", "payload": f"case:pick:{c.id}:{message_id}"}]
            for c in cases
            if c is not None and c.conversation_id == conversation_id
        ]
        rows.append([{"title": "🆕 这是新问题", "payload": f"case:new:{message_id}"}])
        return [(texts.WHICH_CASE, {"rows": rows})]

    def finished_note(self, decision: a.Finished) -> Reply:
        with self.deps.sessions.begin() as session:
            case = session.get(Case, decision.case_id)
            assert case is not None
            return (texts.CASE_FINISHED.format(number=case.number, state=case.state.value), None)


def _ref(case: Case) -> a.CaseRef:
    return a.CaseRef(case.id, case.number, case.created_at, case.state in FINISHED_STATES)


def _short(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
