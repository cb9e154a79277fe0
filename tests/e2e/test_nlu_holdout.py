"""The model on held-out messages written by other authors than its training data (never trained on)."""

from __future__ import annotations

import httpx

from complaints.config import PROJECT_ROOT
from tests.support.nlu_eval import CORE_INTENTS, f1_by_intent, load_examples, macro_f1
from tests.support.stack import RunningStack

HOLDOUT = sorted((PROJECT_ROOT / "tests" / "nlu").glob("holdout_*.yml"))
REPORT = PROJECT_ROOT / "var" / "reports" / "nlu_holdout.md"


async def test_held_out_messages_are_classified(stack: RunningStack) -> None:
    examples = load_examples(HOLDOUT)
    assert len(examples) >= 250
    gold, predicted, wrong_confident = [], [], 0
    async with httpx.AsyncClient(base_url=stack.settings.rasa_url, timeout=30) as client:
        for text, intent in examples:
            response = await client.post(
                "/model/parse", params={"token": stack.settings.rasa_token}, json={"text": text}
            )
            name = response.json()["intent"]["name"]
            gold.append(intent)
            predicted.append(name)
            wrong_confident += name not in (intent, "nlu_fallback")
    core = f1_by_intent(gold, predicted, CORE_INTENTS)
    everything = f1_by_intent(gold, predicted, sorted(set(gold)))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"| {k} | {v:.3f} |" for k, v in everything.items()]
    REPORT.write_text(
        "| intent | F1 |\n|---|---|\n" + "\n".join(lines) + f"\n\ncore macro-F1 {macro_f1(core):.3f}; "
        f"wrong confident answers {wrong_confident}/{len(examples)}\n",
        encoding="utf-8",
    )
    assert macro_f1(core) >= 0.88, core
    assert wrong_confident / len(examples) <= 0.12
