"""The model on held-out messages written by other authors than its training data (never trained on)."""

from __future__ import annotations

import httpx

from app.local_stack import RunningStack
from foundation.settings import PROJECT_ROOT
from tests.support.nlu_eval import CORE_INTENTS, f1_by_intent, load_examples, macro_f1

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


async def _parse(stack: RunningStack, text: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.settings.rasa_url, timeout=30) as client:
        return await client.post("/model/parse", params={"token": stack.settings.rasa_token}, json={"text": text})


async def test_a_parse_ranks_the_likely_intents_so_the_fallback_can_weigh_them(stack: RunningStack) -> None:
    parsed = (await _parse(stack, "出租车司机不打表还绕路，多收了我三十块，我要投诉")).json()
    ranking = parsed["intent_ranking"]
    assert parsed["intent"]["name"] == "complaint"
    assert len(ranking) >= 3
    assert [r["confidence"] for r in ranking] == sorted((r["confidence"] for r in ranking), reverse=True)
    assert sum(r["confidence"] for r in ranking) <= 1.0 + 1e-6


async def test_a_blank_message_gets_no_confident_intent_instead_of_an_error(stack: RunningStack) -> None:
    for text in ("", "   "):
        response = await _parse(stack, text)
        assert response.status_code == 200
        assert response.json()["intent"]["name"] in (None, "nlu_fallback")
