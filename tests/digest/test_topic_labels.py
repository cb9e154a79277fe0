"""Topic labels people can read: no emoji, no personal data, short, and every character drawable."""

from __future__ import annotations

import numpy as np

from digest.analysis import Group, WeekAnalysis
from digest.labels import clean_label, generated_label
from digest.render import drawable, render_chart
from digest.weeks import Week


def _group(label: str, stations: list[tuple[str, int]] | None = None) -> Group:
    return Group(label=label, items=[], mean=np.zeros(4, np.float32), reporters=1, stations=stations or [])


def test_the_issues_example_loses_its_emoji_and_keeps_place_and_matter() -> None:
    assert clean_label("城西中队执法员态度太差 😡😡😡") == "城西中队执法员态度太差"


def test_phones_plates_ids_and_masked_numbers_are_removed() -> None:
    label = clean_label("鲁K·12345 司机13812345678 身份证370202199001011234 在乳山口站被罚")
    assert not any(ch.isdigit() for ch in label) and "鲁K" not in label and "乳山口站被罚" in label
    assert clean_label("鲁K****被扣 139****5678") == "被扣"


def test_emoji_sequences_with_joiners_skin_tones_and_flags_leave_nothing_behind() -> None:
    assert clean_label("👨‍👩‍👧 👍🏽 🇨🇳 ❤️ 收费站排队两小时") == "收费站排队两小时"
    assert clean_label("😡😡") == ""


def test_a_long_label_is_cut_with_an_ellipsis() -> None:
    label = clean_label("某某超限检测站的工作人员在称重时故意拖延时间并且要求司机额外交钱否则不放行")
    assert len(label) == 24 and label.endswith("…")


def test_generated_label_keeps_the_station_and_falls_back_when_nothing_is_left() -> None:
    assert generated_label(_group("乳山口站：磅不准 😤")) == "乳山口站：磅不准"
    assert generated_label(_group("😡😡😡", [("G309乳山超限检测站", 3)])) == "G309乳山超限检测站相关投诉"
    assert generated_label(_group("13812345678")) == "未归类投诉"


def test_the_chart_draws_only_characters_its_font_has() -> None:
    assert drawable("城西中队 😡 态度差 ★") == "城西中队 态度差 ★"


def test_the_weekly_chart_has_a_glyph_for_every_character_it_draws() -> None:
    """Matplotlib warns of each glyph its font lacks (an empty box in the PNG); warnings are errors here."""
    analysis = WeekAnalysis(Week(2026, 47), total=9, previous_total=4, groups=[_group("城西中队执法员态度太差 😡😡😡")])
    png = render_chart(analysis)
    assert png.startswith(b"\x89PNG")
