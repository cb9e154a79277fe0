"""The Bot API methods the double answers, each as Telegram would."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any

from simulator.bot_api.protocol import (
    MAX_LONG_POLL,
    MAX_TEXT_LENGTH,
    ApiError,
    Files,
    JsonDict,
    bad_request,
    check_reply_markup,
    check_text,
    member_object,
)
from simulator.bot_api.state import BotApiState


class BotMethods(BotApiState):
    """The bot side of the double: one handler per Bot API method, and the table naming them."""

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
        if not self._bot_may_manage_topics(chat["id"]):
            raise bad_request("not enough rights to create a topic")
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
        chat = self._chat_for(params.get("chat_id"))
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        user = self.bot_user if user_id == self.bot_user["id"] else self._remember_user(user_id, None, None)
        key = (chat["id"], user_id)
        return member_object(dict(user), self._member_status_of(*key), self._member_rights.get(key))

    def _member_status_of(self, chat_id: int, user_id: int) -> str:
        default = "administrator" if user_id == self.bot_user["id"] and chat_id < 0 else "left"
        return self._member_status.get((chat_id, user_id), default)

    def _bot_may_manage_topics(self, chat_id: int) -> bool:
        status = self._member_status_of(chat_id, self.bot_user["id"])
        rights = self._member_rights.get((chat_id, self.bot_user["id"])) or {}
        return status == "creator" or (status == "administrator" and rights.get("can_manage_topics", True))

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
