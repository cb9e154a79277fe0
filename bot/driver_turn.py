"""One message from a driver, answered: stored first, then understood, then the replies from the outbox.

Who answers, in this order: the driver's privacy requests, their feedback on a case (ratings, consent,
a rating comment, their phone), the case buttons, the bot's fixed answers (commands, stickers), the graded
warnings, then addressing — a message for one of the driver's cases goes to that case — and otherwise
the dialogue model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram.error import NetworkError, RetryAfter

from bot import texts
from bot.alerts import WarningAlerts
from bot.case_mail import CaseMail, NewMatter
from bot.feedback import DriverFeedback
from bot.notice_reader import NOTHING_PAYLOAD
from bot.outbox import Reply, queue
from bot.privacy import PrivacyRequests
from bot.rasa_client import RasaClient, RasaTurn, RasaUnavailable
from bot.sending import ChatUnavailable
from bot.updates import Inbound
from bureau import addressing as a
from bureau.deps import Deps
from foundation.clock import as_utc, utcnow
from foundation.enums import ConversationMode
from storage import conversations as convs
from storage.cases import CaseNotFound, case_for_reporter
from storage.models import Conversation, Message

logger = logging.getLogger(__name__)

SESSION_TURNS = 30
RESUME_NOTICE_AFTER = timedelta(hours=6)
WARNING_KINDS = ("text", "photo", "voice", "document")
WAIT_ERRORS = (NetworkError, RetryAfter)  # Telegram is away or asks us to slow down: the update waits


@dataclass(frozen=True)
class ConversationState:
    id: int
    chat_id: int
    rasa_sender_id: str
    mode: ConversationMode
    active_loop: str | None
    session_turns: int
    previous_inbound_at: datetime | None


def state_of(conversation: Conversation, chat_id: int) -> ConversationState:
    previous = conversation.last_inbound_at
    return ConversationState(
        id=conversation.id,
        chat_id=chat_id,
        rasa_sender_id=conversation.rasa_sender_id,
        mode=conversation.mode,
        active_loop=conversation.active_loop,
        session_turns=conversation.session_turns,
        previous_inbound_at=as_utc(previous) if previous else None,
    )


class DriverTurn:
    def __init__(
        self,
        deps: Deps,
        rasa: RasaClient,
        privacy: PrivacyRequests,
        feedback: DriverFeedback,
        mail: CaseMail,
        alerts: WarningAlerts,
    ) -> None:
        self._deps = deps
        self._rasa = rasa
        self._privacy = privacy
        self._feedback = feedback
        self._mail = mail
        self._alerts = alerts

    async def replies(
        self, inbound: Inbound, state: ConversationState, update_id: int, message_id: int
    ) -> tuple[list[Reply], RasaTurn | None]:
        """The replies to one stored message, and Rasa's parse when Rasa read it."""
        own = await self._privacy.intercept(inbound, state.id, state.chat_id)
        if own is None:
            replied = self._replied_case(inbound, state.id)
            own = await self._feedback.intercept(inbound, state.id, replied)
        if own is not None:
            return own, None
        if inbound.kind == "button" and inbound.text == NOTHING_PAYLOAD:
            return [(texts.NOTICE_NO_HELP, None)], None
        button = await self._mail.button(inbound, state.id)
        if isinstance(button, NewMatter):
            return await self._rasa_turn(state, update_id, button.rasa_texts, "text", [])
        if button is not None:
            return button, None
        if inbound.direct_reply is not None:
            return [(inbound.direct_reply, None)], None
        replies: list[Reply] = []
        if inbound.kind in WARNING_KINDS:
            replies += await self._alerts.assess(state.id, message_id, inbound.text)
        decision = self._mail.decide(inbound, state.id, state.active_loop is not None, utcnow())
        addressed = await self._addressed(decision, state, message_id)
        if addressed is not None:
            return replies + addressed, None
        if isinstance(decision, a.Finished):
            replies.append(self._mail.finished_note(decision))
        return await self._rasa_turn(state, update_id, inbound.rasa_texts, inbound.kind, replies)

    def _replied_case(self, inbound: Inbound, conversation_id: int) -> int | None:
        if inbound.reply_to_message_id is None:
            return None
        with self._deps.sessions.begin() as session:
            return convs.case_of_message(session, conversation_id, inbound.reply_to_message_id)

    async def _addressed(self, decision: a.Decision, state: ConversationState, message_id: int) -> list[Reply] | None:
        """The replies when the message is for a case (or leaves one); None when the bot should read it."""
        if isinstance(decision, a.ToCase):
            try:
                return await self._mail.deliver(decision, state.id, message_id)
            except ChatUnavailable:
                logger.error("The bot cannot post in the staff group (removed, or no right to post); message kept")
                return [(texts.SAVED_FOR_CASE, None)]
        if isinstance(decision, a.AskWhich):
            return self._mail.ask_which(decision, state.id, message_id)
        if isinstance(decision, a.LeaveCase):
            return self._mail.leave(state.id)
        if isinstance(decision, a.ToBot) and decision.focus_expired:
            self._mail.leave(state.id)  # silently: the driver wrote to the bot after a long pause
        return None

    async def _rasa_turn(
        self, state: ConversationState, update_id: int, rasa_texts: tuple[str, ...], kind: str, replies: list[Reply]
    ) -> tuple[list[Reply], RasaTurn | None]:
        if (
            state.active_loop
            and state.previous_inbound_at
            and utcnow() - state.previous_inbound_at > RESUME_NOTICE_AFTER
        ):
            replies.append((texts.RESUMED_FORM, None))
        if state.active_loop is None and state.session_turns >= SESSION_TURNS:
            await self._rasa.send(state.rasa_sender_id, "/session_start", f"{update_id}-session")
        turns: list[RasaTurn] = []
        for index, text in enumerate(rasa_texts):
            group = self._mail.group
            metadata = {
                "update_id": update_id,
                "kind": kind,
                "staff_group": group.enabled,
                "alerts_to": group.alerts_go_to,
            }
            turns.append(await self._rasa.send(state.rasa_sender_id, text, f"{update_id}-{index}", metadata))
            replies.extend((r.text, r.markup) for r in turns[-1].replies)
        if not turns:
            return replies, None
        if not any(turn.replies for turn in turns):
            if not await self._rasa.actions_alive():  # wait for it, like for Rasa itself
                raise RasaUnavailable("the action server does not answer")
            logger.error("Rasa answered update %s with nothing", update_id)
            replies.append((texts.NOT_UNDERSTOOD_NOW, None))
        # the message's parse is its first turn's; the form state is the last turn's
        first = turns[0]
        return replies, RasaTurn(first.replies, first.intent, first.confidence, first.entities, turns[-1].active_loop)

    def store_replies(
        self, state: ConversationState, message_id: int, replies: list[Reply], turn: RasaTurn | None
    ) -> None:
        """The replies into the outbox, each tied to its case; the parse and the form state on the message."""
        with self._deps.sessions.begin() as session:
            message = session.get(Message, message_id)
            conversation = session.get(Conversation, state.id)
            assert message is not None and conversation is not None
            for text, markup in replies:
                case_id = self._case_of_reply(session, conversation, markup)
                queue(session, state.id, [(text, _without_case(markup))], answers=message, case_id=case_id)
            if turn is not None:
                message.intent, message.confidence, message.entities = turn.intent, turn.confidence, turn.entities
                reset = state.active_loop is None and state.session_turns >= SESSION_TURNS
                conversation.session_turns = 1 if reset else conversation.session_turns + 1
                conversation.active_loop = turn.active_loop
                fallback = turn.intent == "nlu_fallback"
                conversation.low_confidence_streak = conversation.low_confidence_streak + 1 if fallback else 0

    @staticmethod
    def _case_of_reply(session: Any, conversation: Conversation, markup: dict[str, Any] | None) -> int | None:
        """A reply names its case by id (the bot's own) or by number (an action's receipt)."""
        if not markup:
            return None
        if isinstance(markup.get("case_id"), int):
            return int(markup["case_id"])
        number = markup.get("case")
        if not isinstance(number, str):
            return None
        try:
            return case_for_reporter(session, number, conversation.reporter_id).id
        except CaseNotFound:
            return None


def _without_case(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    if not markup:
        return markup
    rest = {key: value for key, value in markup.items() if key not in ("case", "case_id")}
    return rest or None
