"""Training the Rasa model, only when the training data or the pipeline changed."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from pathlib import Path

from foundation.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

RASA_BIN = PROJECT_ROOT / "rasa-env" / ".venv" / "bin" / "rasa"
MODELS_DIR = PROJECT_ROOT / "models"
# what the model is made from: the data, the domain, the pipeline and our own components' code
TRAINING_INPUTS = (("data", "*.yml"), ("domain.yml", ""), ("config.yml", ""), ("rasa_addons", "*.py"))
# training vectors by text, so a retrain embeds only new texts (rasa_addons/e5_featurizer.py)
E5_TRAINING_CACHE = PROJECT_ROOT / "var" / "embeddings" / "e5_training.npz"


class TrainingFailed(RuntimeError):
    """`rasa train` exited with an error."""


def training_files(root: Path = PROJECT_ROOT) -> list[Path]:
    files: list[Path] = []
    for name, pattern in TRAINING_INPUTS:
        path = root / name
        files.extend(sorted(path.rglob(pattern)) if path.is_dir() else [path])
    return files


def fingerprint(root: Path = PROJECT_ROOT) -> str:
    """A hash of everything the model is trained from."""
    digest = hashlib.sha256()
    for path in training_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(root: Path = PROJECT_ROOT) -> Path:
    return MODELS_DIR / f"model-{fingerprint(root)}.tar.gz"


def rasa_base_env() -> dict[str, str]:
    """Environment for every Rasa command: no telemetry, our channel importable."""
    return {
        "RASA_TELEMETRY_ENABLED": "false",
        "PYTHONPATH": str(PROJECT_ROOT),
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONWARNINGS": "ignore",
        # the e5 featurizer's OpenMP threads otherwise spin after every sentence: 43 -> 22 ms CPU per message
        "OMP_WAIT_POLICY": "PASSIVE",
    }


def train(force: bool = False) -> Path:
    """Train unless a model for the current data exists; returns the model's path."""
    target = model_path()
    if target.exists() and not force:
        logger.info("Model is up to date: %s", target.name)
        return target
    MODELS_DIR.mkdir(exist_ok=True)
    logger.info("Training the Rasa model (%s); this takes a minute or two", target.name)
    command = [
        str(RASA_BIN),
        "train",
        "--data",
        "data",
        "--domain",
        "domain.yml",
        "--config",
        "config.yml",
        "--out",
        str(MODELS_DIR),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
        "--force",
    ]
    env = {**os.environ, **rasa_base_env(), "E5_TRAINING_CACHE": str(E5_TRAINING_CACHE)}
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=False)
    if result.returncode != 0 or not target.exists():
        raise TrainingFailed(f"rasa train exited with {result.returncode}")
    for old in MODELS_DIR.glob("model-*.tar.gz"):
        if old != target:
            old.unlink()
    return target
