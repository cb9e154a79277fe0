"""A notice's fields checked against the legal texts: the article exists and fits the facts, the fine lies in
its range, the exemption list, the printed appeal periods."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from foundation.settings import PROJECT_ROOT
from notices.checks import Verdict, check
from notices.fields import Citation, NoticeFields
from notices.law import Library, PenaltyDataError, load_library, load_notice_library

OVERLOAD = NoticeFields(
    doc_type="行政处罚决定书",
    issued=date(2026, 3, 2),
    facts="经检测车货总质量57.2吨，超过限定标准49吨8.2吨，构成违法超限运输",
    basis=(Citation("超限运输车辆行驶公路管理规定", "第四十三条"),),
    violated=(Citation("公路安全保护条例", "第三十三条"),),
    amount=4000,
    review_days=60,
    litigation_months=6,
)


@pytest.fixture(scope="module")
def library() -> Library:
    return load_notice_library(PROJECT_ROOT / "content")


def _flags(fields: NoticeFields, library: Library) -> list[str]:
    return [f.text for f in check(fields, library) if f.verdict is Verdict.flag]


def test_an_overload_fine_within_the_range_of_the_overload_article_raises_no_flag(library: Library) -> None:
    findings = check(OVERLOAD, library)
    assert not [f for f in findings if f.verdict is Verdict.flag]
    assert any("4000元在《超限运输车辆行驶公路管理规定》第四十三条规定的幅度内" in f.text for f in findings)


def test_a_fine_above_the_articles_ceiling_is_flagged_for_staff_carefully(library: Library) -> None:
    flags = _flags(replace(OVERLOAD, amount=50000), library)
    assert len(flags) == 1
    assert "50000元不在" in flags[0] and "30000元以下" in flags[0] and "可能" in flags[0]


def test_an_article_the_complete_regulation_does_not_have_is_flagged(library: Library) -> None:
    fields = replace(OVERLOAD, basis=(Citation("公路安全保护条例", "第九十九条"),))
    flags = _flags(fields, library)
    assert any("没有第九十九条" in text for text in flags)


def test_a_missing_article_of_a_partial_text_is_not_called_an_error(library: Library) -> None:
    fields = replace(OVERLOAD, basis=(Citation("超限运输车辆行驶公路管理规定", "第十五条"),))
    findings = check(fields, library)
    assert not [f for f in findings if f.verdict is Verdict.flag]
    assert any("文本不全" in f.text for f in findings)


def test_an_overload_article_cited_for_a_spilled_load_does_not_fit_the_facts(library: Library) -> None:
    fields = replace(OVERLOAD, facts="车辆装载物遗洒，造成公路路面污染")
    assert any("不对应" in text for text in _flags(fields, library))


def test_a_spilled_load_is_on_the_exemption_list_and_an_overload_is_not_among_the_entries_held(
    library: Library,
) -> None:
    spilled = replace(
        OVERLOAD,
        facts="车辆装载物遗洒，造成公路路面污染",
        basis=(Citation("公路安全保护条例", "第六十九条"),),
        amount=2000,
    )
    texts = [f.text for f in check(spilled, library)]
    assert any("免罚清单中（第1项" in t for t in texts)
    assert any("尚未取得" in t for t in (f.text for f in check(OVERLOAD, library)))


def test_an_unknown_law_is_said_to_be_unchecked_not_wrong(library: Library) -> None:
    fields = replace(OVERLOAD, basis=(Citation("某某省治超条例", "第十条"),))
    findings = check(fields, library)
    assert not [f for f in findings if f.verdict is Verdict.flag]
    assert any("未收录《某某省治超条例》" in f.text for f in findings)


def test_a_review_period_printed_shorter_than_the_law_is_flagged(library: Library) -> None:
    flags = _flags(replace(OVERLOAD, review_days=15), library)
    assert any("短于《行政复议法》第二十条规定的六十日" in text for text in flags)


def test_a_penalty_table_quoting_what_the_law_does_not_say_is_refused_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "penalties.yml"
    text = (PROJECT_ROOT / "content" / "notices" / "penalties.yml").read_text(encoding="utf-8")
    bad.write_text(text.replace("最高不得超过30000元", "最高不得超过50000元"), encoding="utf-8")
    with pytest.raises(PenaltyDataError, match="penalties.yml: articles\\[0\\] \\(overlimit_weight\\).*word for word"):
        load_library(PROJECT_ROOT / "content" / "legal_texts", bad)
