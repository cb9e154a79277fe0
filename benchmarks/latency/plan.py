"""The plan of the latency run: rates, durations, simulated drivers, timeouts and the targets."""

from __future__ import annotations

from benchmarks.common import RESULTS_DIR

RESULTS_FILE = RESULTS_DIR / "latency.md"
REST_PATH = "/webhooks/rest/webhook"
RASA_TOKEN = "bench-secret-token"

DRIVERS = 200
PIPELINE_USER_BASE = 810_000_000  # Telegram user ids of the simulated drivers (pipeline)
BASELINE_USER_BASE = 820_000_000  # their own conversations, used only through the REST channel (baseline)
LONG_USER_ID = 899_000_001  # the long-conversation driver (pipeline)
LONG_BASELINE_USER_ID = 899_000_002
WARMUP_USER_ID = 899_000_003
WARMUP_BASELINE_USER_ID = 899_000_004
FRESH_USER_ID = 899_000_005  # control after the long conversation
FRESH_BASELINE_USER_ID = 899_000_006

RATES: tuple[float, ...] = (1.0, 5.0, 15.0)
QUICK_RATES: tuple[float, ...] = (1.0, 5.0)
PHASE_SECONDS = 20.0
QUICK_PHASE_SECONDS = 6.0
SATURATION_RATES: tuple[float, ...] = (20.0, 25.0, 30.0, 40.0, 50.0)
SATURATION_SECONDS = 10.0
SATURATION_P95 = 1.0  # seconds
LONG_MESSAGES = 500
LONG_WINDOW = 20
QUICK_LONG_MESSAGES = 60
QUICK_LONG_WINDOW = 10

REPLY_TIMEOUT = 10.0  # a reply later than this is a timeout
DRAIN_LIMIT = 30.0  # after the last send of a phase, wait at most this long for stragglers
QUIET_SECONDS = 0.5  # the bot sent nothing for this long: the phase is over
QUIET_LIMIT = 30.0
POLL_SECONDS = 0.1
PHASE_GAP = 1.0
START_DELAY = 0.05
SEED = 20261127

TARGET_P95_AT_5 = 0.150
TARGET_RATIO = 1.5
TARGET_SATURATION = 20.0
TARGET_LONG_RATIO = 1.2
