"""The plan of the load run: rates, durations, drivers, identifiers and every limit."""

from __future__ import annotations

from benchmarks.common import PROJECT_ROOT, RESULTS_DIR

RESULTS_FILE = RESULTS_DIR / "load.md"
REST_PATH = "/webhooks/rest/webhook"
RASA_TOKEN = "load-bench-token"
WEBHOOK_URL = "https://complaints.example.test/telegram/hook"
WEBHOOK_SECRET = "load-bench-webhook-secret_0123456789"
REDIS_URL = "redis://127.0.0.1:6379/7"
STAFF_CHAT_ID = -100_3000_0001
SEED = 20261128

DRIVERS = 200
DRIVER_BASE = 830_000_000  # Telegram ids of the regular drivers
BASELINE_BASE = 840_000_000  # their own conversations, used only by the baseline (REST)
ONESHOT_BASE = 850_000_000  # one-shot drivers whose single message opens a case
WARMUP_USER = 899_100_001
WARMUP_BASELINE_USER = 899_100_002
# intents whose texts open a case (and hand the conversation to staff) or ask a clarifying question that
# a second one in a row escalates: sent by one-shot drivers only
CASE_INTENTS = frozenset({"service_request", "complaint", "human_handoff", "nlu_fallback"})
CASE_RATE = 0.1  # one-shot drivers per second (6 new cases a minute: within the staff group's 20 posts/min)

RATES: tuple[float, ...] = (5, 10, 15, 20, 30, 40, 50, 60)
RATE_SECONDS = 30.0
SATURATION_P95 = 1.0
OVERLOAD_RATE, OVERLOAD_SECONDS = 100.0, 60.0
FAULT_RATE, FAULT_SECONDS, FAULT_AT = 15.0, 60.0, 15.0
RASA_DOWN_SECONDS = 30.0
RASA_STOP_WAIT = 30.0  # a Rasa server still running this long after SIGTERM is killed
WORKER_DOWN_SECONDS = 5.0
FAULT_TAIL = 10.0  # a fault still going when the load should end: the load goes on until it ends + this
FAULT_MAX_SECONDS = 180.0
DRAIN_STEADY, DRAIN_OVERLOAD, DRAIN_FAULT = 120.0, 600.0, 300.0
QUICK = {
    "rates": (5.0, 10.0),
    "rate_seconds": 8.0,
    "overload_seconds": 8.0,
    "fault_seconds": 25.0,
    "fault_at": 5.0,
    "rasa_down": 10.0,
    "drain_overload": 180.0,
}
REST_TIMEOUT = 60.0
IDLE_QUIET = 1.0
IDLE_LIMIT = 120.0
POLL = 0.25
BENCH_DIR = PROJECT_ROOT / "var" / "bench"  # worker logs, the stack's log, the burst report

# escalation burst (--burst)
BURST_RATE, BURST_SECONDS = 5.0, 120.0
BURST_DRIVERS, BURST_FROM, BURST_TO = 40, 10.0, 20.0
BURST_TEXT = "人工"  # asks for a person: a new case, handed to staff, a topic in the staff group
