"""Weekly digest at scale: synthetic weeks of 1k, 10k, 100k and 1M complaints.

    .venv/bin/python -m benchmarks.digest [--sizes 1000,10000,100000,1000000] [--write benchmarks/results/digest.md]

Each size gets its own SQLite database, filled by one process (the week, plus a previous week a tenth of
its size) with synthetic complaints whose stored vectors have the structure of real ones (topics of
Zipf-like sizes around the reference mean, 8 % singletons); embeddings are computed when a complaint is
stored, so the weekly job only reads them, as here. A second, fresh process builds the digest (read,
group, compare with past weeks, label, ledger, chart, workbook, store) and reports its wall time and its
peak memory (VmHWM) above what the process held before the build. Ratios are against the 1k week measured
in the same run; numbers on this shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from benchmarks.common import PROJECT_ROOT as ROOT
from benchmarks.common import table, write_report

TZ = ZoneInfo("Asia/Shanghai")
WEEK = "2026-W47"
SIZES = (1_000, 10_000, 100_000, 1_000_000)
STATIONS = [
    f"{name}超限检测站" for name in ["城北", "城南", "东林", "西岭", "南湖", "北关", "马店", "河口", "青石", "柳林"]
] + [f"{name}服务区" for name in ["青山", "西岭", "青石", "五里", "松林"]]
UNITS = ["局政策法规科", "市交通运输综合执法大队", "局综合运输科", "局办公室", "局规划基建科"]


def _memory_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def fill(db: Path, n: int, seed: int = 0) -> None:
    """A migrated database with `n` complaints in the week and n/10 in the week before."""
    from sqlalchemy import insert

    from digest.reference import load_reference
    from digest.weeks import Week
    from foundation import embedding
    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.models import ComplaintRecord

    url = f"sqlite:///{db}"
    upgrade(url)
    engine = make_engine(url)
    rng = np.random.default_rng(seed)
    reference = load_reference()
    pool = [line.strip() for line in (ROOT / "tests" / "digest" / "grouping_dev.yml").read_text().splitlines()]
    pool = [p.split("text: ", 1)[1].strip('"}') for p in pool if "text: " in p]
    week = Week.parse(WEEK)
    for offset, count in ((0, n), (-1, max(n // 10, 1))):
        start = week.shift(offset).starts(TZ)
        topics = max(10, count // 25)
        weights = 1 / np.arange(1, topics + 1) ** 0.8
        singles = rng.random(count) < 0.08
        topic = np.where(singles, -1, rng.choice(topics, size=count, p=weights / weights.sum()))
        directions = rng.normal(size=(topics, embedding.DIMENSIONS)).astype(np.float32)
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        for first in range(0, count, 20_000):
            chunk = slice(first, min(first + 20_000, count))
            size = chunk.stop - chunk.start
            noise = rng.normal(size=(size, embedding.DIMENSIONS)).astype(np.float32)
            noise /= np.linalg.norm(noise, axis=1, keepdims=True)
            own = np.where((topic[chunk] >= 0)[:, None], directions[np.maximum(topic[chunk], 0)], noise)
            raw = reference + 0.45 * own + 0.35 * noise
            raw /= np.linalg.norm(raw, axis=1, keepdims=True)
            rows = [
                {
                    "dedup_key": f"ext:bench:{offset}:{i}",
                    "source": "import",
                    "channel": "12328",
                    "external_id": f"B{offset}-{i}",
                    "text": f"{pool[(topic[i] if topic[i] >= 0 else i) % len(pool)]} #{i}",
                    "has_photo": False,
                    "received_at": start + timedelta(seconds=int(rng.integers(0, 7 * 86400))),
                    "station": STATIONS[int(topic[i]) % len(STATIONS)] if topic[i] >= 0 else None,
                    "category": None,
                    "unit": UNITS[int(topic[i]) % len(UNITS)] if topic[i] >= 0 else None,
                    "reporter_key": f"p:{rng.integers(0, count)}",
                    "embedding": embedding.to_bytes(raw[i - first]),
                    "embedding_model": embedding.MODEL,
                    "created_at": datetime.now(TZ),
                }
                for i in range(chunk.start, chunk.stop)
            ]
            with engine.begin() as connection:
                connection.execute(insert(ComplaintRecord), rows)
    engine.dispose()


def build(db: Path) -> dict[str, float]:
    """Build the week's digest in this (fresh) process; time and memory of the build alone."""
    from digest.build import DigestContext, build_week
    from digest.weeks import Week
    from foundation.clock import utcnow
    from foundation.settings import DigestSettings
    from foundation.workdays import load_calendar
    from storage.db import make_engine, make_session_factory

    engine = make_engine(f"sqlite:///{db}")
    sessions = make_session_factory(engine)
    calendar = load_calendar(TZ, ROOT / "content" / "holidays_override.yml")
    ctx = DigestContext(DigestSettings(), TZ, calendar, None)
    import matplotlib  # imported before measuring: a one-off cost of the process, not of the week

    matplotlib.use("Agg")
    before = _memory_kb("VmRSS")
    started = time.perf_counter()
    built = build_week(sessions, Week.parse(WEEK), ctx, utcnow())
    seconds = time.perf_counter() - started
    peak = _memory_kb("VmHWM")
    groups = built.payload["groups"]
    return {
        "seconds": seconds,
        "peak_mb": (peak - before) / 1024,
        "process_peak_mb": peak / 1024,
        "groups": len(groups),
        "groups_2plus": sum(1 for g in groups if g["size"] > 1),
        "high_frequency": sum(1 for g in groups if g["high_frequency"]),
    }


def _child(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.digest", *args], check=True, capture_output=True, text=True
    )
    return done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--write", type=Path)
    parser.add_argument("--fill", nargs=2, metavar=("DB", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--build", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        fill(Path(args.fill[0]), int(args.fill[1]))
        print("filled")
        return 0
    if args.build:
        print(json.dumps(build(Path(args.build))))
        return 0
    results: list[tuple[int, dict[str, float], float]] = []
    with tempfile.TemporaryDirectory(prefix="digest-bench-") as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            db = Path(tmp) / f"week-{n}.db"
            started = time.perf_counter()
            _child("--fill", str(db), str(n))
            fill_seconds = time.perf_counter() - started
            measured = json.loads(_child("--build", str(db)))
            results.append((n, measured, fill_seconds))
            print(n, measured, f"fill {fill_seconds:.0f}s", flush=True)
            db.unlink()
    base = results[0][1]
    lines = [
        "# Weekly digest at scale",
        "",
        "Synthetic weeks (benchmarks/digest.py), SQLite, one process per build on this 2-core machine. "
        "Time and memory are of the build alone (read, group, compare with 4 past weeks, label, ledger, "
        "chart, workbook, store); vectors are stored with each complaint, as in production.",
        "",
    ]
    head = ("complaints", "build time", "× the 1k week", "peak memory of the build", "process peak", "groups (≥2)")
    lines += table(
        (*head, "high-frequency"),
        [
            (
                f"{n:,}",
                f"{m['seconds']:.1f} s",
                f"{m['seconds'] / base['seconds']:.1f}",
                f"{m['peak_mb']:.0f} MB",
                f"{m['process_peak_mb']:.0f} MB",
                f"{m['groups']:,.0f} ({m['groups_2plus']:,.0f})",
                f"{m['high_frequency']:,.0f}",
            )
            for n, m, _fill in results
        ],
    )
    lines += [
        "",
        "Growth between sizes (time ratio per ×10 complaints): "
        + ", ".join(
            f"{a[0]:,}→{b[0]:,}: ×{b[1]['seconds'] / a[1]['seconds']:.1f}"
            for a, b in zip(results, results[1:], strict=False)
        )
        + ".",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.write:
        write_report(args.write, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
