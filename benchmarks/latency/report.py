"""The latency run's markdown report."""

from __future__ import annotations

import math
import platform
from collections import Counter
from collections.abc import Sequence

from benchmarks.common import median, ms
from benchmarks.latency.mix import LONG_CONVERSATION_TEXTS, MESSAGE_MIX
from benchmarks.latency.plan import (
    DRIVERS,
    LONG_MESSAGES,
    LONG_WINDOW,
    PHASE_SECONDS,
    QUICK_LONG_MESSAGES,
    QUICK_LONG_WINDOW,
    QUICK_PHASE_SECONDS,
    QUICK_RATES,
    RATES,
    REPLY_TIMEOUT,
    SATURATION_P95,
    SATURATION_RATES,
    SATURATION_SECONDS,
    TARGET_LONG_RATIO,
    TARGET_P95_AT_5,
    TARGET_RATIO,
    TARGET_SATURATION,
)
from benchmarks.latency.records import PhaseResult, Report
from benchmarks.latency.stages import STAGE_METHODS


def ratio_text(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("PASS" if ok else "FAIL")


def find(results: Sequence[PhaseResult], path: str, rate: float) -> PhaseResult | None:
    return next((r for r in results if r.path == path and r.rate == rate), None)


def saturation_rate(report: Report, path: str) -> float | None:
    """First measured rate whose p95 exceeds SATURATION_P95; None if none did."""
    for result in sorted((r for r in report.main + report.saturation if r.path == path), key=lambda r: r.rate):
        if result.quantile(95) > SATURATION_P95:
            return result.rate
    return None


def saturation_text(report: Report, path: str) -> str:
    if report.quick:
        return "not measured (--quick)"
    rate = saturation_rate(report, path)
    top = max(SATURATION_RATES)
    return f"> {top:g} msg/s" if rate is None else f"{rate:g} msg/s"


def phase_table(results: Sequence[PhaseResult], with_ratio: bool) -> list[str]:
    head = "| rate (msg/s) | path | count | p50 ms | p95 ms | p99 ms | timeouts | max send lag ms |"
    rule = "|---|---|---|---|---|---|---|---|"
    if with_ratio:
        head += " p50 ratio | p95 ratio |"
        rule += "---|---|"
    lines = [head, rule]
    for result in sorted(results, key=lambda r: (r.rate, r.path)):
        row = (
            f"| {result.rate:g} | {result.path} | {result.count} | {ms(result.quantile(50))} | "
            f"{ms(result.quantile(95))} | {ms(result.quantile(99))} | {result.timeouts} | {ms(result.max_lag)} |"
        )
        if with_ratio:
            base = find(results, "baseline", result.rate)
            if result.path == "pipeline" and base is not None:
                row += (
                    f" {ratio_text(result.quantile(50) / base.quantile(50))} |"
                    f" {ratio_text(result.quantile(95) / base.quantile(95))} |"
                )
            else:
                row += " – | – |"
        lines.append(row)
    return lines


def stage_table(results: Sequence[PhaseResult]) -> list[str]:
    """One row per pipeline phase; stages that never ran (e.g. `finish` when the bot closes the update
    together with its last reply) are left out."""
    names = [name for name, _, _ in STAGE_METHODS if any(r.stages.get(name) for r in results)]
    lines = [
        "| rate (msg/s) | end-to-end p50 | " + " | ".join(names) + " | rest | updates per batch |",
        "|---|---|" + "---|" * len(names) + "---|---|",
    ]
    before_reply = ("store message", "Rasa", "store replies")
    for result in sorted(results, key=lambda r: r.rate):
        medians = {name: median(result.stages.get(name, [])) for name in names}
        known = sum(medians[name] for name in before_reply if not math.isnan(medians[name]))
        rest = result.quantile(50) - known
        cells = " | ".join(ms(medians[name]) for name in names)
        batches = len(result.stages.get("store batch", []))
        per_batch = f"{result.count / batches:.1f}" if batches else "n/a"
        lines.append(f"| {result.rate:g} | {ms(result.quantile(50))} | {cells} | {ms(rest)} | {per_batch} |")
    return lines


def cpu_table(results: Sequence[PhaseResult]) -> list[str]:
    names = ["Rasa", "action server", "bot process"]
    lines = ["| rate (msg/s) | path | " + " | ".join(names) + " | total |", "|---|---|" + "---|" * (len(names) + 1)]
    for result in sorted(results, key=lambda r: (r.rate, r.path)):
        per = {name: result.cpu.get(name, math.nan) / max(result.count, 1) for name in names}
        cells = " | ".join(ms(per[name]) for name in names)
        lines.append(f"| {result.rate:g} | {result.path} | {cells} | {ms(sum(per.values()))} |")
    return lines


def targets(report: Report) -> list[tuple[str, str, bool | None]]:
    rows: list[tuple[str, str, bool | None]] = []
    at5 = find(report.main, "pipeline", 5.0)
    rows.append(
        (
            f"pipeline p95 ≤ {TARGET_P95_AT_5 * 1000:.0f} ms at 5 msg/s",
            f"{ms(at5.quantile(95))} ms" if at5 else "n/a",
            (at5.quantile(95) <= TARGET_P95_AT_5) if at5 else None,
        )
    )
    ratios: list[str] = []
    ok = True
    for result in sorted((r for r in report.main if r.path == "pipeline"), key=lambda r: r.rate):
        base = find(report.main, "baseline", result.rate)
        if base is None:
            continue
        p50 = result.quantile(50) / base.quantile(50)
        p95 = result.quantile(95) / base.quantile(95)
        ok = ok and p50 <= TARGET_RATIO and p95 <= TARGET_RATIO
        ratios.append(f"{result.rate:g}/s: p50 ×{p50:.2f}, p95 ×{p95:.2f}")
    rows.append((f"pipeline within {TARGET_RATIO}x of Rasa alone (p50 and p95, every rate)", "; ".join(ratios), ok))
    pipeline_sat = saturation_rate(report, "pipeline")
    rows.append(
        (
            f"pipeline saturation (p95 > 1 s) above {TARGET_SATURATION:g} msg/s",
            saturation_text(report, "pipeline"),
            None if report.quick else (pipeline_sat is None or pipeline_sat > TARGET_SATURATION),
        )
    )
    long_pipe = next((r for r in report.long if r.path == "pipeline"), None)
    rows.append(
        (
            f"last messages of a long conversation within {TARGET_LONG_RATIO}x of the first (pipeline)",
            f"×{long_pipe.ratio:.2f} (last vs a fresh conversation at the same time: "
            f"×{long_pipe.last() / long_pipe.fresh_median():.2f})"
            if long_pipe
            else "n/a",
            (long_pipe.ratio <= TARGET_LONG_RATIO) if long_pipe else None,
        )
    )
    return rows


def render(report: Report) -> str:
    rates = QUICK_RATES if report.quick else RATES
    seconds = QUICK_PHASE_SECONDS if report.quick else PHASE_SECONDS
    long_n = QUICK_LONG_MESSAGES if report.quick else LONG_MESSAGES
    window = QUICK_LONG_WINDOW if report.quick else LONG_WINDOW
    intents = Counter(report.mix_intents.values())
    fallbacks = [text for text, intent in report.mix_intents.items() if intent == "nlu_fallback"]
    lines = [
        "# Reply latency: whole pipeline vs Rasa alone" + (" (quick run)" if report.quick else ""),
        "",
        f"- Date: {report.started:%Y-%m-%d %H:%M} (total run {report.minutes:.1f} min)",
        f"- Command: `{report.command}`",
        f"- Machine: 2 cores, shared with other work, so timings are indicative "
        f"({platform.machine()}, Python {platform.python_version()}; load average at start "
        f"{report.load_start[0]:.2f}, at end {report.load_end[0]:.2f}).",
        f"- Database: {report.database}; Rasa tracker store: SQLite (endpoints.yml); everything on 127.0.0.1.",
        f"- Load: open loop, evenly spaced sends at {', '.join(f'{r:g}' for r in rates)} msg/s for {seconds:g} s "
        f"each from {DRIVERS} simulated drivers (round-robin); per rate first the baseline, then the pipeline, "
        "with the same texts and schedule.",
        "- Pipeline latency: from handing the message to the local Bot API (`send_text`) to the first message "
        "the bot sends to that chat afterwards (local API arrival times; replies matched per chat in order). "
        "The bot polls the local API with long polling; the local API, the bot and the load generator share "
        "one event loop.",
        "- Baseline: the same texts to Rasa's own REST channel (`POST /webhooks/rest/webhook`); latency = request "
        "duration. Each simulated driver has a second conversation in the app database that only the baseline "
        "uses (a sender id of its own), so the custom actions find it and do the same database work as in the "
        "pipeline (with a made-up sender they would fail fast).",
        "- Before measuring, every non-complaint text of the mix went once through each path (warm-up, not counted).",
        f"- A reply later than {REPLY_TIMEOUT:g} s is a timeout and counts as {REPLY_TIMEOUT:g} s in the "
        "percentiles. `max send lag` = worst delay of a send behind its schedule.",
        f"- Message mix: {len(MESSAGE_MIX)} distinct texts; Rasa's intents for them: "
        + ", ".join(f"{name} {count}" for name, count in intents.most_common())
        + (f" (answered with a clarifying question: {', '.join(fallbacks)})" if fallbacks else "")
        + ".",
        "",
        "## Targets",
        "",
        "| target | measured | result |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {measured} | {verdict(ok)} |" for name, measured, ok in targets(report)]
    lines += ["", "## Open-loop latency", "", *phase_table(report.main, with_ratio=True), ""]
    lines += ["## Saturation", ""]
    if report.quick:
        lines += ["Not measured (`--quick`).", ""]
    else:
        lines += [
            f"Rising rates ({', '.join(f'{r:g}' for r in SATURATION_RATES)} msg/s, {SATURATION_SECONDS:g} s each); "
            f"a path stops rising once its p95 exceeds {SATURATION_P95:g} s.",
            "",
            *phase_table(report.saturation, with_ratio=True),
            "",
            f"- First rate with p95 > {SATURATION_P95:g} s: pipeline {saturation_text(report, 'pipeline')}, "
            f"Rasa alone {saturation_text(report, 'baseline')}.",
            "",
        ]
    lines += [
        "## Where the pipeline's time goes",
        "",
        "Median duration per call of the bot's stages (the bot runs in the benchmark process; methods wrapped "
        "with timers). `store batch` runs once per getUpdates batch in a worker thread; the others once per "
        "message; `rest` = end-to-end p50 minus the per-message stages before the first reply (long-poll "
        "wake-up, update dispatch, waiting for the event loop), approximate since medians do not add up; "
        "`updates per batch` = messages per non-empty getUpdates answer.",
        "",
        *stage_table([r for r in report.main + report.saturation if r.path == "pipeline"]),
        "",
        "CPU time per message (ms) of each process during each phase (from /proc; `bot process` = the bot, the "
        "local Bot API and the load generator, which share one process; during a baseline phase it only runs "
        "the HTTP client).",
        "",
        *cpu_table(report.main + report.saturation),
        "",
        "## Long conversation",
        "",
        f"One driver, {long_n} messages one after the other (next message after the reply), texts cycled from "
        f"{len(LONG_CONVERSATION_TEXTS)} non-form messages (greetings, thanks, legal questions). "
        f"Median of messages 1-{window} vs {long_n - window + 1}-{long_n}. The pipeline runs first, then the "
        "baseline (one REST sender), so that the REST sender's ever longer tracker cannot slow the pipeline's "
        f"Rasa calls. Control: {window} messages of a fresh conversation on the same path right afterwards; "
        "`last / fresh` separates the conversation's length from the machine's load at the end. "
        "The bot starts a new Rasa session "
        "every 30 turns when no form is open; the REST sender's session never ends "
        "(session_expiration_time: 0).",
        "",
        f"| path | messages | median 1-{window} ms | median {long_n - window + 1}-{long_n} ms | ratio | "
        f"fresh conversation ms | last / fresh | median all ms | timeouts |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in report.long:
        answered = [v for v in result.latencies if v is not None]
        fresh = result.fresh_median()
        lines.append(
            f"| {result.path} | {len(result.latencies)} | {ms(result.first())} | {ms(result.last())} | "
            f"{ratio_text(result.ratio)} | {ms(fresh)} | {ratio_text(result.last() / fresh)} | "
            f"{ms(median(answered))} | {result.timeouts} |"
        )
    lines.append("")
    return "\n".join(lines)
