"""Legal answers that cite their article, the nearest station for a service, and referrals elsewhere."""

from __future__ import annotations

import re

from app.local_stack import Driver, RunningStack, last_with_buttons, texts
from tests.e2e.test_staff_desk import staff, topic_of

CASE_NUMBER = re.compile(r"TS-\d{4}-\d{6}")


async def test_a_close_call_offers_the_likely_questions_and_the_pick_is_answered(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver()
    replies = await driver.say("罚款15天内不交会怎样")  # a transport fine, or a traffic-police one?
    said = texts(replies)
    if "哪一个" in said:  # not sure enough to answer outright: the driver picks the transport fine
        buttons = last_with_buttons(replies)
        entry = next(e for e in stack.deps.legal.entries if e.id == "fine_payment_deadline")
        said = texts(await driver.press(buttons, entry.questions[0][:40]))
    assert "依据：《中华人民共和国行政处罚法》" in said and "<blockquote>" in said and "人工" in said


async def test_licence_points_are_referred_to_the_traffic_police(new_driver) -> None:
    driver: Driver = new_driver()
    said = texts(await driver.say("驾驶证扣分的事应该找谁处理"))
    assert "122" in said


async def test_hot_water_near_a_named_place_lists_the_nearest_stations(new_driver) -> None:
    driver: Driver = new_driver()
    said = texts(await driver.say("夏村附近哪里有热水"))
    assert "G309乳山超限检测站" in said and "公里" in said and "开放" in said
    assert not CASE_NUMBER.search(said)


async def test_without_a_place_the_bot_asks_for_the_location_and_then_answers(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    replies = await driver.say("哪里能充电啊")
    assert "位置" in texts(replies)
    keyboard = stack.api.sent(driver.user_id)[-1]["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_location"] is True
    said = texts(await driver.location(36.90, 121.47))
    assert "充电" in said and "公里" in said


async def test_a_location_far_outside_the_city_gets_an_honest_answer(new_driver) -> None:
    driver: Driver = new_driver()
    await driver.say("哪里有热水")
    said = texts(await driver.location(39.90, 116.40))  # Beijing
    assert "不在本局的服务范围" in said and "12328" in said


async def test_medicine_at_a_named_station_goes_to_its_duty_officer_who_confirms(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver()
    said = texts(await driver.say("我在乳山口站，感冒发烧了需要点药"))
    number = CASE_NUMBER.search(said)
    assert number and "乳山口交通运输执法站" in said, said
    thread = await topic_of(stack, number.group(0))
    officer = staff(stack, "值班员")
    card = await officer.wait_posted(thread, "置信度")
    assert "乳山口交通运输执法站" in card["text"]
    await officer.press(card["message"], "✅ 确认承办：市交通运输综合执法大队")
    await driver._collect(timeout=5)  # the consent question
    told = "\n".join(str(m.get("text")) for m in stack.api.sent(driver.user_id))
    assert "乳山口交通运输执法站值班人员已确认" in told


async def test_who_pays_the_fine_of_a_company_registered_truck_is_answered_not_made_a_complaint(new_driver) -> None:
    """Issue 13: this question used to open a complaint form."""
    driver: Driver = new_driver()
    said = texts(await driver.say("车挂靠在运输公司名下，被罚了款，罚款该谁交？"))
    assert "依据：《" in said and "<blockquote>" in said, said
    assert not CASE_NUMBER.search(said) and "事情发生在哪里" not in said  # no case, no complaint form


async def test_a_question_about_the_tow_fee_standard_opens_no_roadside_case(new_driver) -> None:
    """Issue 13: this question used to open a roadside-service case."""
    driver: Driver = new_driver()
    said = texts(await driver.say("高速上拖车收费有没有官方标准？"))
    assert "依据：《" in said and not CASE_NUMBER.search(said), said
