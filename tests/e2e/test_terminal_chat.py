"""The terminal chat of `make run` without a token: a newcomer files a complaint, asks a question and checks
the status, typing as a driver would, over the whole stack (here the stack without a staff group)."""

from __future__ import annotations

import asyncio
import os
import re
import sys

import pytest

from app.local_stack import RunningStack
from simulator.terminal import chat_loop

TERMINAL_DRIVER = 10_777


async def test_the_terminal_chat_files_a_complaint_then_answers_and_lists_it(
    stack_without_staff: RunningStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    read_end, write_end = os.pipe()
    keyboard = os.fdopen(read_end, "r", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", keyboard)
    typed = ["G309治超站执法人员罚款不给票据", "今天上午10点", "跳过", "1", "超限运输罚款标准是多少", "/status"]
    os.write(write_end, ("\n".join(typed) + "\n").encode())
    os.close(write_end)  # then Ctrl-D: the chat ends
    try:
        await asyncio.wait_for(chat_loop(stack_without_staff.api, TERMINAL_DRIVER), timeout=240)
    finally:
        keyboard.close()
    shown = capsys.readouterr().out
    number = re.search(r"TS-\d{4}-\d{6}", shown)
    assert number, shown
    assert "受理编号" in shown and "[1] 确认提交" in shown  # buttons are numbered and pressed by number
    assert shown.count(number.group(0)) >= 2  # the receipt and the /status list
    assert "转给工作人员" not in shown
