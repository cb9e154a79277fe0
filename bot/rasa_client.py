"""HTTP client for our Rasa channel: one call returns the replies and the parse of the message."""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from foundation.keys import owner_token
from foundation.metrics import metrics

logger = logging.getLogger(__name__)

CHANNEL_PATH = "/webhooks/parse_rest/webhook"
DOWN_FOR = 5.0  # seconds a server that refused a connection is tried last


class RasaUnavailable(RuntimeError):
    """Rasa (or its action server) did not answer; the message stays queued for later."""


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)  # e.g. {"request_location": "📍 发送我的位置"}

    @property
    def markup(self) -> dict[str, Any] | None:
        return ({"buttons": self.buttons} if self.buttons else {}) | self.custom or None


@dataclass(frozen=True)
class RasaTurn:
    replies: list[BotReply]
    intent: str | None
    confidence: float | None
    entities: list[dict[str, Any]]
    active_loop: str | None


def _best_intent(parse: dict[str, Any]) -> tuple[str | None, float | None]:
    """The intent Rasa chose; for a fallback, keep `nlu_fallback` but report the best real confidence."""
    intent = parse.get("intent") or {}
    name = intent.get("name")
    confidence = intent.get("confidence")
    if name == "nlu_fallback":
        for entry in parse.get("intent_ranking") or []:
            if entry.get("name") != "nlu_fallback":
                confidence = entry.get("confidence")
                break
    return name, (float(confidence) if confidence is not None else None)


def parse_turn(body: dict[str, Any]) -> RasaTurn:
    replies: list[BotReply] = []
    for m in body.get("messages") or []:
        custom = m.get("custom") if isinstance(m.get("custom"), dict) else {}
        if m.get("text") or m.get("buttons"):
            replies.append(BotReply(str(m.get("text") or ""), list(m.get("buttons") or []), custom))
        elif custom and replies:  # Rasa sends an utterance's custom part as its own message
            last = replies[-1]
            replies[-1] = BotReply(last.text, last.buttons, last.custom | custom)
    parse = body.get("parse") or {}
    intent, confidence = _best_intent(parse)
    return RasaTurn(
        replies=replies,
        intent=intent,
        confidence=confidence,
        entities=[
            {k: e.get(k) for k in ("entity", "value", "start", "end", "extractor")} for e in parse.get("entities") or []
        ],
        active_loop=body.get("active_loop"),
    )


class RasaClient:
    """Talks to one or more Rasa servers; timeouts are deliberate so a slow Rasa never blocks the bot.

    With several servers (they share the tracker store and the Redis lock store) turns go round-robin, and a
    server that refuses connections is skipped for a while. Only a refused connection moves a turn to the
    next server: after a timeout Rasa may have taken the turn, so it is not sent to a second server.
    """

    def __init__(
        self,
        base_urls: str | tuple[str, ...],
        token: str,
        timeout: float = 10.0,
        action_server_url: str | None = None,
        owner_key: bytes = b"",
    ) -> None:
        urls = (base_urls,) if isinstance(base_urls, str) else base_urls
        if not urls:
            raise ValueError("at least one Rasa URL is needed")
        self._clients = [
            httpx.AsyncClient(
                base_url=url,
                timeout=httpx.Timeout(timeout, connect=2.0),
                headers={"Authorization": f"Bearer {token}"},
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            )
            for url in urls
        ]
        self._owner_key = owner_key  # signs each sender id: the actions act only for senders the bot vouched for
        self._down_until = [0.0] * len(urls)
        self._next = itertools.count()
        self._action_server_url = action_server_url
        self._probe = httpx.AsyncClient(timeout=2.0)  # no Rasa token: it is not the action server's business

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()
        await self._probe.aclose()

    async def actions_alive(self) -> bool:
        """Whether the action server answers its health check (Rasa answers nothing when it cannot reach it)."""
        if self._action_server_url is None:
            return True
        try:
            response = await self._probe.get(f"{self._action_server_url}/health")
        except httpx.HTTPError:
            metrics().action_server_failures.inc()
            return False
        if response.status_code != 200:
            metrics().action_server_failures.inc()
        return response.status_code == 200

    def _order(self) -> list[int]:
        """Servers to try, starting round-robin; those that recently refused connections go last."""
        start = next(self._next) % len(self._clients)
        order = [(start + i) % len(self._clients) for i in range(len(self._clients))]
        now = time.monotonic()
        return sorted(order, key=lambda i: self._down_until[i] > now)

    async def send(self, sender: str, text: str, message_id: str, metadata: dict[str, Any] | None = None) -> RasaTurn:
        signed = (metadata or {}) | {"owner": owner_token(self._owner_key, sender)}
        payload = {"sender": sender, "message": text, "message_id": message_id, "metadata": signed}
        error = "no Rasa server"
        for index in self._order():
            try:
                response = await self._clients[index].post(CHANNEL_PATH, json=payload)
            except httpx.ConnectError as exc:
                metrics().rasa_failures.labels(reason="connect").inc()
                self._down_until[index] = time.monotonic() + DOWN_FOR
                error = f"Rasa did not answer: {type(exc).__name__}"
                continue
            except httpx.HTTPError as exc:
                metrics().rasa_failures.labels(reason=type(exc).__name__).inc()
                raise RasaUnavailable(f"Rasa did not answer: {type(exc).__name__}") from exc
            if response.status_code >= 500 or response.status_code in (401, 404):
                metrics().rasa_failures.labels(reason=f"http {response.status_code}").inc()
                raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
            response.raise_for_status()
            self._down_until[index] = 0.0
            return parse_turn(response.json())
        raise RasaUnavailable(error)
