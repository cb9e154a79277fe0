"""What a test controls (faults, latency, member status) and observes (sent messages, calls, updates)."""

from __future__ import annotations

import copy
import time
from http import HTTPStatus

from simulator.bot_api.protocol import ApiError, JsonDict
from simulator.bot_api.state import BotApiState, Fault


class Controls(BotApiState):
    """Test controls and observation of the double."""

    # ------------------------------------------------------------ test controls and observation

    def fail_next(
        self,
        method: str,
        error_code: int = 500,
        description: str = "",
        retry_after: int | None = None,
        times: int = 1,
        *,
        chat_id: int | None = None,
        skip: int = 0,
    ) -> None:
        """Make the next `times` calls of `method` fail (to `chat_id` only, after letting `skip` through);
        429 answers carry parameters.retry_after.

        An empty description becomes Telegram's usual text for that error code.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if not description:
            description = (
                f"Too Many Requests: retry after {retry_after}" if error_code == 429 else HTTPStatus(error_code).phrase
            )
        fault = Fault(ApiError(error_code, description, retry_after), times, chat_id, skip)
        self._faults.setdefault(method.lower(), []).append(fault)

    def clear_faults(self, method: str | None = None) -> None:
        """Forget the failures still waiting (of one method, or all)."""
        if method is None:
            self._faults.clear()
        else:
            self._faults.pop(method.lower(), None)

    def set_latency(self, seconds: float) -> None:
        self._latency = max(0.0, seconds)

    def set_member_status(self, chat_id: int, user_id: int, status: str, **rights: bool) -> None:
        """A member's status; for an administrator, `rights` such as can_manage_topics=False. The bot itself
        is an administrator with every right in a group until set otherwise."""
        self._member_status[(chat_id, user_id)] = status
        self._member_rights[(chat_id, user_id)] = dict(rights)

    def add_group(self, chat_id: int, *, is_forum: bool = True, title: str | None = None) -> None:
        """A group the bot is in; `is_forum=False`: an ordinary supergroup without topics."""
        self._gone_chats.discard(chat_id)
        self._chats[chat_id] = {
            "id": chat_id,
            "type": "supergroup",
            "title": title or f"Group {chat_id}",
            "is_forum": is_forum,
        }

    def remove_chat(self, chat_id: int) -> None:
        """A chat that does not exist (or the bot was never in): every method on it answers "chat not found"."""
        self._chats.pop(chat_id, None)
        self._gone_chats.add(chat_id)

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
