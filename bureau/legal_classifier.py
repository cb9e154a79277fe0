"""A classifier over the legal knowledge base's entries, trained on their phrasings.

Nearest-phrasing similarity (bureau/legal_kb.py) finds the right entry in the top three almost always, but
between neighbouring entries (how to apply for review / where to apply) it often cannot tell them apart
by a clear margin. A multinomial logistic regression over the same two views of a question (char 1-3-gram
TF-IDF and the e5 sentence vector), fitted on every phrasing of every entry, learns which words separate
neighbours; its probability is added to the similarity score (weight in legal_kb.py, chosen on the
held-out paraphrases: benchmarks/legal_retrieval.py).

Fitting takes about half a minute on this machine, so the fitted arrays are kept beside the embeddings,
under a hash of the phrasings: a process whose knowledge base has not changed reads a file. The arrays are
plain numpy (no pickle).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

logger = logging.getLogger(__name__)

C = 10.0
DENSE_WEIGHT = 1.0
NGRAMS = (1, 3)


@dataclass(frozen=True)
class EntryClassifier:
    """Probabilities over entries (in the order given at fitting) for embedded questions."""

    vocabulary: tuple[str, ...]
    idf: npt.NDArray[np.float64]
    coef: npt.NDArray[np.float64]
    intercept: npt.NDArray[np.float64]

    @cached_property
    def _vectorizer(self):  # type: ignore[no-untyped-def]
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            analyzer="char",
            ngram_range=NGRAMS,
            sublinear_tf=True,
            vocabulary={gram: index for index, gram in enumerate(self.vocabulary)},
        )
        vectorizer.idf_ = self.idf
        return vectorizer

    def probabilities(self, questions: list[str], vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """One row per question: the probability of each entry.

        Only the weights of the n-grams a question has are read (a product with the whole sparse matrix
        copies 177 x 46,000 weights per call: 25 ms instead of 1)."""
        char = self._vectorizer.transform(questions).tocsr()
        width = len(self.vocabulary)
        dense = np.asarray(vectors, dtype=np.float64) * DENSE_WEIGHT
        scores = dense @ self.coef[:, width:].T.astype(np.float64) + self.intercept
        for row in range(char.shape[0]):
            start, end = char.indptr[row], char.indptr[row + 1]
            scores[row] += self.coef[:, char.indices[start:end]] @ char.data[start:end]
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return np.asarray(scores / scores.sum(axis=1, keepdims=True))


def _features(char: sp.spmatrix, vectors: npt.NDArray[np.float32]) -> sp.csr_matrix:
    return sp.hstack([char, sp.csr_matrix(np.asarray(vectors, dtype=np.float64) * DENSE_WEIGHT)]).tocsr()


def fit(questions: list[str], labels: list[int], vectors: npt.NDArray[np.float32]) -> EntryClassifier:
    """Fit on every phrasing (`labels`: the index of its entry)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True)
    char = vectorizer.fit_transform(questions)
    model = LogisticRegression(C=C, solver="newton-cg", max_iter=500).fit(_features(char, vectors), labels)
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # two entries: scikit-learn keeps the second's weights only (the first's are zero)
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return EntryClassifier(tuple(vocabulary), vectorizer.idf_, coef, intercept)


def fit_cached(
    questions: list[str], labels: list[int], vectors: npt.NDArray[np.float32], cache_dir: Path | None
) -> EntryClassifier:
    """`fit`, kept in `cache_dir` under a hash of the phrasings, their entries and the settings above."""
    if cache_dir is None:
        return fit(questions, labels, vectors)
    key = "\n".join(
        [f"{C} {DENSE_WEIGHT} {NGRAMS}", *(f"{label}\t{q}" for q, label in zip(questions, labels, strict=True))]
    )
    path = cache_dir / f"legal-classifier-{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"
    if path.exists():
        with np.load(path) as stored:
            return EntryClassifier(
                tuple(stored["vocabulary"].tolist()), stored["idf"], stored["coef"], stored["intercept"]
            )
    logger.info("Fitting the legal entry classifier on %d phrasings (kept in %s).", len(questions), cache_dir)
    fitted = fit(questions, labels, vectors)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp.npz")  # two processes may fit at once
    np.savez(
        partial,
        vocabulary=np.array(fitted.vocabulary),
        idf=fitted.idf,
        coef=fitted.coef.astype(np.float32),
        intercept=fitted.intercept,
    )
    partial.replace(path)  # a reader never sees half a file
    return fitted
