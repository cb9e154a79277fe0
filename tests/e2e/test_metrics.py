"""Prometheus metrics of a bot worker: scraped over HTTP before and after a driver files a complaint."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.local_stack import Driver, RunningStack, last_with_buttons, texts
from app.metrics_server import MetricsServer, start_metrics


@pytest.fixture
def endpoint(stack: RunningStack) -> Iterator[str]:
    served = start_metrics(stack.deps, port=0)
    assert isinstance(served, MetricsServer)
    yield f"http://127.0.0.1:{served.port}/metrics"
    served.stop()


async def scrape(url: str) -> dict[str, float]:
    """Every sample as `name{label="value"}` -> value."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


async def test_a_complaint_moves_the_counters_a_monitoring_system_reads(
    stack: RunningStack, new_driver, endpoint: str
) -> None:
    before = await scrape(endpoint)
    driver: Driver = new_driver("老孙")
    await driver.say("河口收费站的工作人员多收了我50块钱过路费，还不给发票")
    await driver.say("今天上午10点")
    replies = await driver.photo()
    receipt = texts(await driver.press(last_with_buttons(replies), "确认提交"))
    assert "TS-" in receipt
    await asyncio.sleep(0.5)  # the last reply is marked sent right after Telegram took it
    after = await scrape(endpoint)

    def moved(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert moved('complaints_messages_in_total{chat="driver"}') >= 3  # two texts and a photo (the button is no message)
    assert moved('complaints_messages_out_total{to="driver"}') >= 4
    assert moved("complaints_reply_seconds_count") >= 3
    assert moved("complaints_reply_seconds_sum") > 0
    assert moved("complaints_cases_opened_total") == 1
    assert after["complaints_database_up"] == 1
    assert after["complaints_backlog_messages"] >= 0 and "complaints_cases_overdue" in after
    assert 'complaints_reply_seconds_bucket{le="60.0"}' in after
