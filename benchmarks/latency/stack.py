"""Rasa's side of the run: credentials with the REST channel (the baseline), a bounded log, the mix's intents."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import httpx

from benchmarks.latency.plan import RASA_TOKEN, REPLY_TIMEOUT


def write_credentials(directory: Path) -> Path:
    """Our channel (as in credentials.yml) plus Rasa's built-in REST channel for the baseline."""
    path = directory / "credentials.yml"
    path.write_text(
        "# Written by benchmarks/latency/stack.py: our channel plus Rasa's REST channel (baseline).\n"
        "rasa_addons.channel.ParseReturningInput:\n"
        "  token: ${RASA_TOKEN}\n"
        "rest:\n",
        encoding="utf-8",
    )
    return path


class RasaLog:
    """A text sink for the children's output that keeps only the last lines (bounded memory)."""

    def __init__(self, keep: int = 400) -> None:
        self._lines: list[str] = []
        self._keep = keep

    def write(self, text: str) -> int:
        self._lines.extend(text.splitlines())
        if len(self._lines) > 2 * self._keep:
            del self._lines[: -self._keep]
        return len(text)

    def flush(self) -> None:
        return None

    def getvalue(self) -> str:
        return "\n".join(self._lines)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self._lines[-lines:])


async def parse_intents(rasa_url: str, texts: Sequence[str]) -> dict[str, str]:
    """Rasa's intent for each text of the mix (shown in the report; also catches hand-off texts)."""
    intents: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=rasa_url, timeout=REPLY_TIMEOUT) as client:
        for text in texts:
            response = await client.post("/model/parse", params={"token": RASA_TOKEN}, json={"text": text})
            response.raise_for_status()
            intents[text] = str((response.json().get("intent") or {}).get("name"))
    return intents
