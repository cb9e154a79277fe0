"""action_check_status: a driver sees their own cases, and only theirs."""

from __future__ import annotations

from actions.status import ActionCheckStatus
from bureau.deps import Deps
from foundation.clock import utcnow
from foundation.enums import CaseKind
from storage.cases import NewCase, create_case
from storage.conversations import conversation_by_sender
from tests.support.actions import driver, run, tracker


def _case_of(deps: Deps, sender: str, summary: str = "收费站多收通行费") -> str:
    with deps.sessions.begin() as session:
        conversation = conversation_by_sender(session, sender)
        assert conversation is not None
        new = NewCase(CaseKind.complaint, "局办公室", "其他", conversation.reporter_id, conversation.id, summary, {})
        return create_case(session, new, deps.calendar, utcnow()).number


async def test_a_driver_without_cases_is_told_so(action_deps: Deps) -> None:
    sent, events = await run(ActionCheckStatus(), tracker(driver(action_deps), "/check_status", "check_status"))
    assert [m["text"] for m in sent] == ["您在这里还没有提交过投诉或服务请求。"]
    assert events == []


async def test_a_driver_asking_by_number_sees_the_case(action_deps: Deps) -> None:
    sender = driver(action_deps)
    number = _case_of(action_deps, sender)
    sent, _ = await run(ActionCheckStatus(), tracker(sender, f"查一下 {number}", "check_status"))
    assert len(sent) == 1
    assert f"编号 <b>{number}</b>（投诉）" in sent[0]["text"]
    assert "承办单位：局办公室" in sent[0]["text"]
    assert "内容：收费站多收通行费" in sent[0]["text"]


async def test_another_drivers_case_is_not_found_and_not_shown(action_deps: Deps) -> None:
    number = _case_of(action_deps, driver(action_deps, 5001), "别人的投诉")
    sent, _ = await run(ActionCheckStatus(), tracker(driver(action_deps, 5002), f"进度 {number}", "check_status"))
    assert [m["text"] for m in sent] == [
        f"没有找到您名下编号为 {number} 的案件。请核对编号；只能查询您本人在这里提交的案件。"
    ]


async def test_without_a_number_the_driver_gets_the_list(action_deps: Deps) -> None:
    sender = driver(action_deps)
    first, second = _case_of(action_deps, sender), _case_of(action_deps, sender, "服务区没有热水")
    sent, _ = await run(ActionCheckStatus(), tracker(sender, "我的案件怎么样了", "check_status"))
    assert len(sent) == 1
    assert "您正在办理的案件（2 件）：" in sent[0]["text"]
    assert first in sent[0]["text"] and second in sent[0]["text"]
