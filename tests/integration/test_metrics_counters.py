"""Failures a monitoring system must see: Rasa and the action server not answering, the endpoint switched off."""

from __future__ import annotations

import pytest

from app.local_stack import free_port
from app.metrics_server import start_metrics
from bot.rasa_client import RasaClient, RasaUnavailable
from bureau.deps import Deps
from foundation.metrics import metrics


def _value(name: str, **labels: str) -> float:
    return metrics().registry.get_sample_value(name, labels) or 0.0


async def test_rasa_and_action_server_failures_are_counted() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    client = RasaClient((nowhere,), "token", 2.0, nowhere)
    rasa_before = _value("complaints_rasa_failures_total", reason="connect")
    actions_before = _value("complaints_action_server_failures_total")
    try:
        with pytest.raises(RasaUnavailable):
            await client.send("driver-1", "你好", "1-0")
        assert not await client.actions_alive()
    finally:
        await client.close()
    assert _value("complaints_rasa_failures_total", reason="connect") == rasa_before + 1
    assert _value("complaints_action_server_failures_total") == actions_before + 1


def test_metrics_are_off_unless_a_port_is_set(deps: Deps) -> None:
    assert deps.settings.metrics_port is None
    assert start_metrics(deps) is None
