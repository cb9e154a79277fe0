"""The load run's markdown report: the run, a table for the README, the phases, the workers' logs."""

from __future__ import annotations

import math
import platform

from benchmarks.common import ms, percentile, secs
from benchmarks.load.plan import CASE_INTENTS, CASE_RATE, DRIVERS, OVERLOAD_RATE
from benchmarks.load.records import Report
from benchmarks.load.report_phases import (
    faults_section,
    find_baseline,
    overload_section,
    ratio,
    saturation,
    steady_section,
)


def intro(report: Report) -> list[str]:
    return [
        "# Load and faults: the scaled-out stack" + (" (quick run)" if report.quick else ""),
        "",
        f"- Date: {report.started:%Y-%m-%d %H:%M} (total run {report.minutes:.1f} min)",
        f"- Command: `{report.command}`; product code: {report.code}",
        f"- Machine: 2 cores, shared with other work, so timings are indicative ({platform.machine()}, Python "
        f"{platform.python_version()}; load average at start {report.load_start[0]:.2f}, at end "
        f"{report.load_end[0]:.2f}; the CPU table below shows how busy the whole machine was).",
        "- Stack, all on 127.0.0.1: our data and Rasa's tracker store in two fresh databases of "
        f"{report.postgres}; Redis lock store (db 7); the action server; two Rasa servers (the bot balances "
        "between them); two bot workers as separate OS processes (`.venv/bin/complaints bot`, webhook mode, "
        "FLOOD_PER_MINUTE=1000, BACKLOG_NOTICE_AT=200, STAFF_CHAT_ID set, so cases get topics in the staff "
        "group) behind the webhook proxy of `simulator/webhook_proxy.py` (Telegram's delivery: an update is kept until "
        "a worker answers 200, one chat's updates one after another, round-robin, a refused connection goes to "
        "the next worker). The proxy, the local Bot API and the load generator share this process. "
        + "; ".join(report.stack_notes)
        + "; workers ready in "
        + ", ".join(f"{value:.1f} s ({name})" for name, value in report.worker_starts.items())
        + ".",
        f"- Drivers: {DRIVERS} regular drivers, a random one per message (open-loop Poisson arrivals), texts from "
        f"the mix of `benchmarks/latency/mix.py` that keep the conversation with the bot ({len(report.regular_texts)} "
        f"texts: {', '.join(sorted({report.mix[t] for t in report.regular_texts}))}). The "
        f"{len(report.case_texts)} texts of the mix that open a case or ask a clarifying question "
        f"({', '.join(sorted({report.mix[t] for t in report.case_texts}))}) come from one-shot drivers (a new "
        f"driver each) at {CASE_RATE:g}/s alongside every phase: after a case the conversation belongs to staff "
        "and the bot is silent to that driver by design, so a regular driver sending them would soon get no "
        "replies at all. Latencies are of the regular drivers' messages.",
        "- Latency: from handing the message to the local Bot API to the Bot API receiving the first reply "
        "stored for that very message (its outbox row, matched by Telegram message id; notices such as "
        '"delayed" or "queued" are not replies). A message never answered counts as the time it waited '
        "(a lower bound). Throughput: answered messages per second from the first send to the last reply.",
        "- Rasa alone (the baseline): the same kind of schedule (same rate, seed and texts) to one Rasa "
        "server's REST channel (`POST /webhooks/rest/webhook`), each driver with a conversation of its own in "
        "our database so the custom actions do the same work; latency = request duration. Measured at each "
        "rate right before the pipeline; ratios are pipeline / Rasa alone.",
        "",
    ]


def logs_section(report: Report) -> list[str]:
    logs = report.logs
    lines = ["", "## Worker logs", ""]
    if logs is None:
        return lines
    lines += [
        "`var/bench/worker-1.log`, `var/bench/worker-2.log` (Rasa and the action server: `var/bench/stack.log`): "
        f"{logs.errors} ERROR lines, {logs.warnings} WARNING lines, {logs.tracebacks} tracebacks over the run.",
        "",
    ]
    for title, rows in (("ERROR", logs.top_errors), ("WARNING", logs.top_warnings)):
        if rows:
            lines += [f"| {title} message (digits as N) | lines |", "|---|---|"]
            lines += [f"| `{m.replace('|', '/')}` | {n} |" for m, n in rows]
            lines.append("")
    return lines


def render(report: Report) -> str:
    top = max([r.rate for r in report.steady] + [b.rate for b in report.baseline], default=0)
    pipe_sat = saturation([(r.rate, r.q(95)) for r in report.steady], top)
    base_sat = saturation([(b.rate, b.q(95)) for b in report.baseline], top)
    intents: dict[str, list[str]] = {}
    for text, intent in report.mix.items():
        intents.setdefault(intent, []).append(text)
    lines = intro(report)
    lines += readme_table(report, pipe_sat, base_sat)
    lines += [""] + steady_section(report, pipe_sat, base_sat)
    lines += overload_section(report)
    lines += faults_section(report)
    lines += logs_section(report)
    lines += ["## Message mix and Rasa's intents", ""]
    lines += [
        f"- {intent}{' (one-shot drivers)' if intent in CASE_INTENTS else ''}: " + "、".join(items)
        for intent, items in sorted(intents.items())
    ]
    lines.append("")
    return "\n".join(lines)


def readme_table(report: Report, pipe_sat: str, base_sat: str) -> list[str]:
    lines = [
        "## For the README",
        "",
        "| measure | Rasa alone | pipeline (2 workers, 2 Rasa servers) | ratio |",
        "|---|---|---|---|",
    ]
    for run in report.steady:
        base = find_baseline(report, run.rate)
        lines.append(
            f"| p50 / p95 at {run.rate:g} msg/s | "
            + (f"{ms(base.q(50))} / {ms(base.q(95))} ms" if base else "n/a")
            + f" | {ms(run.q(50))} / {ms(run.q(95))} ms | "
            + (f"{ratio(run.q(50), base.q(50))} / {ratio(run.q(95), base.q(95))}" if base else "")
            + " |"
        )
    lines.append(f"| saturation (first rate with p95 > 1 s) | {base_sat} | {pipe_sat} | |")
    over = report.overload
    if over is not None:
        delays = over.store_delays()
        acc = over.accounting
        lines += [
            f"| overload {OVERLOAD_RATE:g} msg/s × {over.seconds:.0f} s: stored within 1 s | | "
            f"{sum(1 for d in delays if d <= 1.0)} / {len(over.sent)} (p99 {ms(percentile(delays, 99))} ms, "
            f"max {ms(max(delays, default=math.nan))} ms) | |",
            f"| overload: lost / answered twice / sent twice / out of order | | {over.lost} / {over.twice} / "
            f"{acc.duplicate_sends} / {acc.order_violations} | |",
            f"| overload: backlog drained after the last arrival | | {secs(over.drain)} s "
            f'({over.throughput:.1f} answered/s; {acc.delayed_drivers} drivers told "delayed", up to '
            f"{acc.delayed_max} times) | |",
        ]
    for run in report.faults:
        acc = run.accounting
        told = f'; {acc.queued_drivers} drivers told "queued", up to {acc.queued_max} times' if acc.queued_max else ""
        lines.append(
            f"| {run.name} at {report.fault_rate:g} msg/s: lost / answered twice / sent twice / Rasa turns twice "
            f"/ catch-up | | {run.lost} / {run.twice} / {acc.duplicate_sends} / {acc.rasa_turns_twice} / "
            f"{secs(run.catch_up())} s{told} | |"
        )
    return lines
