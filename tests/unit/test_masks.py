"""Phone and ID card numbers as drivers really type them are masked wherever masks are used: logs,
retention and erasure, digest quotes, and the staff card; everything else a case needs stays readable."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.desk_texts import case_card
from foundation.enums import CaseKind
from foundation.logs import mask
from foundation.masks import scrub
from storage.models import Case

TZ = ZoneInfo("Asia/Shanghai")

# (as typed, the digits that must not survive)
MOBILES = [
    ("13812345678", "12345678"),
    ("138 1234 5678", "1234 5678"),
    ("138-1234-5678", "1234-5678"),
    ("138 123 45678", "123 4567"),
    ("+86 138 1234 5678", "1234 5678"),
    ("+8613812345678", "12345678"),
    ("+86-138-1234-5678", "1234-5678"),
    ("0086 13812345678", "12345678"),
    ("008613812345678", "12345678"),
    ("(+86)13812345678", "12345678"),
    ("（+86）139 8765 4321", "8765 4321"),
    ("86-13812345678", "12345678"),
    ("手机：159 0000 1111。", "0000 1111"),
    ("电话199-8888-7777联系", "8888-7777"),
]
LANDLINES = [
    ("010-12345678", "12345678"),
    ("010 1234 5678", "1234 5678"),
    ("(010)12345678", "12345678"),
    ("（0755）88886666", "88886666"),
    ("0755-88886666", "88886666"),
    ("0755 8888 6666", "8888 6666"),
    ("021-6123-4567", "6123-4567"),
    ("0371-6512345", "6512345"),
    ("+86 10 1234 5678", "1234 5678"),
    ("+86-755-88886666", "88886666"),
    ("0086 21 6123 4567", "6123 4567"),
    ("座机0531-88776655找李队", "88776655"),
]
ID_CARDS = [
    ("110105199001011234", "19900101"),
    ("11010519900101123X", "19900101"),
    ("11010519900101123x", "19900101"),
    ("110105 19900101 1234", "19900101"),
    ("110105-19900101-123X", "19900101"),
    ("身份证号：440301198512310018。", "19851231"),
    ("我的身份证440301198512310018，车是我的", "19851231"),
    ("老身份证110105900101123号", "900101"),
]
# what a complaint needs and must read exactly as written after masking
KEPT = [
    "案件 TS-2026-000123 已办结",
    "台账 DB-2026-001 已销号",
    "罚款2000元，实际收了1500.50元",
    "罚了 200 元，扣 3 分",
    "2026-12-03 08:40 在G309治超站",
    "2026年12月3日下午3点",
    "12月3日14:30到15:45",
    "20吨的车超重3.5吨，过磅49.5吨",
    "G15沈海高速K1234+500处",
    "12328热线和12345热线都打了",
    "车轴6轴，总长17.5米",
]


def _case(summary: str, place: str, consent: bool) -> Case:
    due = datetime(2026, 12, 3, 9, 0, tzinfo=TZ)
    return Case(
        number="TS-2026-000123",
        kind=CaseKind.complaint,
        category="收费",
        urgent=False,
        warning_grade=None,
        summary=summary,
        fields={"place": place, "description": summary},
        contact_consent=consent,
        unit="路政支队",
        avoid_unit=None,
        intent_confidence=0.9,
        escalation_reason="complaint",
        handoff_due=due,
        first_feedback_due=due,
        opinion_due=due,
    )


@pytest.mark.parametrize(("typed", "secret"), MOBILES + LANDLINES + ID_CARDS)
def test_logs_mask_phones_and_id_cards(typed: str, secret: str) -> None:
    assert secret not in mask(f"driver wrote {typed} today")


@pytest.mark.parametrize(("typed", "secret"), MOBILES + LANDLINES + ID_CARDS)
def test_retention_and_erasure_replace_phones_and_id_cards(typed: str, secret: str) -> None:
    assert secret not in scrub(f"我的联系方式{typed}请回电")


@pytest.mark.parametrize(("typed", "secret"), MOBILES + LANDLINES + ID_CARDS)
def test_the_staff_card_of_a_driver_who_did_not_consent_shows_no_number(typed: str, secret: str) -> None:
    card = case_card(_case(f"收费站多收钱，{typed}", f"南湖站 {typed}", consent=False), "驾驶员#1", 0, TZ)
    assert secret not in card


@pytest.mark.parametrize(("typed", "secret"), ID_CARDS)
def test_the_staff_card_never_shows_an_id_card_number_even_with_consent(typed: str, secret: str) -> None:
    card = case_card(_case(f"被扣证，{typed}", f"南湖站 {typed}", consent=True), "驾驶员#1", 0, TZ)
    assert secret not in card


def test_masked_phones_stay_recognisable_for_staff() -> None:
    card = case_card(_case("电话 +86 138-1234-5678 或 0755 8888 6666", "南湖站", consent=False), "驾驶员#1", 0, TZ)
    assert "138****5678" in card and "0755-****6666" in card


@pytest.mark.parametrize("text", KEPT)
def test_case_numbers_amounts_dates_and_distances_are_left_alone(text: str) -> None:
    assert mask(text) == text
    assert scrub(text) == text
    assert text in case_card(_case(text, "南湖站", consent=False), "驾驶员#1", 0, TZ)


@pytest.mark.parametrize("plate", ["粤B12345", "鲁K·7G123", "苏A D12345"])
def test_plates_are_masked_as_plates_not_as_phones(plate: str) -> None:
    assert scrub(f"车牌{plate}被扣") == "车牌〔车牌〕被扣"
    assert mask(f"车牌{plate}被扣").startswith(f"车牌{plate[:2]}****")
