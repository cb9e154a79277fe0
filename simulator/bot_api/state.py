"""The double's memory: users, chats, messages, files and the updates queue, and the bot's messages."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ipaddress
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from simulator.bot_api.protocol import (
    BOT_USER_ID,
    MAX_CAPTION_LENGTH,
    ApiError,
    Files,
    JsonDict,
    StoredFile,
    bad_request,
    check_reply_markup,
    check_text,
    command_entities,
)
from simulator.bot_api.samples import default_jpeg, default_ogg


@dataclass
class Fault:
    error: ApiError
    times: int
    chat_id: int | None = None  # only calls to this chat count
    skip: int = 0  # matching calls let through before the failures start


@dataclass
class QueuedUpdate:
    update: JsonDict
    protected: bool = False  # injected with an explicit id: delivered at least once regardless of offset
    delivered: bool = False

    @property
    def update_id(self) -> int:
        value = self.update.get("update_id")
        return value if isinstance(value, int) else 0


@dataclass
class Signal:
    """Wakes every current waiter on notify(); waiters re-check their condition afterwards."""

    event: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        self.event.set()
        self.event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), max(timeout, 0.0))


class BotApiState:
    """Everything the double remembers, and the helpers that read and write it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "transport_complaints_bot",
        first_update_id: int | None = None,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"LocalBotApi only listens on loopback addresses, not {host!r}")
        self._host, self._port = host, port
        self.bot_user: JsonDict = {
            "id": BOT_USER_ID,
            "is_bot": True,
            "first_name": "Transport Complaints",
            "username": bot_username,
        }
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._latency = 0.0
        self._faults: dict[str, list[Fault]] = {}
        self._queue: list[QueuedUpdate] = []
        # like Telegram's, update ids keep growing across restarts (a database may outlive this server)
        self._next_update_id = first_update_id if first_update_id is not None else int(time.time() * 1000)
        self._poll_generation = 0
        self.confirmed_update_id = 0
        self._updates_signal, self._sent_signal = Signal(), Signal()
        self._calls: list[JsonDict] = []
        self._sent: list[JsonDict] = []
        self._messages: dict[tuple[int, int], JsonDict] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._chats: dict[int, JsonDict] = {}
        self._users: dict[int, JsonDict] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._callback_counter = itertools.count(1)
        self._open_callbacks: set[str] = set()
        # keyed by ids as the request sent them (a client may send a number as text: then nothing matches)
        self._member_status: dict[tuple[Any, Any], str] = {}
        self._member_rights: dict[tuple[Any, Any], JsonDict] = {}
        self._gone_chats: set[int] = set()
        self.revoked_tokens: set[str] = set()  # answered 401 Unauthorized, as Telegram answers a wrong token
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.webhook: JsonDict = {"url": "", "secret_token": None}
        # with a webhook set, updates go to this sink (see simulator.webhook_proxy) instead of the getUpdates queue
        self.webhook_sink: Callable[[JsonDict], None] | None = None
        self.callback_answers: list[JsonDict] = []
        self.topics: dict[tuple[Any, Any], JsonDict] = {}
        self._blocked: set[int] = set()

    # ------------------------------------------------------------ updates queue

    def _take_update_id(self) -> int:
        update_id, self._next_update_id = self._next_update_id, self._next_update_id + 1
        return update_id

    def _queue_update(self, body: JsonDict) -> int:
        return self._enqueue(QueuedUpdate({"update_id": self._take_update_id(), **body}))

    def _enqueue(self, queued: QueuedUpdate) -> int:
        if self.webhook["url"] and self.webhook_sink is not None:
            self.webhook_sink(copy.deepcopy(queued.update))
            return queued.update_id
        self._queue.append(queued)
        self._updates_signal.notify()
        return queued.update_id

    # ------------------------------------------------------------ users, chats, messages, files

    def _remember_user(self, user_id: int, first_name: str | None, username: str | None) -> JsonDict:
        user = self._users.setdefault(user_id, {"id": user_id, "is_bot": False, "first_name": "司机"})
        if first_name:
            user["first_name"] = first_name
        if username:
            user["username"] = username
        return dict(user)

    def _private_chat(self, user: JsonDict) -> JsonDict:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        chat |= {"username": user["username"]} if "username" in user else {}
        self._chats[user["id"]] = chat
        return chat

    def _group_chat(self, chat_id: int) -> JsonDict:
        return self._chats.setdefault(
            chat_id, {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}", "is_forum": True}
        )

    def _chat_for(self, chat_id: Any) -> JsonDict:
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        if not isinstance(chat_id, int):
            raise bad_request("chat not found") if chat_id is not None else bad_request("chat_id is empty")
        if chat_id in self._gone_chats:
            raise bad_request("chat not found")
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            return self._private_chat(self._remember_user(chat_id, None, None))
        return self._group_chat(chat_id)

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _user_message(self, user: JsonDict, chat: JsonDict, **content: Any) -> JsonDict:
        message = {
            "message_id": self._next_message_id(chat["id"]),
            "from": user,
            "chat": dict(chat),
            "date": int(time.time()),
            **content,
        }
        if entities := command_entities(content.get("text", "")):
            message["entities"] = entities
        self._messages[(chat["id"], message["message_id"])] = message
        return copy.deepcopy(message)

    def _store_file(self, folder: str, name_or_ext: str, data: bytes) -> StoredFile:
        number = next(self._file_counter)
        name = name_or_ext if "." in name_or_ext else f"file_{number}.{name_or_ext}"
        stored = StoredFile(f"file-{number}-{folder}", f"uniq-{number}", f"{folder}/{number}_{name}", data)
        self._files[stored.file_id] = stored
        return stored

    @staticmethod
    def _file_ref(stored: StoredFile) -> JsonDict:
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.data)}

    def _photo_size(self, data: bytes, width: int, height: int) -> JsonDict:
        return {**self._file_ref(self._store_file("photos", "jpg", data)), "width": width, "height": height}

    def _resolve_media(self, value: Any, files: Files, key: str, folder: str, ext: str) -> StoredFile:
        """An upload, an attach:// reference, a known file_id, or a URL (served as default bytes)."""
        if key in files and not isinstance(value, str):
            file_name, data = files[key]
            return self._store_file(folder, file_name or ext, data)
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
            file_name, data = files[value[9:]]
            return self._store_file(folder, file_name or ext, data)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._store_file(folder, ext, default_ogg() if ext == "oga" else default_jpeg())
        raise bad_request("wrong file identifier/HTTP URL specified")

    @staticmethod
    def _callback_datas(message: JsonDict) -> set[str]:
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return {b["callback_data"] for row in rows for b in row if "callback_data" in b}

    def _find_message(self, chat_id: Any, message_id: Any, missing: str) -> JsonDict:
        stored = self._messages.get((chat_id, message_id)) if isinstance(message_id, int) else None
        if stored is None:
            raise bad_request(missing)
        return stored

    # ------------------------------------------------------------ bot messages

    def _bot_message(self, method: str, params: JsonDict, content: JsonDict) -> JsonDict:
        """Create, store and record a message sent by the bot; return it as Telegram would."""
        chat = self._chat_for(params.get("chat_id"))
        if chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        thread_id = params.get("message_thread_id")
        if thread_id is not None and chat.get("is_forum") and (chat["id"], thread_id) not in self.topics:
            raise bad_request("message thread not found")
        if thread_id is not None and self.topics.get((chat["id"], thread_id), {}).get("is_closed"):
            raise bad_request("TOPIC_CLOSED")
        markup = params.get("reply_markup")
        check_reply_markup(markup)
        message: JsonDict = {
            "message_id": self._next_message_id(chat["id"]),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
            **content,
        }
        if thread_id is not None:
            message |= {"message_thread_id": thread_id, "is_topic_message": True}
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if reply := self._reply_target(chat["id"], params.get("reply_parameters")):
            message["reply_to_message"] = reply
        self._messages[(chat["id"], message["message_id"])] = message
        self._sent.append(
            {
                "method": method,
                "chat_id": chat["id"],
                "message_id": message["message_id"],
                "text": content.get("text"),
                "caption": content.get("caption"),
                "parse_mode": params.get("parse_mode"),
                "reply_markup": markup,
                "message_thread_id": thread_id,
                "time": time.monotonic(),
                "message": copy.deepcopy(message),
            }
        )
        self._sent_signal.notify()
        return copy.deepcopy(message)

    def _reply_target(self, chat_id: int, reply_parameters: Any) -> JsonDict | None:
        if not isinstance(reply_parameters, dict) or "message_id" not in reply_parameters:
            return None
        target_chat = reply_parameters.get("chat_id", chat_id)
        stored = self._messages.get((target_chat, reply_parameters["message_id"]))
        if stored is None and not reply_parameters.get("allow_sending_without_reply"):
            raise bad_request("message to be replied not found")
        return {k: v for k, v in stored.items() if k != "reply_to_message"} if stored else None

    def _caption(self, params: JsonDict) -> JsonDict:
        if params.get("caption") is None:
            return {}
        check_text(params["caption"], params.get("parse_mode"), limit=MAX_CAPTION_LENGTH, what="caption")
        return {"caption": params["caption"]}
