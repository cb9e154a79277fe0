"""What the Bot API double shares with Telegram: limits, error answers, text and markup checks, form decoding."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

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


def member_object(user: JsonDict, status: str, rights: JsonDict | None = None) -> JsonDict:
    """A ChatMember with the fields python-telegram-bot requires for that status; `rights` overrides flags."""
    member: JsonDict = {"user": user, "status": status}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member |= dict.fromkeys(ADMIN_FLAGS, True) | {"can_be_edited": False, "is_anonymous": False}
        member |= {flag: bool(value) for flag, value in (rights or {}).items() if flag in ADMIN_FLAGS}
    elif status == "restricted":
        member |= dict.fromkeys(RESTRICTED_FLAGS, False) | {"is_member": True, "until_date": 0}
    elif status == "kicked":
        member["until_date"] = 0
    return member
