"""The model is retrained when anything it is made from changes, our components' code included."""

from __future__ import annotations

from pathlib import Path

from app.training import fingerprint


def _project(root: Path) -> None:
    (root / "data").mkdir()
    (root / "data" / "nlu.yml").write_text("nlu: []\n", encoding="utf-8")
    (root / "domain.yml").write_text("intents: []\n", encoding="utf-8")
    (root / "config.yml").write_text("pipeline: []\n", encoding="utf-8")
    (root / "rasa_addons").mkdir()
    (root / "rasa_addons" / "featurizer.py").write_text("WEIGHT = 1\n", encoding="utf-8")


def test_a_change_to_a_component_changes_the_model_name(tmp_path: Path) -> None:
    _project(tmp_path)
    before = fingerprint(tmp_path)
    (tmp_path / "rasa_addons" / "featurizer.py").write_text("WEIGHT = 2\n", encoding="utf-8")
    assert fingerprint(tmp_path) != before


def test_a_change_to_the_data_changes_the_model_name_and_nothing_else_does(tmp_path: Path) -> None:
    _project(tmp_path)
    before = fingerprint(tmp_path)
    (tmp_path / "README.md").write_text("notes\n", encoding="utf-8")
    assert fingerprint(tmp_path) == before
    (tmp_path / "data" / "nlu.yml").write_text("nlu: [1]\n", encoding="utf-8")
    assert fingerprint(tmp_path) != before
