"""The worker's /metrics endpoint for Prometheus (METRICS_PORT; off without it), on loopback by default.

Besides the counters the worker keeps (foundation/metrics.py) it reports, read from the database at each
scrape: the backlog of unanswered messages, cases opened and cases overdue (the same for every worker).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from bureau.deps import Deps
from foundation.clock import utcnow
from foundation.metrics import metrics
from foundation.settings import ConfigError
from storage.figures import cases_opened, cases_overdue
from storage.inbox import backlog

logger = logging.getLogger(__name__)


class DatabaseFigures(Collector):
    """Figures read at scrape time; a database that does not answer shows as complaints_database_up 0."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("complaints_database_up", "1 if the figures below could be read from the database")
        try:
            with self._deps.sessions.begin() as session:
                waiting, oldest = backlog(session)
                opened, overdue = cases_opened(session), cases_overdue(session, utcnow())
        except SQLAlchemyError as exc:
            logger.warning("Metrics: database unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("complaints_backlog_messages", "Messages stored and not answered yet", value=waiting)
        age = (utcnow() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily("complaints_backlog_oldest_seconds", "Age of the oldest unanswered message", value=age)
        yield CounterMetricFamily("complaints_cases_opened", "Cases filed so far (all workers)", value=opened)
        yield GaugeMetricFamily(
            "complaints_cases_overdue", "Open cases past their handling-opinion deadline", value=overdue
        )


class Together(Collector):
    """The process's counters and this worker's database figures, served as one page."""

    def __init__(self, *parts: Collector) -> None:
        self._parts = parts

    def collect(self) -> Iterator[Metric]:
        for part in self._parts:
            yield from part.collect()


@dataclass
class MetricsServer:
    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_metrics(deps: Deps, port: int | None = None) -> MetricsServer | None:
    """Serve /metrics on METRICS_HOST:METRICS_PORT (0: any free port); None when metrics are off."""
    settings = deps.settings
    port = settings.metrics_port if port is None else port
    if port is None:
        return None
    exposed = Together(metrics().registry, DatabaseFigures(deps))
    try:
        server, thread = start_http_server(port, addr=settings.metrics_host, registry=exposed)
    except OSError as exc:
        raise ConfigError(f"METRICS_PORT {port} on {settings.metrics_host} cannot be used: {exc.strerror}") from exc
    logger.info("Prometheus metrics on http://%s:%s/metrics", settings.metrics_host, server.server_port)
    return MetricsServer(server, thread)
