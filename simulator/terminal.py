"""A chat in the terminal over the full stack: a local Bot API server stands in for Telegram."""

from __future__ import annotations

import asyncio
import re
import sys
from html import unescape
from typing import Any

from simulator.bot_api import LocalBotApi

TERMINAL_USER_ID = 10_001
PROMPT = "您> "
_TAGS = re.compile(r"</?[a-zA-Z][^>]*>")


def show(text: str) -> None:
    """Write a line of the conversation to the terminal (this module is the terminal UI)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def render(message: dict[str, Any]) -> str:
    """A bot message as terminal text: tags dropped, buttons numbered."""
    text = unescape(_TAGS.sub("", str(message.get("text") or message.get("caption") or "")))
    lines = [f"机器人> {line}" for line in text.splitlines() or [""]]
    for index, title in enumerate(button_titles(message), start=1):
        lines.append(f"        [{index}] {title}")
    return "\n".join(lines)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Inline buttons, then keyboard buttons that send their own text (location and contact have commands)."""
    markup = message.get("reply_markup") or {}
    inline = [button for row in markup.get("inline_keyboard") or [] for button in row]
    typed = [
        button
        for row in markup.get("keyboard") or []
        for button in row
        if isinstance(button, dict) and not (button.get("request_location") or button.get("request_contact"))
    ]
    return inline + typed


def button_titles(message: dict[str, Any]) -> list[str]:
    return [str(b.get("text")) for b in buttons(message)]


def stdin_lines() -> asyncio.Queue[str | None]:
    """Lines typed on standard input, fed by the event loop (no thread: Ctrl-C stops at once)."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def on_readable() -> None:
        line = sys.stdin.readline()
        if line == "":
            loop.remove_reader(sys.stdin.fileno())
            lines.put_nowait(None)
        else:
            lines.put_nowait(line.rstrip("\n"))

    try:
        loop.add_reader(sys.stdin.fileno(), on_readable)
    except PermissionError:  # a regular file (`complaints chat < script.txt`) cannot be polled: it is all there
        for line in sys.stdin.read().splitlines():
            lines.put_nowait(line)
        lines.put_nowait(None)
    return lines


async def chat_loop(api: LocalBotApi, user_id: int = TERMINAL_USER_ID) -> None:
    """Read lines from the driver, show the bot's replies; a number presses a button of the last reply."""
    show("本地终端对话（Ctrl-D 或 Ctrl-C 退出）。输入数字可点击按钮，/photo 模拟发送照片，/where 模拟发送位置。")
    await api.send_text(user_id, "/start")
    shown = await _show_replies(api, user_id, 0)
    lines = stdin_lines()
    last_with_buttons: dict[str, Any] | None = None
    while True:
        sys.stdout.write(PROMPT)
        sys.stdout.flush()
        line = await lines.get()
        if line is None:
            return
        line = line.strip()
        options = buttons(last_with_buttons) if last_with_buttons else []
        chosen = options[int(line) - 1] if line.isdigit() and 1 <= int(line) <= len(options) else None
        if chosen is not None and "callback_data" not in chosen:
            await api.send_text(user_id, str(chosen["text"]))  # a keyboard button sends its own words
        elif chosen is not None and last_with_buttons is not None:
            await api.press_button(user_id, last_with_buttons, str(chosen["callback_data"]))
        elif line == "/photo":
            await api.send_photo(user_id)
        elif line == "/where":
            await api.send_location(user_id, 36.919, 121.537)
        else:
            await api.send_text(user_id, line)
        before = shown
        shown = await _show_replies(api, user_id, shown)
        for message in api.sent(user_id)[before:shown]:
            if buttons(message):
                last_with_buttons = message


async def _show_replies(api: LocalBotApi, user_id: int, shown: int) -> int:
    """Wait for the bot's answer (until it has been quiet briefly) and print it."""
    try:
        await api.wait_sent(user_id, 1, after=shown, timeout=30.0)
    except TimeoutError:
        show("（机器人暂时没有回复，消息已保存，稍后会处理）")
        return shown
    while True:
        count = len(api.sent(user_id))
        await asyncio.sleep(0.4)
        if len(api.sent(user_id)) == count:
            break
    messages = api.sent(user_id)
    for message in messages[shown:]:
        show(render(message))
    return len(messages)
