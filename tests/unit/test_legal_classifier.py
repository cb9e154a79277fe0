"""The legal entry classifier: it tells entries apart by their phrasings, and a fitted one is read back, not refitted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bureau import legal_classifier

QUESTIONS = ["罚款在哪交", "罚款去哪里缴纳", "罚款交到哪个银行", "复议怎么申请", "行政复议申请书怎么写", "怎么提复议"]
LABELS = [0, 0, 0, 1, 1, 1]


def vectors(count: int) -> np.ndarray:
    """Stand-ins for sentence vectors that carry no meaning (the same for every question): words must decide."""
    return np.full((count, 8), 8**-0.5, dtype=np.float32)


def test_each_entry_is_most_likely_for_its_own_kind_of_question() -> None:
    fitted = legal_classifier.fit(QUESTIONS, LABELS, vectors(6))
    asked = ["请问罚款在哪儿交", "我想申请复议"]
    probabilities = fitted.probabilities(asked, vectors(2))
    assert probabilities.argmax(axis=1).tolist() == [0, 1]
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_a_fitted_classifier_is_read_back_and_a_changed_phrasing_refits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = legal_classifier.fit_cached(QUESTIONS, LABELS, vectors(6), tmp_path)
    assert len(list(tmp_path.glob("legal-classifier-*.npz"))) == 1

    def no_refit(*args: object) -> None:
        raise AssertionError("refitted although nothing changed")

    monkeypatch.setattr(legal_classifier, "fit", no_refit)
    again = legal_classifier.fit_cached(QUESTIONS, LABELS, vectors(6), tmp_path)
    assert again.vocabulary == first.vocabulary and np.allclose(again.coef, first.coef, atol=1e-6)
    monkeypatch.undo()
    legal_classifier.fit_cached([*QUESTIONS[:-1], "复议去哪提"], LABELS, vectors(6), tmp_path)
    assert len(list(tmp_path.glob("legal-classifier-*.npz"))) == 2
