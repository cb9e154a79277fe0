"""Cross-validation of the chosen pipeline's model without Rasa's per-fold overhead (a quick reproduction).

Usage: rasa-env/.venv/bin/python -m benchmarks.rasa_env.nlu_cv_sklearn [--folds 5] [--by-writer] [--cache FILE]

The same stratified folds as benchmarks/rasa_env/nlu_cv.py (seed 42, data/nlu), the same features as the
pipeline in config.yml (char 1-4 counts weighted like TF-IDF, and e5 "query: " sentence vectors ×
dense_weight) and the same logistic regression, fitted with scikit-learn directly; plus e5 alone and the
char TF-IDF + LinearSVC baseline. e5 vectors are cached by text in --cache so that a rerun embeds only new
texts. Rasa's CountVectorsFeaturizer counts chars of the tokenised text, so figures differ slightly from a
full Rasa CV (nlu_cv.py), which is the reference when the machine has the time for it.

--by-writer groups the folds by training file instead: every `voices_*.yml` is one writer (a helper with
its own persona) and the topic files are another, so each fold is scored on writers its model never saw.
That is what the independent sets measure, and what stratified folds do not: near-copies by one writer
land on both sides of a stratified split. Candidates are then also compared with other weights of the
dense block and with a linear SVM over both blocks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import mean, stdev

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORE = ["complaint", "legal_question", "service_request"]
MODELS = ("e5 + char 1-4, logistic regression (config.yml)", "e5 alone, logistic regression", "char TF-IDF + LinearSVC")
# by-writer candidates: (name, classifier, dense weight); weight 0 = char n-grams alone
WRITER_MODELS = (
    ("e5 ×1.5 + char 1-4, logistic regression C=30 (config.yml)", "lr", 1.5),
    ("e5 ×1.0 + char 1-4, logistic regression C=30", "lr", 1.0),
    ("e5 ×0.5 + char 1-4, logistic regression C=30", "lr", 0.5),
    ("char 1-4 alone, logistic regression C=30", "lr", 0.0),
    ("e5 ×1.0 + char 1-4, LinearSVC", "svm", 1.0),
    ("e5 ×0.5 + char 1-4, LinearSVC", "svm", 0.5),
    ("char TF-IDF + LinearSVC (baseline)", "svm", 0.0),
)


def vectors(texts: list[str], cache_path: Path) -> object:
    """e5 vectors of the texts, reusing the ones cached by text."""
    import numpy as np

    from rasa_addons.e5_featurizer import embed

    cache: dict[str, object] = {}
    if cache_path.exists():
        with np.load(cache_path) as stored:
            cache = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
    missing = [text for text in dict.fromkeys(texts) if text not in cache]
    if missing:
        cache.update(zip(missing, embed(missing), strict=True))
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache_path, texts=np.array(list(cache)), vectors=np.stack(list(cache.values())))
    return np.stack([cache[text] for text in texts])


def fit_predict(model: str, texts: list[str], dense: object, labels: list[str], train: object, test: object) -> list:
    """Fit one of MODELS on the train indices and predict the test indices."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    char = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True)
    y = [labels[i] for i in train]
    if model == MODELS[2]:
        classifier = LinearSVC(class_weight="balanced").fit(char.fit_transform([texts[i] for i in train]), y)
        return list(classifier.predict(char.transform([texts[i] for i in test])))
    blocks_train, blocks_test = [sp.csr_matrix(dense[train] * 1.5)], [sp.csr_matrix(dense[test] * 1.5)]
    if model == MODELS[0]:
        blocks_train.insert(0, char.fit_transform([texts[i] for i in train]))
        blocks_test.insert(0, char.transform([texts[i] for i in test]))
    classifier = LogisticRegression(C=30, solver="newton-cg", class_weight="balanced", max_iter=2000, random_state=42)
    classifier.fit(sp.hstack(blocks_train).tocsr(), y)
    return list(classifier.predict(sp.hstack(blocks_test).tocsr()))


def fit_predict_weighted(
    kind: str, weight: float, texts: list[str], dense: object, labels: list[str], train: object, test: object
) -> list:
    """A by-writer candidate: char 1-4 TF-IDF joined with e5 × `weight` (none at 0), LR or linear SVM."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    char = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True)
    blocks_train = [char.fit_transform([texts[i] for i in train])]
    blocks_test = [char.transform([texts[i] for i in test])]
    if weight:
        blocks_train.append(sp.csr_matrix(dense[train] * weight))  # type: ignore[index]
        blocks_test.append(sp.csr_matrix(dense[test] * weight))  # type: ignore[index]
    classifier = (
        LinearSVC(class_weight="balanced")
        if kind == "svm"
        else LogisticRegression(C=30, solver="newton-cg", class_weight="balanced", max_iter=2000, random_state=42)
    )
    classifier.fit(sp.hstack(blocks_train).tocsr(), [labels[i] for i in train])
    return list(classifier.predict(sp.hstack(blocks_test).tocsr()))


def by_writer(args: argparse.Namespace) -> int:
    """Folds grouped by training file: every fold is scored on writers the model never saw."""
    from rasa.shared.nlu.training_data.loading import load_data
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GroupKFold

    texts, labels, groups = [], [], []
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        for example in load_data(str(path)).intent_examples:
            texts.append(example.get("text"))
            labels.append(example.get_full_intent())
            groups.append(path.stem if path.stem.startswith("voices_") else "topic files")
    dense = vectors(texts, Path(args.cache))
    folds = list(GroupKFold(n_splits=args.folds).split(texts, labels, groups))
    print(f"{len(texts)} training examples in {len(set(groups))} writers' files, {args.folds} folds by writer\n")
    print("| model | core macro-F1 on unseen writers (mean ± sd) | accuracy |\n|---|---|---|")
    for name, kind, weight in WRITER_MODELS:
        core, accuracy = [], []
        for train, test in folds:
            predicted = fit_predict_weighted(kind, weight, texts, dense, labels, train, test)
            gold = [labels[i] for i in test]
            core.append(float(f1_score(gold, predicted, labels=CORE, average="macro", zero_division=0)))
            accuracy.append(sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold))
        print(f"| {name} | {mean(core):.3f} ± {stdev(core):.3f} | {mean(accuracy):.3f} |", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from rasa.shared.nlu.training_data.loading import load_data
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--by-writer", action="store_true", help="folds grouped by training file (writer)")
    parser.add_argument("--cache", default=str(PROJECT_ROOT / "var" / "e5_cache.npz"))
    args = parser.parse_args(argv)
    if args.by_writer:
        return by_writer(args)
    examples = load_data(str(PROJECT_ROOT / "data" / "nlu")).intent_examples
    texts = [e.get("text") for e in examples]
    labels = [e.get_full_intent() for e in examples]
    dense = vectors(texts, Path(args.cache))
    folds = list(StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=42).split(texts, labels))
    print(f"{len(texts)} training examples (data/nlu), {args.folds}-fold stratified CV, seed 42\n")
    print("| model | CV core macro-F1 | CV accuracy |\n|---|---|---|")
    for model in MODELS:
        core, accuracy = [], []
        for train, test in folds:
            predicted = fit_predict(model, texts, dense, labels, train, test)
            gold = [labels[i] for i in test]
            core.append(float(f1_score(gold, predicted, labels=CORE, average="macro", zero_division=0)))
            accuracy.append(sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold))
        print(f"| {model} | {mean(core):.3f} ± {stdev(core):.3f} | {mean(accuracy):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
