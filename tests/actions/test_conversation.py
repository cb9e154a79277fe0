"""action_human_handoff, action_clarify, action_attachment_received, action_out_of_scope."""

from __future__ import annotations

from actions.conversation import (
    CLARIFY_BUTTONS,
    LOW_CONFIDENCE_NO_STAFF,
    ActionAttachmentReceived,
    ActionClarify,
    ActionHumanHandoff,
    ActionOutOfScope,
)
from bureau.addressing import BACK_PAYLOAD
from bureau.deps import Deps
from foundation.enums import CaseKind
from storage.conversations import conversation_by_sender
from tests.support.actions import cases_of, driver, run, slot_events, tracker, user_event


async def test_handoff_without_a_staff_group_registers_the_question_with_a_deadline(action_deps: Deps) -> None:
    sender = driver(action_deps)
    earlier = [user_event("罚款单上的日期写错了怎么办", "legal_question")]
    sent, events = await run(ActionHumanHandoff(), tracker(sender, "转人工", "human_handoff", earlier=earlier))
    [case] = cases_of(action_deps)
    assert case.kind is CaseKind.legal_consultation
    assert sent[0]["text"].startswith("本平台暂未开通在线人工对话。")
    assert f"<b>{case.number}</b>" in sent[0]["text"]
    assert slot_events(events) == {"unclear_text": None}


async def test_handoff_with_a_staff_group_puts_the_driver_through_to_the_case(action_deps: Deps) -> None:
    sender = driver(action_deps)
    sent, _ = await run(ActionHumanHandoff(), tracker(sender, "找人工", "human_handoff", staff_group=True))
    [case] = cases_of(action_deps)
    assert sent[0]["text"].startswith(f"好的，已为您联系人工（编号 <b>{case.number}</b>）")
    assert sent[0]["custom"]["buttons"] == [{"title": "↩️ 回到机器人", "payload": BACK_PAYLOAD}]
    with action_deps.sessions() as session:
        conversation = conversation_by_sender(session, sender)
        assert conversation is not None and conversation.focus_case_id == case.id


async def test_a_first_unclear_message_gets_choices_and_is_kept(action_deps: Deps) -> None:
    sent, events = await run(ActionClarify(), tracker(driver(action_deps), "那个事咋整", "nlu_fallback"))
    assert sent[0]["buttons"] == CLARIFY_BUTTONS
    assert slot_events(events) == {"unclear_text": "那个事咋整"}


async def test_a_second_unclear_message_without_staff_suggests_phrasings(action_deps: Deps) -> None:
    earlier = [user_event("那个事咋整", "nlu_fallback")]
    sent, events = await run(ActionClarify(), tracker(driver(action_deps), "就是那个", "nlu_fallback", earlier=earlier))
    assert sent[0]["text"] == LOW_CONFIDENCE_NO_STAFF
    assert slot_events(events) == {"unclear_text": None}
    assert cases_of(action_deps) == []


async def test_a_voice_note_is_kept_and_the_driver_asked_to_type(action_deps: Deps) -> None:
    sent, _ = await run(ActionAttachmentReceived(), tracker(driver(action_deps), "", "attach_voice"))
    assert [m["text"] for m in sent] == [
        "已收到并保存。请用文字简单说一下是什么情况，我来帮您登记（语音暂时无法自动识别）。"
    ]


async def test_out_of_scope_says_what_the_bot_can_do(action_deps: Deps) -> None:
    sent, events = await run(ActionOutOfScope(), tracker(driver(action_deps), "今天股市怎么样", "out_of_scope"))
    assert sent[0]["text"].startswith("这个问题不在我们的服务范围内。")
    assert events == []


async def test_a_traffic_police_matter_read_as_out_of_scope_is_sent_to_122_with_its_law(action_deps: Deps) -> None:
    sent, events = await run(
        ActionOutOfScope(), tracker(driver(action_deps), "驾驶证扣分的事应该找谁处理", "out_of_scope")
    )
    [answer] = sent
    assert "122" in answer["text"] and "《中华人民共和国道路交通安全法》" in answer["text"]
    assert events == []
