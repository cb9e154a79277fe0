"""A staff member's message or button press in the staff group, reduced to what the commands need."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import Update

COMMAND = re.compile(r"/(\w+)(?:@\w+)?\s*(.*)", re.DOTALL)


@dataclass
class StaffAction:
    """One staff message or button press."""

    update_id: int
    user_id: int
    name: str | None
    thread_id: int | None
    command: str | None
    args: str
    text: str | None
    photo_file_id: str | None
    callback_id: str | None = None
    case_id: int | None = None

    def key(self, what: str) -> str:
        """The key of a message this action sends (stored once, so a replayed update does not send twice)."""
        return f"u{self.update_id}:{what}"


def read_action(update: Update) -> StaffAction | None:
    """None for what staff do not address to the desk (service messages, the bot's own posts)."""
    if update.callback_query is not None:
        query = update.callback_query
        parts = (query.data or "").split(":", 3)
        if len(parts) < 3 or parts[0] != "d" or not parts[2].isdigit():
            return None
        thread = getattr(query.message, "message_thread_id", None)  # None for an inaccessible (old) message
        return StaffAction(
            update.update_id,
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
    return StaffAction(
        update.update_id, message.from_user.id, message.from_user.full_name, thread, command, args, text, photo
    )
