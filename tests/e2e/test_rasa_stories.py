"""The Rasa test stories in tests/rasa/ pass on the trained model (`make rasa-test` runs the same command).

`rasa test core` checks each story's intents (the NLU on the driver's words) and every action the policy
predicts; one wrong prediction fails it. It runs here, with the end-to-end tests, because starting Rasa
and loading the model take longer than the evaluation itself (measured in docs/rasa.md).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from app.training import RASA_BIN, rasa_base_env, train
from foundation.settings import PROJECT_ROOT

STORIES = PROJECT_ROOT / "tests" / "rasa"


def test_the_test_stories_pass_on_the_trained_model(tmp_path: Path) -> None:
    model = train()
    done = subprocess.run(
        [
            str(RASA_BIN),
            "test",
            "core",
            "--model",
            str(model),
            "--stories",
            str(STORIES),
            "--out",
            str(tmp_path),
            "--fail-on-prediction-errors",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **rasa_base_env()},
        capture_output=True,
        text=True,
        timeout=900,
    )
    failed = (tmp_path / "failed_test_stories.yml").read_text(encoding="utf-8") if done.returncode else ""
    assert done.returncode == 0, failed or done.stderr[-3000:]
    report = json.loads((tmp_path / "story_report.json").read_text(encoding="utf-8"))
    for action in ("utter_greet", "complaint_form", "action_cancel_form", "action_check_status", "action_answer_legal"):
        assert report[action]["f1-score"] == 1.0, (action, report[action])
    assert report["weighted avg"]["support"] >= 30  # every step of every story was predicted
