"""The load report's sections of the three phases, and the formatting they share."""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchmarks.common import MACHINE_BUSY, median, ms, percentile, secs
from benchmarks.load.accounting import Accounting
from benchmarks.load.plan import (
    DRAIN_FAULT,
    FAULT_AT,
    FAULT_RATE,
    FAULT_SECONDS,
    FAULT_TAIL,
    OVERLOAD_RATE,
    QUICK,
    RATE_SECONDS,
    SATURATION_P95,
)
from benchmarks.load.records import BaselineRun, LoadRun, Report


def ratio(a: float, b: float) -> str:
    return "n/a" if math.isnan(a) or math.isnan(b) or b <= 0 else f"{a / b:.2f}"


def find_baseline(report: Report, rate: float) -> BaselineRun | None:
    return next((b for b in report.baseline if b.rate == rate), None)


def saturation(values: Sequence[tuple[float, float]], top: float) -> str:
    for rate, p95 in sorted(values):
        if p95 > SATURATION_P95:
            return f"{rate:g} msg/s"
    return f"> {top:g} msg/s"


def cpu_cells(cpu: dict[str, float], names: Sequence[str]) -> str:
    return " | ".join("n/a" if math.isnan(cpu.get(n, math.nan)) else f"{cpu[n]:.0f}" for n in names)


CPU_PARTS = (
    "Rasa 1",
    "Rasa 2",
    "action server",
    "worker-1",
    "worker-2",
    "PostgreSQL",
    "load generator + Bot API + proxy",
    MACHINE_BUSY,
)


def stages(run: LoadRun) -> dict[str, float]:
    """Medians (s) of the steps of a regular driver's message, from the proxy's and the database's timestamps."""
    steps: dict[str, list[float]] = {k: [] for k in ("proxy", "store", "pick", "rasa", "send")}
    for o in run.regular():
        if None in (o.posted_at, o.store_delay, o.picked_at, o.replied_rows_at, o.reply_at):
            continue
        stored = o.sent.mono + o.store_delay  # type: ignore[operator]
        steps["proxy"].append(o.posted_at - o.sent.mono)  # type: ignore[operator]
        steps["store"].append(stored - o.posted_at)  # type: ignore[operator]
        steps["pick"].append(o.picked_at - stored)  # type: ignore[operator]
        steps["rasa"].append(o.replied_rows_at - o.picked_at)  # type: ignore[operator]
        steps["send"].append(o.reply_at - o.replied_rows_at)  # type: ignore[operator]
    return {k: median(v) for k, v in steps.items()}


def stage_table(runs: Sequence[LoadRun]) -> list[str]:
    lines = [
        "| phase | end-to-end p50 | proxy wait | post → stored | stored → taken up | taken up → replies stored | "
        "replies stored → at Telegram | redelivered by the proxy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        med = stages(run)
        again = sum(1 for o in run.outcomes if o.posts > 1)
        lines.append(
            f"| {run.name} | {ms(run.q(50))} | {ms(med['proxy'])} | {ms(med['store'])} | {ms(med['pick'])} | "
            f"{ms(med['rasa'])} | {ms(med['send'])} | {again} |"
        )
    return lines


def spread(values: Sequence[float]) -> str:
    return (
        f"p50 {ms(percentile(values, 50))} ms, p99 {ms(percentile(values, 99))} ms, "
        f"max {ms(max(values, default=math.nan))} ms"
    )


def queued_cell(acc: Accounting) -> str:
    return f"{acc.queued_drivers} ({acc.queued_twice_drivers}; max {acc.queued_max})"


def fault_row(run: LoadRun) -> str:
    acc = run.accounting
    return (
        f"| {run.name} | {run.fault_note} | {len(run.sent)} | {run.not_stored} | {len(run.not_handled)} | "
        f"{run.twice} | {acc.duplicate_sends} | {acc.rasa_turns_twice} | {acc.rasa_turns_missing} | "
        f"{run.apologies} | {acc.order_violations} | {queued_cell(acc)} | {secs(run.catch_up())} | "
        f"{secs(run.drain)} | {ms(run.q(50))} / {ms(run.q(95))} | {run.peak_backlog()} | {run.log_errors} |"
    )


def steady_section(report: Report, pipe_sat: str, base_sat: str) -> list[str]:
    seconds = QUICK["rate_seconds"] if report.quick else RATE_SECONDS
    rates = sorted({b.rate for b in report.baseline} | {r.rate for r in report.steady})
    lines = [
        "## 1. Steady load",
        "",
        f"Rates {', '.join(f'{r:g}' for r in rates)} msg/s, {seconds:g} s each; each path stops rising at its "
        f"first rate with p95 > {SATURATION_P95:g} s. Saturation: pipeline {pipe_sat}, Rasa alone {base_sat}.",
        "",
        "| rate msg/s | path | sent | answered | p50 ms | p95 ms | p99 ms | answered/s | p50 ratio | p95 ratio | "
        "max send lag ms | drain s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rate in rates:
        base = find_baseline(report, rate)
        pipe = next((r for r in report.steady if r.rate == rate), None)
        if base is not None:
            lines.append(
                f"| {rate:g} | Rasa alone | {len(base.latencies)} | {base.answered} | {ms(base.q(50))} | "
                f"{ms(base.q(95))} | {ms(base.q(99))} | – | – | – | – | – |"
            )
        if pipe is not None:
            regular = pipe.regular()
            lines.append(
                f"| {rate:g} | pipeline | {len(regular)} | {sum(1 for o in regular if o.reply_at is not None)} | "
                f"{ms(pipe.q(50))} | {ms(pipe.q(95))} | {ms(pipe.q(99))} | {pipe.throughput:.1f} | "
                f"{ratio(pipe.q(50), base.q(50)) if base else 'n/a'} | "
                f"{ratio(pipe.q(95), base.q(95)) if base else 'n/a'} | {ms(pipe.max_lag)} | {secs(pipe.drain)} |"
            )
    oneshot = [o for r in report.steady for o in r.outcomes if o.sent.oneshot]
    if oneshot:
        answered = [o.latency for o in oneshot if o.latency is not None]
        lines += [
            "",
            f"One-shot drivers opening a case during phase 1: {len(oneshot)} messages, {len(answered)} answered, "
            f"median {ms(median(answered))} ms, max {ms(max(answered, default=math.nan))} ms. Cases over the whole "
            f"run: {report.cases[0]} opened, {report.cases[1]} of them with their topic in the staff group at the end.",
        ]
    lines += [
        "",
        "### Where the time goes",
        "",
        "Medians (ms) of the steps of a regular driver's message: the proxy's wait before it first posts the "
        "update to a worker (per-chat order, 40 connections), from that post to the row in `inbound_updates` "
        "(`received_at`), from there to the pipeline storing the message row (dispatch, the chat's lock), to the "
        "reply rows (Rasa, the actions, storing), and to the local Bot API receiving the first reply. The "
        "database's timestamps are the workers' clocks (same machine). Medians do not add up exactly.",
        "",
        *stage_table([*report.steady, *([report.overload] if report.overload else []), *report.faults]),
        "",
        "CPU during each phase (from /proc: % of one core, a process with its children; the last column is the "
        "whole machine, other people's work included, in % of both cores):",
        "",
        "| phase | " + " | ".join(CPU_PARTS) + " |",
        "|---|" + "---|" * len(CPU_PARTS),
    ]
    for base in report.baseline:
        lines.append(f"| Rasa alone {base.rate:g}/s | {cpu_cells(base.cpu, CPU_PARTS)} |")
    for run in [*report.steady, *([report.overload] if report.overload else []), *report.faults]:
        lines.append(f"| {run.name} | {cpu_cells(run.cpu, CPU_PARTS)} |")
    return lines


def overload_section(report: Report) -> list[str]:
    over = report.overload
    lines = ["", "## 2. Overload", ""]
    if over is None:
        return lines + ["Not run.", ""]
    acc = over.accounting
    delays = over.store_delays()
    late = sum(1 for d in delays if d > 1.0)
    regular = over.regular()
    return lines + [
        f"{OVERLOAD_RATE:g} msg/s for {over.seconds:.0f} s: {len(over.sent)} messages "
        f"({sum(1 for o in over.outcomes if o.sent.oneshot)} from one-shot drivers); max send lag "
        f"{ms(over.max_lag)} ms.",
        "",
        "| check | result |",
        "|---|---|",
        f"| stored within 1 s of arrival (`inbound_updates.received_at` − send time) | {len(delays) - late} of "
        f"{len(over.sent)}; p50 {ms(percentile(delays, 50))} ms, p99 {ms(percentile(delays, 99))} ms, max "
        f"{ms(max(delays, default=math.nan))} ms; never stored: {over.not_stored} |",
        f"| of which: the proxy's wait for a connection (send → first post; 40 at most, as Telegram's "
        f"max_connections) | {spread([o.posted_at - o.sent.mono for o in over.outcomes if o.posted_at])} |",
        f"| of which: the worker (first post → `received_at`) | "
        f"{spread([o.sent.mono + o.store_delay - o.posted_at for o in over.outcomes if o.posted_at and o.store_delay is not None])} |",
        f"| the worker's 200 after storing (`received_at` → 200 at the proxy) | "
        f"{spread([o.accepted_at - o.sent.mono - o.store_delay for o in over.outcomes if o.accepted_at and o.store_delay is not None])} |",
        f"| answered (regular drivers) | {sum(1 for o in regular if o.reply_at is not None)} of {len(regular)}; "
        f"stored but not handled at the end: {len(over.not_handled)} |",
        f"| answered twice (two inbound rows, or a reply batch stored twice) | {over.twice} |",
        f"| replies sent twice to Telegram (a stored row's text reached the driver twice) | {acc.duplicate_sends} |",
        f'| sends no stored row claims (other than the "delayed" notice) | {acc.unrecorded_sends} |',
        f"| user turns Rasa recorded twice / not at all (tracker store, by message id) | {acc.rasa_turns_twice} / "
        f"{acc.rasa_turns_missing} |",
        f"| answered with the apology (texts.NOT_UNDERSTOOD_NOW) | {over.apologies} |",
        f"| replies out of order (a later message's reply before an earlier one's) | {acc.order_violations} "
        f"({acc.drivers_out_of_order} drivers) |",
        f"| reply latency p50 / p95 / max | {ms(over.q(50))} / {ms(over.q(95))} / "
        f"{ms(max(over.latencies(), default=math.nan))} ms |",
        f"| answered per second | {over.throughput:.1f} |",
        f"| backlog drained after the last arrival | {secs(over.drain)} s (peak backlog {over.peak_backlog()} "
        "updates) |",
        f'| drivers told "delayed" (texts.DELAYED) | {acc.delayed_drivers} drivers, {acc.delayed_notices} '
        f"notices, at most {acc.delayed_max} to one driver |",
        f"| updates the proxy had to post more than once (no 200 the first time) | "
        f"{sum(1 for o in over.outcomes if o.posts > 1)} |",
        f"| regular drivers whose conversation went to staff | {acc.handed_off_regulars} |",
        f"| peak PostgreSQL client connections (max_connections 100) | {over.peak_connections()} |",
        f"| worker ERROR lines during the phase | {over.log_errors} |",
    ]


def faults_section(report: Report) -> list[str]:
    seconds = QUICK["fault_seconds"] if report.quick else FAULT_SECONDS
    at = QUICK["fault_at"] if report.quick else FAULT_AT
    lines = [
        "",
        "## 3. Faults",
        "",
        f"Each during {report.fault_rate:g} msg/s (the highest phase-1 rate the pipeline kept under 1 s at p95, "
        f"at most {FAULT_RATE:g}; regular drivers plus one-shot drivers) for {seconds:g} s, longer while the "
        f"fault was still going (until {FAULT_TAIL:g} s after its end); the fault starts {at:g} s in. "
        "Never stored / not handled: sent but no `inbound_updates` row; stored but neither answered nor "
        f"otherwise finished by the end of a bounded drain ({DRAIN_FAULT:g} s). Rasa turns twice / missing: "
        "the message's user turn is in the tracker store twice / not at all although Rasa answered it. "
        "Apologies: answered with texts.NOT_UNDERSTOOD_NOW and marked done. Catch-up: from the end of the fault "
        "until every message sent before that end was answered. Drain: from the last arrival until nothing was "
        'pending. Queued: drivers told "kept, answered later" (texts.QUEUED); in brackets, how many were told '
        "more than once, and the most one driver got.",
        "",
        "| fault | what happened | sent | never stored | not handled | answered twice | sent twice | "
        "Rasa turns twice | Rasa turns missing | apologies | out of order | drivers told queued | catch-up s | "
        "drain s | p50 / p95 ms | peak backlog | worker ERROR lines |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [fault_row(run) for run in report.faults]
    for run in report.faults:
        lines += [
            "",
            f"**{run.name}** (s after the load began): "
            + "; ".join(f"{at_:.1f} {label}" for label, at_ in run.events)
            + f". Peak PostgreSQL connections {run.peak_connections()}.",
        ]
        lost = [o for o in run.outcomes if not o.stored or not o.handled]
        if lost:
            lines.append(
                "Not handled: "
                + ", ".join(
                    f"update {o.sent.update_id} ({'not stored' if not o.stored else o.status}, sent at "
                    f"{o.sent.mono - run.first_send:.1f} s)"
                    for o in lost[:10]
                )
                + (" …" if len(lost) > 10 else "")
            )
        if run.accounting.duplicate_examples:
            lines.append("Sent twice, e.g.: " + "; ".join(run.accounting.duplicate_examples))
        if run.accounting.twice_examples:
            lines.append("Rasa turns recorded twice: " + "; ".join(run.accounting.twice_examples))
        if run.accounting.queued_example:
            lines.append(
                f'The driver told "queued" most often ({run.accounting.queued_max} times), what reached that chat '
                f"(s after the load began): {run.accounting.queued_example}."
            )
    return lines
