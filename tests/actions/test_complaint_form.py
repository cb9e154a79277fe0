"""The complaint form: what is filled from the driver's words, the summary, the case on confirmation."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.complaint_form import (
    CONFIRM_BUTTONS,
    ActionAskComplaintConfirmed,
    ActionCancelForm,
    ActionSubmitComplaint,
    ValidateComplaintForm,
)
from bureau.deps import Deps
from bureau.legal_questions import answer_instead
from foundation.enums import CaseKind
from tests.support.actions import cases_of, driver, run, slot_events, tracker, user_event

FILLED = {
    "complaint_description": "执法人员罚款不开票",
    "complaint_place": "G309收费站",
    "complaint_time": "昨天下午",
    "complaint_evidence": "无",
}
PLATE = [{"entity": "plate_number", "value": "鲁B12345"}]


async def test_confirmed_complaint_becomes_a_case_with_a_receipt(action_deps: Deps) -> None:
    sender = driver(action_deps)
    slots = FILLED | {"complaint_confirmed": True}
    earlier = [user_event("投诉鲁B12345的执法人员罚款不开票", "complaint", PLATE)]
    sent, events = await run(
        ActionSubmitComplaint(), tracker(sender, "/affirm", "affirm", slots=slots, earlier=earlier)
    )
    [case] = cases_of(action_deps)
    assert case.kind is CaseKind.complaint
    assert case.summary == "执法人员罚款不开票"
    assert case.fields["plates"] == ["鲁B12345"]
    assert sent[0]["text"].startswith("✅ 您的投诉已受理。")
    assert f"受理编号：<b>{case.number}</b>" in sent[0]["text"]
    assert sent[0]["custom"]["case"] == case.number
    assert slot_events(events) == dict.fromkeys((*FILLED, "complaint_confirmed", "unclear_text"))


async def test_an_unconfirmed_complaint_is_not_filed(action_deps: Deps) -> None:
    slots = FILLED | {"complaint_confirmed": False}
    sent, _ = await run(ActionSubmitComplaint(), tracker(driver(action_deps), "/deny", "deny", slots=slots))
    assert [m["response"] for m in sent] == ["utter_complaint_not_submitted"]
    assert cases_of(action_deps) == []


async def test_the_summary_shows_what_was_said_with_the_plates(action_deps: Deps) -> None:
    earlier = [user_event("投诉鲁B12345", "complaint", PLATE)]
    sent, events = await run(
        ActionAskComplaintConfirmed(), tracker(driver(action_deps), "没有", "deny", slots=FILLED, earlier=earlier)
    )
    assert "执法人员罚款不开票" in sent[0]["text"] and "G309收费站" in sent[0]["text"]
    assert "鲁B12345" in sent[0]["text"]
    assert sent[0]["buttons"] == CONFIRM_BUTTONS
    assert events == []


async def test_cancelling_leaves_the_form_and_says_so(action_deps: Deps) -> None:
    sent, events = await run(ActionCancelForm(), tracker(driver(action_deps), "不投诉了", "cancel", slots=FILLED))
    assert [m["response"] for m in sent] == ["utter_complaint_cancelled"]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
    assert slot_events(events)["complaint_description"] is None


async def _extract(slot: str, text: str, intent: str, slots: dict[str, Any]) -> dict[str, Any]:
    form, dispatcher = ValidateComplaintForm(), CollectingDispatcher()
    extract = getattr(form, f"extract_{slot}")
    result: dict[str, Any] = await extract(dispatcher, tracker("conv-1", text, intent, slots=slots), {})
    return result


async def test_the_form_takes_the_answer_to_the_question_it_asked() -> None:
    asked = {"requested_slot": "complaint_place"}
    assert await _extract("complaint_place", "在G309收费站", "inform", asked) == {"complaint_place": "在G309收费站"}
    asked = {"requested_slot": "complaint_evidence"}
    assert await _extract("complaint_evidence", "没有", "deny", asked) == {"complaint_evidence": "无"}


async def test_skipping_the_place_or_time_question_keeps_them_as_not_given() -> None:
    for slot in ("complaint_place", "complaint_time"):
        asked = {"requested_slot": slot}
        assert await _extract(slot, "跳过", "deny", asked) == {slot: "不详"}
        assert await _extract(slot, "记不清了", "inform", asked) == {slot: "不详"}


async def test_a_place_given_when_asked_the_time_is_not_taken_as_the_time() -> None:
    form, dispatcher = ValidateComplaintForm(), CollectingDispatcher()
    station = [{"entity": "station", "value": "乳山检测站", "start": 0, "end": 5}]
    asked = {"requested_slot": "complaint_time", "complaint_place": "G309"}
    place_answer = tracker("conv-1", "乳山检测站门口", "inform", slots=asked, entities=station)
    assert await form.extract_complaint_time(dispatcher, place_answer, {}) == {}
    time_too = [*station, {"entity": "time", "value": "昨天下午", "start": 7, "end": 11}]
    answer = tracker("conv-1", "乳山检测站门口 昨天下午", "inform", slots=asked, entities=time_too)
    assert await form.extract_complaint_time(dispatcher, answer, {}) == {"complaint_time": "乳山检测站门口 昨天下午"}


async def test_a_driver_leaving_the_form_fills_nothing() -> None:
    asked = {"requested_slot": "complaint_place"}
    assert await _extract("complaint_place", "查进度", "check_status", asked) == {}


async def test_more_detail_at_the_summary_is_added_to_the_description() -> None:
    slots = {"requested_slot": "complaint_confirmed", "complaint_description": "罚款不开票"}
    extracted = await _extract("complaint_confirmed", "还多收了两百", "inform", slots)
    assert extracted == {"complaint_description": "罚款不开票；补充：还多收了两百", "complaint_confirmed": None}


async def test_a_legal_question_after_the_complaint_is_answered_under_the_receipt(action_deps: Deps) -> None:
    question = "超限运输怎么罚款？"
    entry = answer_instead(question, action_deps.legal)
    assert entry is not None, "the knowledge base answers this question on its own"
    slots = FILLED | {
        "complaint_description": f"执法人员罚款不开票，顺便问一下，{question}",
        "complaint_confirmed": True,
    }
    sent, _ = await run(ActionSubmitComplaint(), tracker(driver(action_deps), "/affirm", "affirm", slots=slots))
    assert [case.kind for case in cases_of(action_deps)] == [CaseKind.complaint]  # one case, not two
    assert sent[0]["text"].startswith("✅ 您的投诉已受理。")
    assert sent[1]["text"] == f"您还问到：“{question}”"
    assert sent[2]["text"] == entry.render(None)


async def test_a_second_matter_that_is_no_legal_question_is_one_tap_away(action_deps: Deps) -> None:
    slots = FILLED | {
        "complaint_description": "服务区厕所太脏了，还有个事，附近哪里有热水",
        "complaint_confirmed": True,
    }
    sent, _ = await run(ActionSubmitComplaint(), tracker(driver(action_deps), "/affirm", "affirm", slots=slots))
    assert len(cases_of(action_deps)) == 1
    assert "附近哪里有热水" in sent[-1]["text"]
    assert sent[-1]["custom"] == {"send_text": "附近哪里有热水"}


async def test_a_complaint_with_one_matter_gets_only_its_receipt(action_deps: Deps) -> None:
    slots = FILLED | {"complaint_confirmed": True}
    sent, _ = await run(ActionSubmitComplaint(), tracker(driver(action_deps), "/affirm", "affirm", slots=slots))
    assert len(sent) == 1


async def test_what_the_driver_added_at_confirmation_is_not_read_as_part_of_the_second_matter(
    action_deps: Deps,
) -> None:
    description = "执法人员罚款不开票，顺便问一下，超限运输怎么罚款？；补充：G309乳山检测站"
    slots = FILLED | {"complaint_description": description, "complaint_confirmed": True}
    sent, _ = await run(ActionSubmitComplaint(), tracker(driver(action_deps), "/affirm", "affirm", slots=slots))
    assert sent[1]["text"] == "您还问到：“超限运输怎么罚款？”"
