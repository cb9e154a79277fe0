"""A driver writes about a beating, a leak, a crowd or ending it all: the supervisor is warned at once, with a grade."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bureau.warnings import WarningRules, WarningRulesError, load_warnings
from foundation.settings import PROJECT_ROOT

RULES = load_warnings(PROJECT_ROOT / "content" / "warnings.yml")
CASES = yaml.safe_load((Path(__file__).parent / "warnings_cases.yml").read_text(encoding="utf-8"))
GRADES = {category.id: category.grade for category in RULES.categories}
ALWAYS_CAUGHT = ("self_harm", "violence")
# sections the patterns were tuned on: each must reach the tuning thresholds on its own
TUNED = ("tuning", "tuning_from_blind_1", "tuning_families")
MIN_TUNED_RECALL, MAX_TUNED_FALSE_ALARMS = 0.9, 0.05


def _caught(rules: WarningRules, text: str, category: str) -> bool:
    assessment = rules.assess(text)
    if assessment is None:
        return False
    return any(hit.category == category and hit.grade == GRADES[category] for hit in assessment.hits)


def _misses(section: str) -> list[dict[str, str]]:
    return [case for case in CASES[section]["positive"] if not _caught(RULES, case["text"], case["category"])]


def _false_alarms(section: str) -> list[tuple[str, tuple[str, ...]]]:
    texts = [case if isinstance(case, str) else case["text"] for case in CASES[section]["negative"]]
    flagged = [(text, RULES.assess(text)) for text in texts]
    return [(text, assessment.categories) for text, assessment in flagged if assessment is not None]


def _report(section: str) -> tuple[float, float]:
    positives, negatives = CASES[section]["positive"], CASES[section]["negative"]
    misses, false_alarms = _misses(section), _false_alarms(section)
    for category in GRADES:
        total = sum(1 for case in positives if case["category"] == category)
        missed = sum(1 for case in misses if case["category"] == category)
        print(f"{section} {category}: recall {total - missed}/{total}")
    for case in misses:
        print(f"{section} MISS [{case['category']}] {case['text']}")
    for text, categories in false_alarms:
        print(f"{section} FALSE ALARM {categories} {text}")
    recall = 1 - len(misses) / len(positives)
    false_positive_rate = len(false_alarms) / len(negatives)
    print(f"{section}: recall {recall:.2f}, false-positive rate {false_positive_rate:.2f}")
    return recall, false_positive_rate


def test_the_case_file_is_big_enough_and_covers_every_category() -> None:
    tuning = CASES["tuning"]
    assert len(tuning["positive"]) >= 100 and len(tuning["negative"]) >= 100
    assert {case["category"] for case in tuning["positive"]} == set(GRADES)
    assert 25 <= len(CASES["holdout"]["positive"]) + len(CASES["holdout"]["negative"]) <= 40


@pytest.mark.parametrize("section", TUNED)
def test_drivers_in_danger_are_flagged_and_ordinary_complaints_are_not(section: str) -> None:
    recall, false_positive_rate = _report(section)
    assert recall >= MIN_TUNED_RECALL
    assert false_positive_rate <= MAX_TUNED_FALSE_ALARMS


def test_every_self_harm_and_violence_message_is_caught() -> None:
    sections = (*TUNED, "holdout")  # not "blind" / "untuned_2": they record known gaps
    missed = [case["text"] for section in sections for case in _misses(section) if case["category"] in ALWAYS_CAUGHT]
    assert missed == []


def test_every_section_of_the_case_file_is_reported() -> None:
    """Data-driven: every section in warnings_cases.yml, present or added later, is checked and printed."""
    print()
    rows = []
    for section, cases in CASES.items():
        assert set(cases) == {"positive", "negative"} and cases["positive"] and cases["negative"], section
        assert {case["category"] for case in cases["positive"]} <= set(GRADES), section
        caught = len(cases["positive"]) - len(_misses(section))
        false_alarms = len(_false_alarms(section))
        rows.append((section, caught, len(cases["positive"]), false_alarms, len(cases["negative"])))
    for section, caught, positives, false_alarms, negatives in rows:
        tuned = "tuned" if section in TUNED else "reported"
        print(
            f"{section:<22} {tuned:<8} recall {caught}/{positives} = {caught / positives:.2f}   "
            f"false alarms {false_alarms}/{negatives} = {false_alarms / negatives:.2f}"
        )
    assert set(TUNED) <= set(CASES)


def test_the_untuned_holdout_is_reported() -> None:
    """The holdout measures the patterns honestly; its floor was set before the patterns were written."""
    recall, false_positive_rate = _report("holdout")
    assert recall >= 0.75
    assert false_positive_rate <= 0.2


def test_the_blind_set_is_reported_not_tuned() -> None:
    """Paraphrases the patterns were never shown: not a target to tune on, but a floor well below what was
    measured (recall 1.00, false alarms 0.00), so a change that breaks how the rules generalise fails."""
    recall, false_positive_rate = _report("blind")
    assert recall >= 0.9 and false_positive_rate <= 0.1


def test_the_second_untuned_set_is_reported_not_asserted() -> None:
    """Written before the lexicon rules and never tuned on: its numbers are printed, with a floor below them."""
    untuned = CASES["untuned_2"]
    assert len(untuned["positive"]) == 60 and len(untuned["negative"]) == 60
    recall, false_positive_rate = _report("untuned_2")
    assert recall >= 0.9 and false_positive_rate <= 0.1  # measured 0.98 / 0.03: a floor, never tuned on


@pytest.mark.parametrize(
    ("text", "grade", "first"),
    [
        ("站里的人把我打了 我要找记者曝光", 1, "violence"),
        ("罐车漏油了 好几十个司机堵在站口不走", 2, "safety_hazard"),
        ("再罚我就上热搜", 3, "media"),
    ],
)
def test_the_most_severe_grade_wins(text: str, grade: int, first: str) -> None:
    assessment = RULES.assess(text)
    assert assessment is not None
    assert assessment.grade == grade and assessment.hits[0].category == first
    assert assessment.grade == min(hit.grade for hit in assessment.hits)


def test_a_driver_at_risk_is_told_whom_to_call_once() -> None:
    assessment = RULES.assess("我不想活了 他们又打我")
    assert assessment is not None
    assert set(assessment.categories) == {"self_harm", "violence"}
    assert assessment.labels[0] in {"自伤自杀风险", "暴力冲突"}
    assert any("12356" in notice for notice in assessment.driver_notices)
    assert len(assessment.driver_notices) == len(set(assessment.driver_notices))


@pytest.mark.parametrize(
    "text",
    ["我想自殺", "ＷＯ 想 死", "發 抖 音 曝 光 你 們", "　殴　打　"],
)
def test_full_width_spaced_and_traditional_text_is_normalised(text: str) -> None:
    assert RULES.assess(text) is not None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("年检的时候底盘有点漏油会不会判不合格", None),
        ("看新闻说外地有个货车司机轻生了 是真的假的", None),
        ("去年这里翻过一辆车 现在还限速吗", None),
        ("刹车失灵了 咋办", "safety_hazard"),  # plain 咋办 / 会不会 is not framing
        ("桥裂了会不会塌", "safety_hazard"),
        ("听说有人想不开 我也不想活了", "self_harm"),  # first person keeps self_harm and violence
        ("去年他们打过我 现在又来了", "violence"),
    ],
)
def test_a_question_about_a_rule_or_a_reported_event_is_not_a_warning(text: str, category: str | None) -> None:
    assessment = RULES.assess(text)
    assert (assessment.categories[0] if assessment else None) == category


def test_negations_do_not_fire_but_self_harm_ignores_them() -> None:
    assert RULES.assess("没有人打人") is None
    assert RULES.assess("不是要曝光 就问问") is None
    assert RULES.assess("我不是想自杀") is not None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("  - id: media\n    label: 媒体\n    grade: 3\n", "missing patterns"),
        ("  - id: media\n    label: 媒体\n    grade: 3\n    patterns: ['记者(']\n", "bad regex"),
        ("  - id: media\n    label: 媒体\n    grade: 7\n    patterns: [记者]\n", "grade must be 1, 2 or 3"),
        ("  - id: media\n    label: 媒体\n    grade: 3\n    patterns: [记者]\n    exclude: ['[']\n", "bad regex"),
        (
            "  - id: media\n    label: 媒体\n    grade: 3\n    patterns: [记者]\n    framing: always\n",
            "framing must be",
        ),
    ],
)
def test_a_malformed_entry_names_the_file_and_the_entry(tmp_path: Path, body: str, problem: str) -> None:
    bad = tmp_path / "warnings.yml"
    ok = "  - id: violence\n    label: 暴力\n    grade: 1\n    patterns: [打人]\n"
    bad.write_text("categories:\n" + ok + body, encoding="utf-8")
    with pytest.raises(WarningRulesError) as raised:
        load_warnings(bad)
    message = str(raised.value)
    assert str(bad) in message and "categories[1] (media)" in message and problem in message


def test_a_duplicate_id_names_the_second_entry(tmp_path: Path) -> None:
    bad = tmp_path / "warnings.yml"
    entry = "  - id: media\n    label: 媒体\n    grade: 3\n    patterns: [记者]\n"
    bad.write_text("categories:\n" + entry + entry, encoding="utf-8")
    with pytest.raises(WarningRulesError, match=r"categories\[1\] \(media\): duplicate id") as raised:
        load_warnings(bad)
    assert str(bad) in str(raised.value)


def test_a_file_without_categories_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "warnings.yml"
    bad.write_text("negation: 没有\n", encoding="utf-8")
    with pytest.raises(WarningRulesError, match="categories"):
        load_warnings(bad)


def test_the_real_rules_load_with_every_grade() -> None:
    assert {"self_harm", "violence", "safety_hazard", "crowd", "media"} <= set(GRADES)
    assert GRADES["self_harm"] == GRADES["violence"] == 1 and GRADES["media"] == 3


def test_lexicons_are_expanded_into_the_patterns(tmp_path: Path) -> None:
    rules_file = tmp_path / "warnings.yml"
    rules_file.write_text(
        "lexicons:\n  hit: [打, 揍]\n  victim: ['{me}', 司机]\n  me: [我, 俺]\n"
        "categories:\n  - id: violence\n    label: 暴力\n    grade: 1\n    patterns: ['{hit}.{0,2}{victim}']\n",
        encoding="utf-8",
    )
    rules = load_warnings(rules_file)
    assert rules.assess("他们揍了俺") is not None and rules.assess("打车去车站") is None


@pytest.mark.parametrize(
    ("lexicons", "pattern", "problem"),
    [
        ("  hit: [打]\n", "'{hti}.{0,2}我'", "unknown lexicon {hti}"),
        ("  hit: ['(打']\n", "'{hit}'", "lexicons.hit: bad regex"),
        ("  hit: []\n", "'{hit}'", "lexicons.hit: expected a non-empty list"),
        ("  a: ['{b}']\n  b: ['{a}']\n", "'{a}'", "nests deeper"),
    ],
)
def test_a_bad_lexicon_names_the_file_and_the_entry(tmp_path: Path, lexicons: str, pattern: str, problem: str) -> None:
    bad = tmp_path / "warnings.yml"
    body = f"categories:\n  - id: violence\n    label: 暴力\n    grade: 1\n    patterns: [{pattern}]\n"
    bad.write_text("lexicons:\n" + lexicons + body, encoding="utf-8")
    with pytest.raises(WarningRulesError) as raised:
        load_warnings(bad)
    assert str(bad) in str(raised.value) and problem in str(raised.value)


def test_a_blind_set_written_without_seeing_the_rules_keeps_its_floor() -> None:
    """tests/unit/warnings_blind_2.yml was written by someone who never saw the rules and is never tuned on.

    Measured when it was written: recall 0.82 (self-harm 26/33, violence 32/33, safety 25/33, crowd 23/33,
    media 29/33), false alarms 5/164. The floor guards against a rule change that quietly loses recall.
    """
    blind = yaml.safe_load((Path(__file__).parent / "warnings_blind_2.yml").read_text(encoding="utf-8"))
    caught = [RULES.assess(case["text"]) is not None for case in blind["positives"]]
    alarms = [RULES.assess(case["text"]) is not None for case in blind["negatives"]]
    recall, false_alarms = sum(caught) / len(caught), sum(alarms) / len(alarms)
    print(f"blind set 2: recall {recall:.2f}, false alarms {false_alarms:.2f}")
    assert recall >= 0.78 and false_alarms <= 0.05
