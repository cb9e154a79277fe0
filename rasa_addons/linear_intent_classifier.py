"""A fast intent classifier: one multinomial logistic regression over dense and sparse sentence features.

Dense features (e5 sentence embeddings, rasa_addons/e5_featurizer.py) carry the meaning, sparse char n-gram
counts (CountVectorsFeaturizer) the exact wording of short answers and domain words. The counts are weighted
like TF-IDF (sublinear tf, idf from the training data, L2 per message) so that both blocks have unit length;
`dense_weight` scales the dense block against the sparse one. Logistic regression gives calibrated-enough
probabilities for FallbackClassifier; it has no epochs to train, unlike DIET
(benchmarks/results/nlu_cv.md).

The model is stored as plain numpy arrays (no pickle) and predicted with a softmax of our own, so loading
a model never runs code from the model file.

This module runs inside the Rasa environment (Python 3.10) and must not import app code.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_intent_classifier.npz"


class NoFeatures(ValueError):
    """A message reached the classifier without the features it was trained on."""


def tfidf_rows(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf times idf, then each row scaled to unit length."""
    weighted = counts.astype(np.float64).tocsr(copy=True)
    weighted.data = np.log1p(weighted.data)
    weighted = weighted.multiply(idf.reshape(1, -1)).tocsr()
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
    return sp.diags(1.0 / np.maximum(norms, 1e-12)) @ weighted


def fit_idf(counts: sp.csr_matrix) -> np.ndarray:
    """Smoothed inverse document frequency, as scikit-learn's TfidfTransformer computes it."""
    documents = counts.shape[0]
    frequency = np.bincount(counts.tocsc().indices, minlength=counts.shape[1])
    return np.log((1.0 + documents) / (1.0 + frequency)) + 1.0


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(IntentClassifier, GraphComponent):
    """Sets `intent` and `intent_ranking` from a logistic regression over the message's sentence features."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn", "scipy", "numpy"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """C: inverse regularisation; dense_weight: the dense block's length against the sparse one's.

        newton-cg reaches the same optimum as scikit-learn's default lbfgs in 17 iterations instead of 270:
        10 s instead of 42 s on 3,778 messages here (predicted probabilities equal to 0.0002)."""
        return {
            "C": 30.0,
            "dense_weight": 1.5,
            "solver": "newton-cg",
            "max_iter": 2000,
            "ranking_length": 10,
            "random_state": 42,
        }

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.classes: np.ndarray = np.array([], dtype=str)
        self.coef = np.zeros((0, 0))
        self.intercept = np.zeros(0)
        self.idf = np.zeros(0)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def _blocks(self, messages: list[Message]) -> tuple[sp.csr_matrix, np.ndarray]:
        """Raw sparse counts and dense vectors of the messages' sentence features."""
        sparse_rows, dense_rows = [], []
        for message in messages:
            sparse_features = message.get_sparse_features(TEXT)[1]
            dense_features = message.get_dense_features(TEXT)[1]
            if sparse_features is None and dense_features is None:
                raise NoFeatures(f"no sentence features for {TEXT!r}; check the featurizers in config.yml")
            sparse_rows.append(sp.csr_matrix(sparse_features.features) if sparse_features else None)
            dense_rows.append(np.asarray(dense_features.features).ravel() if dense_features else None)
        sparse_width = next((row.shape[1] for row in sparse_rows if row is not None), 0)
        dense_width = next((row.shape[0] for row in dense_rows if row is not None), 0)
        counts = sp.vstack([row if row is not None else sp.csr_matrix((1, sparse_width)) for row in sparse_rows])
        dense = np.vstack([row if row is not None else np.zeros(dense_width) for row in dense_rows])
        return counts.tocsr(), dense

    def _matrix(self, messages: list[Message]) -> sp.csr_matrix:
        counts, dense = self._blocks(messages)
        blocks = [sp.csr_matrix(dense * float(self.config["dense_weight"]))]
        if counts.shape[1]:
            blocks.insert(0, tfidf_rows(counts, self.idf))
        return sp.hstack(blocks).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the model on the intent examples and stores it."""
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            logger.warning("No intent examples: %s is not trained.", type(self).__name__)
            return self._resource
        counts, _ = self._blocks(examples)
        self.idf = fit_idf(counts) if counts.shape[1] else np.zeros(0)
        model = LogisticRegression(
            C=float(self.config["C"]),
            solver=str(self.config["solver"]),
            class_weight="balanced",
            max_iter=int(self.config["max_iter"]),
            random_state=int(self.config["random_state"]),
        )
        model.fit(self._matrix(examples), [e.get(INTENT) for e in examples])
        self.classes, self.coef, self.intercept = model.classes_.astype(str), model.coef_, model.intercept_
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets the most likely intent and the ranking of the most likely ones."""
        featurised = [m for m in messages if m.get(TEXT) and m.features_present(TEXT)] if self.classes.size else []
        for message in messages:  # what Rasa's own classifiers set when they cannot tell (an empty message)
            message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        if not featurised:
            return messages
        probabilities = softmax(np.asarray(self._matrix(featurised) @ self.coef.T) + self.intercept)
        for message, row in zip(featurised, probabilities, strict=True):
            order = np.argsort(-row)[: int(self.config["ranking_length"]) or None]
            ranking = [{"name": str(self.classes[i]), "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(
                directory / MODEL_FILE, classes=self.classes, coef=self.coef, intercept=self.intercept, idf=self.idf
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        """The trained model, or an untrained one (which leaves messages alone) if none was stored."""
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory, np.load(directory / MODEL_FILE) as stored:
                component.classes = stored["classes"]
                component.coef, component.intercept, component.idf = stored["coef"], stored["intercept"], stored["idf"]
        except (ValueError, FileNotFoundError):
            logger.warning("No trained %s in the model: intents will not be classified.", cls.__name__)
        return component

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leaves the training data alone: predicting on it would overwrite the gold intents."""
        return training_data
