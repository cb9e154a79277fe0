"""Simulated users: what drivers and staff send, queued as updates for getUpdates (or the webhook)."""

from __future__ import annotations

import copy
import mimetypes
import time

from simulator.bot_api.protocol import JsonDict, command_entities
from simulator.bot_api.samples import default_jpeg, default_ogg
from simulator.bot_api.state import BotApiState, QueuedUpdate


class SimulatedUsers(BotApiState):
    """The user side of the double."""

    # ------------------------------------------------------------ simulated users

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        first_name: str = "司机",
        username: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A user's text; `reply_to` makes it a Telegram reply to that message of the chat (any id, as a
        modified client could send)."""
        user = self._remember_user(user_id, first_name, username)
        if chat_id is None or chat_id == user_id:
            chat = self._private_chat(user)
        else:
            chat = self._chats.get(chat_id) or self._group_chat(chat_id)
        message = self._user_message(user, chat, text=text)
        if reply_to is not None:
            target = self._messages.get((chat["id"], reply_to)) or {
                "message_id": reply_to,
                "chat": dict(chat),
                "date": 0,
            }
            message["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
        return self._queue_update({"message": message})

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
        original: JsonDict = message.get("message", message)
        current: JsonDict = self._messages.get((original["chat"]["id"], original["message_id"]), original)
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
        return self._enqueue(QueuedUpdate(update, protected=protected))

    async def _send_private(self, user_id: int, content: JsonDict) -> int:
        user = self._remember_user(user_id, None, None)
        chat = self._chats.get(user_id) or self._private_chat(user)
        return self._queue_update({"message": self._user_message(user, chat, **content)})
