"""The baseline's request to Rasa's own REST channel (latency and load benchmarks)."""

from __future__ import annotations

from foundation.keys import owner_token
from foundation.settings import DigestSettings


def rest_message(sender: str, text: str) -> dict[str, object]:
    """The text with the bot's proof of the sender id, which the actions check (benchmark stacks are built
    with make_settings, hence the default key)."""
    owner = owner_token(DigestSettings().pseudonym_key, sender)
    return {"sender": sender, "message": text, "metadata": {"owner": owner}}
