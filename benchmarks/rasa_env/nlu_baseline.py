"""Two helpers of benchmarks/rasa_env/nlu_cv.py that are not Rasa pipelines.

- `baseline_result`: the plain char TF-IDF + LinearSVC baseline (scikit-learn alone, no Rasa), scored on the
  same folds, the same held-out and independent sets as the Rasa candidates. LinearSVC gives no
  probabilities, so its confidence is 1 and the fallback simulation says nothing about it.
- `reuse_e5_embeddings`: each distinct text is embedded by e5 once per run instead of once per fold and
  candidate (the embedding of a text does not depend on the fold or the candidate). Messages parsed for the
  first time are still embedded then, so parse CPU is honest; the training time of a whole model is
  measured with `make train` instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from benchmarks.rasa_env.nlu_cv_report import CandidateResult, Prediction, per_intent_f1, score

BASELINE_NAME = "baseline_char_tfidf_linearsvc"
_EMBEDDINGS: dict[str, Any] = {}


@contextmanager
def reuse_e5_embeddings() -> Iterator[None]:
    """Memoise rasa_addons.e5_featurizer.embed for the duration of the block."""
    import numpy as np

    try:
        import rasa_addons.e5_featurizer as featurizer
    except ImportError:  # a checkout without the component: nothing to reuse
        yield
        return
    original: Callable[[list[str]], Any] = featurizer.embed

    def embed(texts: list[str]) -> Any:
        missing = [text for text in dict.fromkeys(texts) if text not in _EMBEDDINGS]
        if missing:
            _EMBEDDINGS.update(zip(missing, original(missing), strict=True))
        return np.stack([_EMBEDDINGS[text] for text in texts]) if texts else original(texts)

    featurizer.embed = embed
    try:
        yield
    finally:
        featurizer.embed = original


def _fit_predict(train: Sequence[Any], test: Sequence[Any]) -> tuple[list[Prediction], float, float]:
    """Train on examples, predict others; returns predictions, train seconds, parse CPU ms per message."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    start = time.perf_counter()
    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True), LinearSVC(class_weight="balanced")
    )
    model.fit([e.get("text") for e in train], [e.get_full_intent() for e in train])
    seconds = time.perf_counter() - start
    cpu = time.process_time()
    predicted = [model.predict([e.get("text")])[0] for e in test]
    cpu_ms = (time.process_time() - cpu) * 1000 / max(len(test), 1)
    predictions = [
        Prediction(e.get("text"), e.get_full_intent(), str(p), 1.0, 0.0) for e, p in zip(test, predicted, strict=True)
    ]
    return predictions, seconds, cpu_ms


def baseline_result(
    folds: Sequence[tuple[Any, list[Any]]],
    full_data: Any,
    holdout_examples: Sequence[Any],
    independent: dict[str, list[Any]],
) -> CandidateResult:
    """The baseline scored like a candidate."""
    result = CandidateResult(name=BASELINE_NAME, config_path="(scikit-learn, no Rasa)")
    for train_data, test_examples in folds:
        predictions, seconds, _ = _fit_predict(train_data.intent_examples, test_examples)
        result.fold_scores.append(score(predictions))
        result.fold_train_seconds.append(seconds)
    train = full_data.intent_examples
    predictions, result.full_train_seconds, result.parse_cpu_ms = _fit_predict(train, holdout_examples)
    result.holdout = score(predictions)
    result.holdout_per_intent_f1 = per_intent_f1(predictions)
    result.holdout_errors = [p for p in predictions if p.predicted != p.gold]
    for name, examples in independent.items():
        result.independent[name] = score(_fit_predict(train, examples)[0])
    return result
