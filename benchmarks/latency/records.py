"""What a phase and the long conversation measured, and the run's report record."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from benchmarks.common import median, percentile
from benchmarks.latency.plan import REPLY_TIMEOUT


@dataclass(frozen=True)
class Arrival:
    offset: float  # seconds after the phase start
    driver: int  # 0 .. DRIVERS-1
    text: str


@dataclass
class PhaseResult:
    path: str  # "baseline" or "pipeline"
    rate: float
    seconds: float
    latencies: list[float | None]  # None: no reply within REPLY_TIMEOUT
    max_lag: float = 0.0  # worst delay of a send behind its schedule
    stages: dict[str, list[float]] = field(default_factory=dict)  # pipeline only: the bot's stage timings
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process during the phase

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def timeouts(self) -> int:
        return sum(1 for value in self.latencies if value is None)

    def censored(self) -> list[float]:
        return [REPLY_TIMEOUT if value is None else value for value in self.latencies]

    def quantile(self, q: int) -> float:
        return percentile(self.censored(), q)


@dataclass
class LongResult:
    path: str
    latencies: list[float | None]
    window: int
    fresh: list[float | None] = field(default_factory=list)  # control: a new conversation right afterwards

    def fresh_median(self) -> float:
        return median([v for v in self.fresh if v is not None])

    def first(self) -> float:
        return median([v for v in self.latencies[: self.window] if v is not None])

    def last(self) -> float:
        return median([v for v in self.latencies[-self.window :] if v is not None])

    @property
    def ratio(self) -> float:
        return self.last() / self.first() if self.first() > 0 else math.nan

    @property
    def timeouts(self) -> int:
        return sum(1 for value in self.latencies if value is None)


@dataclass
class Report:
    started: dt.datetime
    command: str
    database: str
    quick: bool
    load_start: tuple[float, float, float]
    mix_intents: dict[str, str] = field(default_factory=dict)
    main: list[PhaseResult] = field(default_factory=list)
    saturation: list[PhaseResult] = field(default_factory=list)
    long: list[LongResult] = field(default_factory=list)
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    minutes: float = 0.0
