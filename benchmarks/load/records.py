"""What a phase of the load run measured, and the run's report record."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import percentile
from benchmarks.load.accounting import Accounting, Outcome, Sent
from benchmarks.load.plan import FAULT_RATE, REST_TIMEOUT


@dataclass(frozen=True)
class Arrival:
    offset: float
    driver: int  # 0..DRIVERS-1, or -1: a one-shot driver
    text: str


@dataclass
class BaselineRun:
    rate: float
    seconds: float
    latencies: list[float | None]
    cpu: dict[str, float] = field(default_factory=dict)

    def censored(self) -> list[float]:
        return [REST_TIMEOUT if v is None else v for v in self.latencies]

    def q(self, p: float) -> float:
        return percentile(self.censored(), p)

    @property
    def answered(self) -> int:
        return sum(1 for v in self.latencies if v is not None)


@dataclass
class LoadRun:
    name: str
    rate: float
    seconds: float
    sent: list[Sent]
    outcomes: list[Outcome]
    accounting: Accounting
    first_send: float
    last_send: float
    drained_at: float | None  # time.monotonic() when nothing was pending any more (None: not within the limit)
    cpu: dict[str, float]
    samples: list[Any]
    events: list[tuple[str, float]] = field(default_factory=list)
    fault_end: float | None = None
    fault_note: str = ""
    log_errors: int = 0
    ended: float = 0.0
    max_lag: float = 0.0  # worst delay of a send behind its schedule

    def regular(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.sent.oneshot]

    def latencies(self, outcomes: Sequence[Outcome] | None = None) -> list[float]:
        """Reply latencies, an unanswered message counting as the time it has waited (a lower bound)."""
        chosen = self.regular() if outcomes is None else outcomes
        return [o.latency if o.latency is not None else self.ended - o.sent.mono for o in chosen]

    def q(self, p: float, outcomes: Sequence[Outcome] | None = None) -> float:
        return percentile(self.latencies(outcomes), p)

    @property
    def answered(self) -> int:
        return sum(1 for o in self.outcomes if o.reply_at is not None)

    @property
    def throughput(self) -> float:
        """Answered messages per second, from the first send to the last first-reply."""
        times = [o.reply_at for o in self.outcomes if o.reply_at is not None]
        return len(times) / (max(times) - self.first_send) if times else math.nan

    @property
    def not_stored(self) -> int:
        return sum(1 for o in self.outcomes if not o.stored)

    @property
    def not_handled(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.stored and not o.handled]

    @property
    def lost(self) -> int:
        return self.not_stored + len(self.not_handled)

    @property
    def twice(self) -> int:
        """Messages answered twice: two inbound rows or one batch of replies stored twice."""
        return sum(1 for o in self.outcomes if o.inbound_rows > 1 or o.repeated_batch)

    def store_delays(self) -> list[float]:
        return [o.store_delay for o in self.outcomes if o.store_delay is not None]

    @property
    def drain(self) -> float | None:
        return None if self.drained_at is None else self.drained_at - self.last_send

    def catch_up(self) -> float | None:
        """From the end of the fault until every message sent before it was answered (None: some never were)."""
        if self.fault_end is None:
            return None
        before = [o for o in self.outcomes if o.sent.mono <= self.fault_end and not o.sent.oneshot]
        if any(not o.handled for o in before):
            return None
        replies = [o.reply_at for o in before if o.reply_at is not None]
        return max(0.0, max(replies) - self.fault_end) if replies else 0.0

    @property
    def apologies(self) -> int:
        return sum(1 for o in self.outcomes if o.apology)

    def peak_backlog(self) -> int:
        return max((s.pending for s in self.samples if s.pending is not None), default=0)

    def peak_connections(self) -> int:
        return max((s.connections for s in self.samples if s.connections is not None), default=0)


@dataclass
class Report:
    started: dt.datetime
    command: str
    quick: bool
    postgres: str
    load_start: tuple[float, float, float]
    mix: dict[str, str] = field(default_factory=dict)  # text -> intent
    regular_texts: list[str] = field(default_factory=list)
    case_texts: list[str] = field(default_factory=list)
    baseline: list[BaselineRun] = field(default_factory=list)
    steady: list[LoadRun] = field(default_factory=list)
    overload: LoadRun | None = None
    faults: list[LoadRun] = field(default_factory=list)
    logs: Any = None
    worker_starts: dict[str, float] = field(default_factory=dict)
    stack_notes: list[str] = field(default_factory=list)
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    minutes: float = 0.0
    fault_rate: float = FAULT_RATE
    cases: tuple[int, int] = (0, 0)
    burst: str = ""
    code: str = ""
