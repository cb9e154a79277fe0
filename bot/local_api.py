"""A small local stand-in for the Telegram Bot API, for tests, benchmarks and terminal chats.

python-telegram-bot talks to it over plain HTTP on 127.0.0.1::

    async with LocalBotApi() as api:
        builder = ApplicationBuilder().token("1:x").base_url(api.base_url)
        app = builder.base_file_url(api.base_file_url).build()
        ...  # start polling
        await api.send_text(42, "/start")
        replies = await api.wait_sent(42)

Request bodies are accepted the way python-telegram-bot sends them (urlencoded forms whose
non-string values are JSON encoded, multipart for uploads) as well as JSON and query strings.
Simulated users queue updates that ``getUpdates`` hands out with Telegram's offset and long-poll
semantics; everything the bot sends is recorded for inspection.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import html
import inspect
import ipaddress
import itertools
import json
import logging
import mimetypes
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

JsonDict = dict[str, Any]
Files = dict[str, tuple[str, bytes]]

BOT_USER_ID = 7_000_000_001
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_LONG_POLL = 50.0
HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "span", "blockquote"}
)
# Form fields that are plain strings; every other form value is JSON decoded when possible.
STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "name",
        "callback_query_id",
        "file_id",
        "photo",
        "voice",
        "document",
        "action",
        "icon_custom_emoji_id",
        "language_code",
        "title",
        "description",
        "inline_message_id",
        "ip_address",
        "emoji",
    }
)
ADMIN_FLAGS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
    "can_manage_topics",
)
RESTRICTED_FLAGS = (
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_send_messages",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_manage_topics",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_edit_tag",
    "can_react_to_messages",
)


class ApiError(Exception):
    """A Telegram-style error answer: HTTP status = error_code."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def payload(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes

    def as_file(self) -> JsonDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class _Fault:
    error: ApiError
    times: int


@dataclass
class _Queued:
    update: JsonDict
    protected: bool = False  # injected with an explicit id: delivered at least once regardless of offset
    delivered: bool = False

    @property
    def update_id(self) -> int:
        value = self.update.get("update_id")
        return value if isinstance(value, int) else 0


@dataclass
class _Signal:
    """Wakes every current waiter on notify(); waiters re-check their condition afterwards."""

    event: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        self.event.set()
        self.event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), max(timeout, 0.0))


# ---------------------------------------------------------------- helpers without state


def check_text(text: Any, parse_mode: Any, *, limit: int, what: str) -> None:
    """Reject text the way Telegram does: bad HTML, empty or too long after entity parsing."""
    visible = str(text or "")
    if str(parse_mode or "").upper() == "HTML":
        visible = html_visible_text(visible)
    if what == "text" and not visible.strip():
        raise bad_request("message text is empty")
    if len(visible) > limit:
        raise bad_request("message is too long" if what == "text" else "message caption is too long")


def html_visible_text(text: str) -> str:
    """Validate Telegram HTML (supported tags, properly nested and closed); return the plain text."""
    stack: list[str] = []
    for match in re.finditer(r"<[^>]*>?", text):
        tag, offset = match.group(), len(text[: match.start()].encode())
        name_match = re.match(r"</?([A-Za-z][\w-]*)", tag)
        name = name_match.group(1).lower() if name_match else ""
        if not tag.endswith(">"):
            raise bad_request(f"can't parse entities: Unclosed start tag at byte offset {offset}")
        if name not in HTML_TAGS:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}')
        if not tag.startswith("</"):
            stack.append(name)
        elif not stack or stack[-1] != name:
            expected = f"</{stack[-1]}>" if stack else "nothing"
            raise bad_request(
                f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                f'expected "{expected}", found "</{name}>"'
            )
        else:
            stack.pop()
    if stack:
        raise bad_request(f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def check_reply_markup(markup: Any) -> None:
    for row in (markup or {}).get("inline_keyboard", []) if isinstance(markup, dict) else []:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")


def command_entities(text: str) -> list[JsonDict]:
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]


def decode_form_value(key: str, value: str) -> Any:
    if key in STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def member_object(user: JsonDict, status: str) -> JsonDict:
    """A ChatMember with the fields python-telegram-bot requires for that status."""
    member: JsonDict = {"user": user, "status": status}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member |= dict.fromkeys(ADMIN_FLAGS, True) | {"can_be_edited": False, "is_anonymous": False}
    elif status == "restricted":
        member |= dict.fromkeys(RESTRICTED_FLAGS, False) | {"is_member": True, "until_date": 0}
    elif status == "kicked":
        member["until_date"] = 0
    return member


@functools.cache
def default_jpeg() -> bytes:
    """An 8x8 mid-grey baseline JPEG (DC-only, one-symbol Huffman tables)."""

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">HH", marker, len(body) + 2) + body

    single_code = bytes([1] + [0] * 15) + b"\x00"  # one code of length 1 for symbol 0
    return b"".join(
        [
            b"\xff\xd8",
            segment(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            segment(0xFFDB, b"\x00" + b"\x01" * 64),
            segment(0xFFC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00"),
            segment(0xFFC4, b"\x00" + single_code),
            segment(0xFFC4, b"\x10" + single_code),
            segment(0xFFDA, b"\x01\x01\x00\x00\x3f\x00"),
            b"\x3f\xff\xd9",  # DC diff 0 + EOB, padded with ones; then EOI
        ]
    )


@functools.cache
def default_ogg() -> bytes:
    """A 20 ms silent mono Ogg Opus stream (OpusHead, OpusTags, one audio page)."""

    def crc(data: bytes) -> int:
        value = 0
        for byte in data:
            value ^= byte << 24
            for _ in range(8):
                value = ((value << 1) ^ 0x04C11DB7 if value & 0x80000000 else value << 1) & 0xFFFFFFFF
        return value

    def page(packet: bytes, seq: int, granule: int, flags: int) -> bytes:
        header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, 0x4C4F4341, seq, 0, 1)
        raw = header + bytes([len(packet)]) + packet
        return raw[:22] + struct.pack("<I", crc(raw)) + raw[26:]

    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 9) + b"local_api" + struct.pack("<I", 0)
    return page(head, 0, 0, 2) + page(tags, 1, 0, 0) + page(b"\xf8\xff\xfe", 2, 312 + 960, 4)


# ---------------------------------------------------------------- the server


class LocalBotApi:
    """Telegram Bot API double on aiohttp; see the module docstring."""

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
        self._faults: dict[str, list[_Fault]] = {}
        self._queue: list[_Queued] = []
        # like Telegram's, update ids keep growing across restarts (a database may outlive this server)
        self._next_update_id = first_update_id if first_update_id is not None else int(time.time() * 1000)
        self._poll_generation = 0
        self.confirmed_update_id = 0
        self._updates_signal, self._sent_signal = _Signal(), _Signal()
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
        self._member_status: dict[tuple[int, int], str] = {}
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.webhook: JsonDict = {"url": "", "secret_token": None}
        # with a webhook set, updates go to this sink (see bot.local_webhook) instead of the getUpdates queue
        self.webhook_sink: Callable[[JsonDict], None] | None = None
        self.callback_answers: list[JsonDict] = []
        self.topics: dict[tuple[int, int], JsonDict] = {}
        self._blocked: set[int] = set()
        self._methods: dict[str, tuple[str, Callable[[JsonDict, Files], Any]]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle_bot_request)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file_request)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._port = self._runner.addresses[0][1]
        logger.info("Local Bot API listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._closing = True
        self._updates_signal.notify()  # release long polls so shutdown does not wait for them
        await self._runner.cleanup()
        self._runner = None
        logger.info("Local Bot API stopped")

    async def __aenter__(self) -> LocalBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self._host}:{self._port}/file/bot"

    # ------------------------------------------------------------ test controls and observation

    def fail_next(
        self, method: str, error_code: int = 500, description: str = "", retry_after: int | None = None, times: int = 1
    ) -> None:
        """Make the next `times` calls of `method` fail; 429 answers carry parameters.retry_after.

        An empty description becomes Telegram's usual text for that error code.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if not description:
            description = (
                f"Too Many Requests: retry after {retry_after}" if error_code == 429 else HTTPStatus(error_code).phrase
            )
        fault = _Fault(ApiError(error_code, description, retry_after), times)
        self._faults.setdefault(method.lower(), []).append(fault)

    def set_latency(self, seconds: float) -> None:
        self._latency = max(0.0, seconds)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        self._member_status[(chat_id, user_id)] = status

    def sent(self, chat_id: int | None = None) -> list[JsonDict]:
        """Messages the bot sent, oldest first: method, chat_id, message_id, text, caption, parse_mode,
        reply_markup, message_thread_id, time (time.monotonic() on arrival) and the full message."""
        return [dict(s) for s in self._sent if chat_id is None or s["chat_id"] == chat_id]

    async def wait_sent(self, chat_id: int, count: int = 1, *, after: int = 0, timeout: float = 15.0) -> list[JsonDict]:
        """Wait for at least `count` messages to `chat_id` at index >= `after`; return all of those."""
        deadline = time.monotonic() + timeout
        while len(found := self.sent(chat_id)[after:]) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                summary = [(s["method"], s.get("text") or s.get("caption")) for s in self.sent(chat_id)]
                raise TimeoutError(
                    f"Expected {count} message(s) to chat {chat_id} after index {after} "
                    f"within {timeout}s, got {len(found)}; all sent to it: {summary}"
                )
            await self._sent_signal.wait(remaining)
        return found

    def calls(self, method: str | None = None) -> list[JsonDict]:
        """Every bot request (also failed ones): method, decoded params, time (time.monotonic())."""
        return [c for c in self._calls if method is None or c["method"].lower() == method.lower()]

    def pending_updates(self) -> list[JsonDict]:
        return [copy.deepcopy(q.update) for q in self._queue]

    def message(self, chat_id: int, message_id: int) -> JsonDict | None:
        """The current state (after edits) of a message the server knows about."""
        stored = self._messages.get((chat_id, message_id))
        return copy.deepcopy(stored) if stored else None

    # ------------------------------------------------------------ simulated users

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        first_name: str = "司机",
        username: str | None = None,
    ) -> int:
        user = self._remember_user(user_id, first_name, username)
        if chat_id is None or chat_id == user_id:
            chat = self._private_chat(user)
        else:
            chat = self._chats.get(chat_id) or self._group_chat(chat_id)
        return self._queue_update({"message": self._user_message(user, chat, text=text)})

    async def send_photo(self, user_id: int, *, caption: str | None = None, data: bytes | None = None) -> int:
        blob = data if data is not None else default_jpeg()
        sizes = [self._photo_size(blob, 90, 90), self._photo_size(blob, 800, 600)]
        extra = {"photo": sizes} | ({"caption": caption} if caption is not None else {})
        return await self._send_private(user_id, extra)

    async def send_voice(self, user_id: int, *, duration: int = 3, data: bytes | None = None) -> int:
        stored = self._store_file("voice", "oga", data if data is not None else default_ogg())
        voice = {**self._file_ref(stored), "duration": duration, "mime_type": "audio/ogg"}
        return await self._send_private(user_id, {"voice": voice})

    async def send_location(self, user_id: int, latitude: float, longitude: float) -> int:
        return await self._send_private(user_id, {"location": {"latitude": latitude, "longitude": longitude}})

    async def send_contact(self, user_id: int, phone_number: str, *, own: bool = True) -> int:
        """The user shares a contact card (their own, as a request_contact button sends, unless own=False)."""
        contact = {"phone_number": phone_number, "first_name": "司机", "user_id": user_id if own else user_id + 1}
        return await self._send_private(user_id, {"contact": contact})

    async def send_sticker(self, user_id: int, emoji: str = "😀") -> int:
        stored = self._store_file("stickers", "webp", b"RIFF\x00\x00\x00\x00WEBP")
        sticker = {
            **self._file_ref(stored),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return await self._send_private(user_id, {"sticker": sticker})

    async def send_document(self, user_id: int, file_name: str, data: bytes) -> int:
        stored = self._store_file("documents", file_name, data)
        mime = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        document = {**self._file_ref(stored), "file_name": file_name, "mime_type": mime}
        return await self._send_private(user_id, {"document": document})

    async def edit_text(self, user_id: int, message_id: int, new_text: str, *, chat_id: int | None = None) -> int:
        stored = self._messages.get((chat_id or user_id, message_id))
        if stored is None or stored.get("from", {}).get("id") != user_id:
            raise ValueError(f"user {user_id} has no message {message_id} in chat {chat_id or user_id}")
        stored.update(text=new_text, edit_date=int(time.time()))
        stored.pop("entities", None)
        if entities := command_entities(new_text):
            stored["entities"] = entities
        return self._queue_update({"edited_message": copy.deepcopy(stored)})

    async def press_button(self, user_id: int, message: JsonDict, callback_data: str, *, check: bool = True) -> int:
        """Press an inline button of a bot message (a sent() record or a Message dict)."""
        original = message.get("message", message)
        current = self._messages.get((original["chat"]["id"], original["message_id"]), original)
        if check and callback_data not in self._callback_datas(current):
            raise ValueError(
                f"message {current['message_id']} has no button with callback_data "
                f"{callback_data!r}; it has {sorted(self._callback_datas(current))}"
            )
        query_id = f"cbq-{next(self._callback_counter)}"
        self._open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": self._remember_user(user_id, None, None),
            "chat_instance": f"ci-{current['chat']['id']}",
            "message": copy.deepcopy(current),
            "data": callback_data,
        }
        return self._queue_update({"callback_query": query})

    async def send_group_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        message_thread_id: int | None = None,
        is_topic_message: bool = True,
    ) -> int:
        user = self._remember_user(user_id, None, None)
        extra: JsonDict = {}
        if message_thread_id is not None:
            extra = {"message_thread_id": message_thread_id} | ({"is_topic_message": True} if is_topic_message else {})
        return self._queue_update({"message": self._user_message(user, self._group_chat(chat_id), text=text, **extra)})

    async def send_group_photo(
        self,
        chat_id: int,
        user_id: int,
        *,
        message_thread_id: int,
        data: bytes | None = None,
        caption: str | None = None,
    ) -> int:
        """A staff member posts a photo in a forum topic."""
        user = self._remember_user(user_id, None, None)
        blob = data if data is not None else default_jpeg()
        content: JsonDict = {"photo": [self._photo_size(blob, 90, 90), self._photo_size(blob, 800, 600)]}
        content |= {"caption": caption} if caption is not None else {}
        extra = {"message_thread_id": message_thread_id, "is_topic_message": True}
        return self._queue_update({"message": self._user_message(user, self._group_chat(chat_id), **content, **extra)})

    def delete_topic(self, chat_id: int, message_thread_id: int) -> None:
        """An administrator deletes a forum topic by hand (Telegram sends the bot no update for it)."""
        del self.topics[(chat_id, message_thread_id)]

    def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: every send to their chat fails with 403 from now on."""
        self._blocked.add(user_id)

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    async def inject_raw(self, update: JsonDict) -> int:
        """Queue `update` as-is; with an explicit update_id it is delivered at least once."""
        update = copy.deepcopy(update)
        protected = "update_id" in update
        if not protected:
            update["update_id"] = self._take_update_id()
        elif isinstance(update["update_id"], int):
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        return self._enqueue(_Queued(update, protected=protected))

    # ------------------------------------------------------------ HTTP layer

    async def _handle_bot_request(self, request: web.Request) -> web.Response:
        raw_method = request.match_info["method"]
        name, handler = self._methods.get(raw_method.lower(), (raw_method, None))
        try:
            params, files = await self._read_params(request)
        except ValueError as exc:
            return web.json_response(bad_request(f"can't parse request: {exc}").payload(), status=400)
        logged = params | {k: {"filename": f, "size": len(d)} for k, (f, d) in files.items()}
        self._calls.append({"method": name, "params": logged, "time": time.monotonic()})
        logger.debug("Bot API call %s %s", name, logged)
        if self._latency:
            await asyncio.sleep(self._latency)
        try:
            self._raise_injected_fault(name)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = handler(params, files)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            return web.json_response(error.payload(), status=error.code)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file_request(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        stored = next((f for f in self._files.values() if f.file_path == path), None)
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[JsonDict, Files]:
        params: JsonDict = {k: decode_form_value(k, v) for k, v in request.query.items()}
        files: Files = {}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            return params | body, files
        if request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                else:
                    params[key] = decode_form_value(key, str(value))
        return params, files

    def _raise_injected_fault(self, method: str) -> None:
        faults = self._faults.get(method.lower())
        if not faults:
            return
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        raise fault.error

    # ------------------------------------------------------------ updates queue

    def _take_update_id(self) -> int:
        update_id, self._next_update_id = self._next_update_id, self._next_update_id + 1
        return update_id

    def _queue_update(self, body: JsonDict) -> int:
        return self._enqueue(_Queued({"update_id": self._take_update_id(), **body}))

    def _enqueue(self, queued: _Queued) -> int:
        if self.webhook["url"] and self.webhook_sink is not None:
            self.webhook_sink(copy.deepcopy(queued.update))
            return queued.update_id
        self._queue.append(queued)
        self._updates_signal.notify()
        return queued.update_id

    def _apply_offset(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            self._queue = self._queue[offset:]
            return
        self.confirmed_update_id = max(self.confirmed_update_id, offset - 1)
        self._queue = [q for q in self._queue if q.update_id >= offset or (q.protected and not q.delivered)]

    async def _get_updates(self, params: JsonDict, _files: Files) -> list[JsonDict]:
        if self.webhook["url"]:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.notify()  # an older long poll still waiting is terminated below
        self._apply_offset(int(params["offset"]) if params.get("offset") is not None else None)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), MAX_LONG_POLL)
        while not self._queue and not self._closing and time.monotonic() < deadline:
            await self._updates_signal.wait(deadline - time.monotonic())
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
        batch = sorted(self._queue, key=lambda q: q.update_id)[:limit]
        for queued in batch:
            queued.delivered = True
        return [copy.deepcopy(q.update) for q in batch]

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

    async def _send_private(self, user_id: int, content: JsonDict) -> int:
        user = self._remember_user(user_id, None, None)
        chat = self._chats.get(user_id) or self._private_chat(user)
        return self._queue_update({"message": self._user_message(user, chat, **content)})

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

    def _send_message(self, params: JsonDict, _files: Files) -> JsonDict:
        check_text(params.get("text"), params.get("parse_mode"), limit=MAX_TEXT_LENGTH, what="text")
        return self._bot_message("sendMessage", params, {"text": str(params["text"])})

    def _send_photo(self, params: JsonDict, files: Files) -> JsonDict:
        stored = self._resolve_media(params.get("photo"), files, "photo", "photos", "jpg")
        sizes = [
            {**self._file_ref(stored), "width": 90, "height": 90},
            {**self._file_ref(stored), "width": 800, "height": 600},
        ]
        return self._bot_message("sendPhoto", params, {"photo": sizes, **self._caption(params)})

    def _send_voice(self, params: JsonDict, files: Files) -> JsonDict:
        stored = self._resolve_media(params.get("voice"), files, "voice", "voice", "oga")
        voice = self._file_ref(stored) | {"duration": int(params.get("duration") or 1), "mime_type": "audio/ogg"}
        return self._bot_message("sendVoice", params, {"voice": voice, **self._caption(params)})

    def _send_document(self, params: JsonDict, files: Files) -> JsonDict:
        stored = self._resolve_media(params.get("document"), files, "document", "documents", "bin")
        document = {**self._file_ref(stored), "file_name": stored.file_path.split("_", 1)[-1]}
        return self._bot_message("sendDocument", params, {"document": document, **self._caption(params)})

    def _send_location(self, params: JsonDict, _files: Files) -> JsonDict:
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        return self._bot_message("sendLocation", params, {"location": location})

    def _send_media_group(self, params: JsonDict, files: Files) -> list[JsonDict]:
        group_id, messages = f"mg-{next(self._file_counter)}", []
        for item in params.get("media") or []:
            kind = "document" if item.get("type") == "document" else "photo"
            stored = self._resolve_media(item.get("media"), files, "", f"{kind}s", "jpg")
            media: Any = self._file_ref(stored)
            media = [media | {"width": 800, "height": 600}] if kind == "photo" else media
            content = {kind: media, "media_group_id": group_id} | self._caption(item)
            messages.append(self._bot_message("sendMediaGroup", params, content))
        return messages

    def _copy_message(self, params: JsonDict, _files: Files) -> JsonDict:
        source = self._find_message(params.get("from_chat_id"), params.get("message_id"), "message to copy not found")
        content = self._copied_content(source, keep_markup=False) | self._caption(params)
        return {"message_id": self._bot_message("copyMessage", params, content)["message_id"]}

    def _forward_message(self, params: JsonDict, _files: Files) -> JsonDict:
        source = self._find_message(
            params.get("from_chat_id"), params.get("message_id"), "message to forward not found"
        )
        origin = {"type": "user", "date": source["date"], "sender_user": source["from"]}
        content = self._copied_content(source, keep_markup=True) | {"forward_origin": origin}
        return self._bot_message("forwardMessage", params | {"reply_markup": None}, content)

    @staticmethod
    def _copied_content(source: JsonDict, *, keep_markup: bool) -> JsonDict:
        skip = {
            "message_id",
            "from",
            "chat",
            "date",
            "edit_date",
            "reply_to_message",
            "message_thread_id",
            "is_topic_message",
        } | (set() if keep_markup else {"reply_markup"})
        return {k: copy.deepcopy(v) for k, v in source.items() if k not in skip}

    def _edit_message(self, params: JsonDict, changes: JsonDict) -> JsonDict | bool:
        if params.get("inline_message_id"):
            return True
        stored = self._find_message(params.get("chat_id"), params.get("message_id"), "message to edit not found")
        if stored["from"].get("id") != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        if all(stored.get(k) == v for k, v in changes.items()):
            raise bad_request(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        stored.update({k: v for k, v in changes.items() if v is not None}, edit_date=int(time.time()))
        if changes.get("reply_markup") is None:
            stored.pop("reply_markup", None)
        return copy.deepcopy(stored)

    def _edit_message_text(self, params: JsonDict, _files: Files) -> JsonDict | bool:
        check_text(params.get("text"), params.get("parse_mode"), limit=MAX_TEXT_LENGTH, what="text")
        check_reply_markup(params.get("reply_markup"))
        changes = {"text": str(params["text"]), "reply_markup": params.get("reply_markup")}
        return self._edit_message(params, changes)

    def _edit_message_reply_markup(self, params: JsonDict, _files: Files) -> JsonDict | bool:
        check_reply_markup(params.get("reply_markup"))
        return self._edit_message(params, {"reply_markup": params.get("reply_markup")})

    # ------------------------------------------------------------ other methods

    def _answer_callback_query(self, params: JsonDict, _files: Files) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._open_callbacks:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        self._open_callbacks.discard(query_id)
        self.callback_answers.append(dict(params) | {"time": time.monotonic()})
        return True

    def _command_key(self, params: JsonDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: JsonDict, _files: Files) -> bool:
        self._commands[self._command_key(params)] = list(params.get("commands") or [])
        return True

    def _delete_my_commands(self, params: JsonDict, _files: Files) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    def _get_file(self, params: JsonDict, _files: Files) -> JsonDict:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        return stored.as_file()

    def _create_forum_topic(self, params: JsonDict, _files: Files) -> JsonDict:
        chat = self._chat_for(params.get("chat_id"))
        if chat["type"] != "supergroup" or not chat.get("is_forum"):
            raise bad_request("the chat is not a forum")
        if not params.get("name"):
            raise bad_request("topic name is empty")
        topic = {
            "message_thread_id": self._next_message_id(chat["id"]),
            "name": str(params["name"]),
            "icon_color": int(params.get("icon_color") or 7322096),
        }
        if params.get("icon_custom_emoji_id"):
            topic["icon_custom_emoji_id"] = params["icon_custom_emoji_id"]
        key = (chat["id"], topic["message_thread_id"])
        self.topics[key] = topic | {"chat_id": chat["id"], "is_closed": False}
        return topic

    def _topic(self, params: JsonDict) -> JsonDict:
        topic = self.topics.get((params.get("chat_id"), params.get("message_thread_id")))
        if topic is None:
            raise bad_request("message thread not found")
        return topic

    def _edit_forum_topic(self, params: JsonDict, _files: Files) -> bool:
        topic = self._topic(params)
        topic.update({k: params[k] for k in ("name", "icon_custom_emoji_id") if params.get(k) is not None})
        return True

    def _set_topic_closed(self, params: JsonDict, closed: bool) -> bool:
        topic = self._topic(params)
        if topic["is_closed"] == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic["is_closed"] = closed
        return True

    def _get_chat(self, params: JsonDict, _files: Files) -> JsonDict:
        gifts = dict.fromkeys(
            ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"), False
        )
        chat = self._chat_for(params.get("chat_id"))
        return chat | {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    def _get_chat_member(self, params: JsonDict, _files: Files) -> JsonDict:
        chat_id, user_id = params.get("chat_id"), params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        user = self.bot_user if user_id == self.bot_user["id"] else self._remember_user(user_id, None, None)
        return member_object(dict(user), self._member_status.get((chat_id, user_id), "left"))

    def _set_webhook(self, params: JsonDict, _files: Files) -> bool:
        if params.get("drop_pending_updates"):
            self._queue.clear()
        self.webhook = {"url": str(params.get("url") or ""), "secret_token": params.get("secret_token")}
        if self.webhook["url"] and self.webhook_sink is not None:  # what waited for getUpdates goes out now
            waiting, self._queue = sorted(self._queue, key=lambda q: q.update_id), []
            for queued in waiting:
                self.webhook_sink(copy.deepcopy(queued.update))
        return True

    def _webhook_info(self) -> JsonDict:
        return {"url": self.webhook["url"], "has_custom_certificate": False, "pending_update_count": len(self._queue)}

    def _method_table(self) -> dict[str, Callable[[JsonDict, Files], Any]]:
        return {
            "getMe": lambda p, f: self.bot_user
            | {"can_join_groups": True, "supports_inline_queries": False, "can_read_all_group_messages": False},
            "deleteWebhook": lambda p, f: self._set_webhook({"drop_pending_updates": p.get("drop_pending_updates")}, f),
            "setWebhook": self._set_webhook,
            "getWebhookInfo": lambda p, f: self._webhook_info(),
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendVoice": self._send_voice,
            "sendDocument": self._send_document,
            "sendLocation": self._send_location,
            "sendChatAction": lambda p, f: bool(self._chat_for(p.get("chat_id"))),
            "sendMediaGroup": self._send_media_group,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": lambda p, f: list(self._commands.get(self._command_key(p), [])),
            "deleteMyCommands": self._delete_my_commands,
            "getFile": self._get_file,
            "createForumTopic": self._create_forum_topic,
            "editForumTopic": self._edit_forum_topic,
            "closeForumTopic": lambda p, f: self._set_topic_closed(p, True),
            "reopenForumTopic": lambda p, f: self._set_topic_closed(p, False),
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
        }
