"""Prometheus metrics of a bot worker: messages in and out, reply latency, Rasa and action-server failures.

One registry a process, made on first use (not at import). The figures read from the database at scrape
time (backlog, cases opened and overdue) are added by the worker that serves them (app/metrics_server.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from prometheus_client import CollectorRegistry, Counter, Histogram

# a reply is one Rasa turn plus Telegram: most take well under a second, a slow Rasa several
REPLY_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    messages_in: Counter  # label chat: driver | staff
    messages_out: Counter  # label to: driver | staff
    reply_seconds: Histogram
    rasa_failures: Counter  # label reason: connect | timeout | http | ...
    action_server_failures: Counter


@cache
def metrics() -> Metrics:
    """This process's metrics."""
    registry = CollectorRegistry(auto_describe=True)
    return Metrics(
        registry=registry,
        messages_in=Counter(
            "complaints_messages_in",
            "Messages taken from Telegram: from drivers (private chats) and from the staff group",
            ["chat"],
            registry=registry,
        ),
        messages_out=Counter(
            "complaints_messages_out",
            "Messages sent to Telegram: to drivers, and to the staff group or the supervisors' chat",
            ["to"],
            registry=registry,
        ),
        reply_seconds=Histogram(
            "complaints_reply_seconds",
            "From a worker taking a driver's message to the last piece of its reply sent",
            buckets=REPLY_BUCKETS,
            registry=registry,
        ),
        rasa_failures=Counter(
            "complaints_rasa_failures",
            "Calls to a Rasa server that failed (the message waits and is tried again)",
            ["reason"],
            registry=registry,
        ),
        action_server_failures=Counter(
            "complaints_action_server_failures",
            "Turns Rasa could not complete because the action server did not answer",
            registry=registry,
        ),
    )
