"""Legal answers quote real articles and are matched to the question, or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from complaints.config import PROJECT_ROOT
from complaints.legal_faq import DISCLAIMER, LegalDataError, load_faq

FAQ = load_faq(PROJECT_ROOT / "data" / "legal_faq.yml")
LEGAL_DIR = Path(os.environ.get("LEGAL_TEXTS_DIR") or PROJECT_ROOT.parent / "shared" / "legal")


@pytest.mark.parametrize("entry", FAQ.entries, ids=lambda e: e.id)
def test_every_quote_is_in_the_cited_law_word_for_word(entry) -> None:  # type: ignore[no-untyped-def]
    if not LEGAL_DIR.is_dir():
        pytest.skip(f"legal texts not found at {LEGAL_DIR} (set LEGAL_TEXTS_DIR)")
    source = (LEGAL_DIR / entry.source).read_text(encoding="utf-8")
    assert entry.quote in source
    assert entry.article in source


@pytest.mark.parametrize("entry", FAQ.entries, ids=lambda e: e.id)
def test_each_phrasing_finds_its_entry(entry) -> None:  # type: ignore[no-untyped-def]
    for question in entry.questions:
        match = FAQ.best_match(question)
        assert match is not None and match[0].id == entry.id, question


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("第一次被查超限能免罚吗", "first_violation_exemption"),
        ("六轴半挂最多拉多重", "overload_limits"),
        ("处罚决定书下来几天内得交钱", "fine_payment_deadline"),
        ("交了罚款他不给票咋办", "fine_receipt"),
        ("对处罚不服多久内可以复议", "administrative_review"),
    ],
)
def test_paraphrases_find_the_right_entry(question: str, entry_id: str) -> None:
    match = FAQ.best_match(question)
    assert match is not None and match[0].id == entry_id


@pytest.mark.parametrize("question", ["网约车要办什么证", "交通局电话多少", "今天天气怎么样"])
def test_unknown_questions_are_not_guessed(question: str) -> None:
    assert FAQ.best_match(question) is None


def test_an_answer_cites_its_article_and_offers_a_person() -> None:
    text = FAQ.entries[0].render()
    assert "第三十三条" in text and "<blockquote>" in text and DISCLAIMER in text


def test_a_missing_field_names_the_file_and_entry(tmp_path: Path) -> None:
    bad = tmp_path / "faq.yml"
    bad.write_text("entries:\n  - id: x\n    questions: [a]\n", encoding="utf-8")
    with pytest.raises(LegalDataError, match=r"faq.yml: entries\[0\] \(x\)"):
        load_faq(bad)
