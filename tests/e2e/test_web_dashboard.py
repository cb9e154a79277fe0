"""The dashboard in the real stack: a staff member sends /web in the staff group, gets a one-time link in
their private chat, and the page lists the case a driver just filed with its deadline; without the link, with
it a second time, or as someone outside the group, the dashboard refuses."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from app.local_stack import Driver, RunningStack
from bot.staff.commands import REFUSED
from tests.e2e.test_staff_desk import case_row, file_complaint, staff
from web.app import create_app

LINK = re.compile(r"/login\?token=([A-Za-z0-9_-]+)")


@pytest.fixture
async def browser(stack: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(stack.deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard.test") as client:
        yield client


async def _link_in_private_chat(stack: RunningStack, user_id: int) -> str:
    for _ in range(150):
        for message in stack.api.sent(user_id):
            if found := LINK.search(str(message.get("text") or "")):
                return found.group(1)
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no sign-in link sent to {user_id}: {stack.api.sent(user_id)}")


async def test_web_in_the_staff_group_gives_a_link_and_the_page_lists_the_new_case_with_its_deadline(
    stack: RunningStack, new_driver: type[Driver], browser: httpx.AsyncClient
) -> None:
    number = await file_complaint(new_driver(), "我要投诉乳山口站的工作人员乱收费，收了200不给票")
    member = staff(stack, "王科员")
    await member.say(None, "/web")
    await member.wait_posted(None, "看板登录链接已私信给您")
    assert not LINK.search(" ".join(str(p.get("text")) for p in member.posted(None)))  # never in the group
    token = await _link_in_private_chat(stack, member.user_id)

    assert (await browser.get("/cases")).status_code == 401
    signed_in = await browser.get(f"/login?token={token}")
    assert signed_in.status_code == 303
    page = await browser.get("/cases")
    case = case_row(stack, number)
    due = case.opinion_due.astimezone(stack.settings.timezone).strftime("%m-%d %H:%M")
    row = page.text[page.text.index(f"/cases/{number}") :].split("</tr>")[0]
    assert due in row, row

    browser.cookies.clear()
    again = await browser.get(f"/login?token={token}")
    assert again.status_code == 403 and "只能使用一次" in again.text


async def test_someone_outside_the_staff_group_gets_no_link(stack: RunningStack) -> None:
    member, outsider = staff(stack), staff(stack, "路人", member=False)
    await outsider.say(None, "/web")
    await member.wait_posted(None, REFUSED)
    assert not any(LINK.search(str(m.get("text") or "")) for m in stack.api.sent(outsider.user_id))
