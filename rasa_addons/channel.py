"""A Rasa input channel that returns the bot's replies together with the parse of the user message.

Rasa's REST channel returns only the replies; the bot must also store each message's intent,
confidence and entities. Parsing twice (``/model/parse`` + ``/webhooks/rest``) doubles the NLU cost,
so this channel runs the message once and reads the parse back from the tracker.

A message id is handled once: the bot sends the same id again when Rasa timed out on it, and running it a
second time would put a form answer into the next slot or file a case twice, so a message already in the
tracker gets its stored replies back instead. The check and the turn hold the sender's lock, so a
repeat that arrives while the first is still running (on any server: Rasa's lock store) waits for it and
is then answered from the tracker.

This module runs inside the Rasa environment (Python 3.10) and must not import app code.
"""

from __future__ import annotations

import hmac
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

RANKING_SIZE = 5


class ParseReturningInput(InputChannel):
    """POST /webhooks/parse_rest/webhook with {sender, message, message_id?, metadata?}.

    Answers {"messages": [...], "parse": {...}, "active_loop": str|null, "requested_slot": str|null}.
    Requests must carry the same token as Rasa's HTTP API (``?token=`` or a Bearer header); without a
    configured token every request is refused.
    """

    def __init__(self, token: str | None = None) -> None:
        self.token = token or os.environ.get("RASA_TOKEN") or None
        if not self.token:
            logger.error("RASA_TOKEN is not set: the parse_rest channel refuses every request")

    @classmethod
    def name(cls) -> str:
        return "parse_rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ParseReturningInput:
        token = (credentials or {}).get("token")
        return cls(token if token and not str(token).startswith("${") else None)

    def _authorised(self, request: Request) -> bool:
        if not self.token:
            return False
        given = request.args.get("token") or ""
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:]
        return hmac.compare_digest(given.encode(), self.token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("parse_rest_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json or {}
            sender = str(body.get("sender") or "")
            text = body.get("message")
            if not sender or not isinstance(text, str):
                return response.json({"error": "sender and message are required"}, status=400)
            message_id = str(body.get("message_id") or uuid.uuid4().hex)
            metadata = body.get("metadata") or {}
            agent = request.app.ctx.agent
            if not agent.is_ready():
                return response.json({"error": "no model loaded"}, status=503)
            # Rasa's own lock (Redis with several servers): the check and the turn are one step for the sender
            async with agent.lock_store.lock(sender):
                messages = _replies_to(await agent.tracker_store.retrieve(sender), message_id, sender)
                if messages is None:
                    collector = CollectingOutputChannel()
                    message = UserMessage(
                        text, collector, sender, input_channel=self.name(), message_id=message_id, metadata=metadata
                    )
                    await agent.processor.handle_message(message)
                    messages = collector.messages
                else:
                    logger.info("Message %s was handled before; its replies are sent again", message_id)
                tracker = await agent.tracker_store.retrieve(sender)
            return response.json(
                {
                    "messages": messages,
                    "parse": _find_parse(tracker, message_id),
                    "active_loop": (tracker.active_loop_name if tracker else None),
                    "requested_slot": (tracker.get_slot("requested_slot") if tracker else None),
                }
            )

        return hook


def _replies_to(tracker: Any, message_id: str, sender: str) -> list[dict[str, Any]] | None:
    """The bot's replies to the user event with ``message_id``; None if there is no such event or it got no reply."""
    if tracker is None:
        return None
    events = list(tracker.events)
    start = next(
        (
            i
            for i in range(len(events) - 1, -1, -1)
            if getattr(events[i], "type_name", None) == "user" and events[i].message_id == message_id
        ),
        None,
    )
    if start is None:
        return None
    replies: list[dict[str, Any]] = []
    for event in events[start + 1 :]:
        kind = getattr(event, "type_name", None)
        if kind == "user":
            break
        if kind == "bot":
            data = {key: value for key, value in (event.data or {}).items() if value}
            replies.append({"recipient_id": sender, "text": event.text, **data})
    # a turn that answered nothing did not finish (the action server was down): it runs again, not replays
    return replies or None


def _find_parse(tracker: Any, message_id: str) -> dict[str, Any]:
    """The parse of the user event with ``message_id`` (a fallback may have reverted later turns)."""
    if tracker is None:
        return {}
    for event in reversed(list(tracker.events)):
        if getattr(event, "type_name", None) == "user" and event.message_id == message_id:
            data = event.parse_data or {}
            ranking: list[dict[str, Any]] = list(data.get("intent_ranking") or [])[:RANKING_SIZE]
            return {
                "intent": data.get("intent") or {},
                "entities": data.get("entities") or [],
                "intent_ranking": ranking,
            }
    return {}
