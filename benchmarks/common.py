"""What every benchmark shares: statistics, CPU meters, timing, and writing the report.

Standard library only, and Python 3.10 syntax: the Rasa-environment benchmarks (benchmarks/rasa_env/, run with
Rasa's own Python) use it too.

Statistics, one algorithm each; an empty list gives nan:
- `percentile(values, q)`: linear interpolation between the two nearest ranks of the sorted values, at position
  (n - 1) · q / 100 (numpy's default "linear"; statistics.quantiles(method="inclusive") gives the same).
- `median(values)`: the middle value, or the mean of the two middle ones (statistics.median); it equals
  percentile(values, 50).
- `mean(values)`, and `stdev(values)`: the sample standard deviation, 0 for fewer than two values.

CPU, read from /proc (Linux): `CpuMeter` takes snapshots of named processes, each either a process alone or a
process with its descendants, and of the whole machine; `cpu_seconds` / `cpu_percent` compare two snapshots.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import shlex
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"

# ---------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linearly interpolated between the nearest ranks."""
    if not values:
        return math.nan
    if len(values) == 1:
        return float(values[0])
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def stdev(values: Sequence[float]) -> float:
    """Sample standard deviation, 0 for fewer than two values."""
    return statistics.stdev(values) if len(values) > 1 else 0.0


# ---------------------------------------------------------------- CPU from /proc

PidOf = Callable[[], "int | None"]
MACHINE_BUSY = f"machine busy (all processes, % of {os.cpu_count()} cores)"


def process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of the process and of the children it has waited for)."""
    tick = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
    return table


def tree_cpu_seconds(table: dict[int, tuple[int, float]], root: int | None) -> float:
    """CPU seconds of a process and all its descendants (nan: no such process)."""
    if root is None or root not in table:
        return math.nan
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _cpu) in table.items():
        children[ppid].append(pid)
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += table[pid][1]
        stack.extend(children.get(pid, []))
    return total


def process_cpu_seconds(pid: int | None) -> float:
    """CPU seconds (user + system) of one process alone (nan: no such process)."""
    if pid is None:
        return math.nan
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_jiffies() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, every process of every user."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


@dataclass(frozen=True)
class CpuSnapshot:
    at: float  # time.monotonic()
    seconds: dict[str, float]  # CPU seconds of each part so far
    machine: tuple[float, float]  # (busy, total) jiffies


class CpuMeter:
    """CPU of named parts: `trees` are a process with its descendants, `alone` a process by itself."""

    def __init__(self, trees: Mapping[str, PidOf] | None = None, alone: Mapping[str, PidOf] | None = None) -> None:
        self.trees = dict(trees or {})
        self.alone = dict(alone or {})

    def snapshot(self) -> CpuSnapshot:
        table = process_table() if self.trees else {}
        seconds = {name: tree_cpu_seconds(table, pid()) for name, pid in self.trees.items()}
        seconds.update({name: process_cpu_seconds(pid()) for name, pid in self.alone.items()})
        return CpuSnapshot(time.monotonic(), seconds, machine_jiffies())


def cpu_seconds(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """CPU seconds each part used between two snapshots."""
    return {name: after.seconds[name] - before.seconds.get(name, math.nan) for name in after.seconds}


def cpu_percent(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Each part's CPU in % of one core between two snapshots, and the whole machine's (MACHINE_BUSY)."""
    elapsed = max(after.at - before.at, 1e-6)
    result = {
        name: max(0.0, after.seconds[name] - before.seconds.get(name, math.nan)) / elapsed * 100
        for name in after.seconds
    }
    busy = after.machine[0] - before.machine[0]
    total = after.machine[1] - before.machine[1]
    result[MACHINE_BUSY] = busy / total * 100 if total else math.nan
    return result


# ---------------------------------------------------------------- timing


async def sleep_until(due: float) -> None:
    """Sleep until time.monotonic() reaches `due` (at once if it has)."""
    delay = due - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def load_average() -> str:
    """The 1-minute load average as text (or 'n/a')."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


# ---------------------------------------------------------------- the report


def ms(seconds: float | None) -> str:
    """Seconds as whole milliseconds; 'n/a' for None or nan."""
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.0f}"


def secs(value: float | None) -> str:
    """Seconds with one decimal; 'n/a' for None or nan."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.1f}"


def row(*cells: object) -> str:
    """One markdown table row: `| a | b |`."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A markdown table: the head, the rule, the rows."""
    return [row(*head), "|" + "---|" * len(head), *(row(*cells) for cells in rows)]


def command_line(module: str) -> str:
    """How this run was started, as `python -m <module> <args>` (a URL's password masked)."""
    python = os.path.relpath(sys.executable, PROJECT_ROOT) if sys.executable else "python"
    if python.startswith(".."):
        python = sys.executable
    return re.sub(r"(://[^:/@\s]+):[^@\s]+@", r"\1:***@", shlex.join([python, "-m", module, *sys.argv[1:]]))


def write_report(path: Path, text: str) -> Path:
    """Write a report (its folder made if needed); the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
