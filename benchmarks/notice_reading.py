"""Reading photos of penalty notices: field-level precision and recall, whole-notice accuracy, the bad
inputs, and CPU time per photo, for RapidOCR (the engine the bot uses) and Debian's Tesseract (chi_sim).

    .venv/bin/python -m benchmarks.notice_reading [--per-effect 4] [--engines rapidocr tesseract] [--quick]

The set is generated (simulator/notice_photos): notices rendered from templates with varied fields and a CJK
font, photographed by software (perspective, rotation, blur, JPEG, uneven light, a fold, a crop, a thumb, and
three at once), photos with no notice (blank page, a lorry, a receipt, a chat screenshot), and bad inputs (two
pages, upside down, an article that does not exist, an amount out of range). Tesseract is measured when the
`tesseract` command with `chi_sim` is installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from benchmarks.common import PROJECT_ROOT, command_line, load_average, mean, median, percentile, table, write_report
from notices.law import Library, load_library
from notices.ocr import OcrEngine, OcrLine, RapidOcr
from notices.reading import Reading, Status, read_photo
from simulator.notice_photos.dataset import Sample, samples
from simulator.notice_photos.templates import Truth

RESULTS = PROJECT_ROOT / "benchmarks" / "results" / "notice_reading.md"
KEY = ("doc_type", "doc_number", "date", "article", "amount")
FIELDS = (*KEY, "unit", "measures", "review_days", "litigation_months")


class Tesseract:
    """Debian's tesseract command with chi_sim, one line of text per output line (no per-line score)."""

    name = "Tesseract 5 (chi_sim)"

    def lines(self, image: Image.Image) -> list[OcrLine]:
        with tempfile.NamedTemporaryFile(suffix=".png") as handle:
            image.save(handle.name)
            done = subprocess.run(
                ["tesseract", handle.name, "-", "-l", "chi_sim", "--psm", "6"],
                capture_output=True,
                text=True,
                check=False,
            )
        rows = [line.replace(" ", "") for line in done.stdout.splitlines() if line.strip()]
        return [OcrLine(text, 1.0, float(i * 40), 0.0, 30.0) for i, text in enumerate(rows)]


def predicted(reading: Reading) -> dict[str, Any]:
    f = reading.fields
    basis = f.basis[0] if f.basis else None
    return {
        "doc_type": f.doc_type,
        "doc_number": f.doc_number,
        "date": f.issued,
        "article": (basis.law, basis.article) if basis else None,
        "amount": f.amount,
        "unit": f.unit,
        "measures": f.measures or None,
        "review_days": f.review_days,
        "litigation_months": f.litigation_months,
    }


def expected(truth: Truth) -> dict[str, Any]:
    return {
        "doc_type": truth.doc_type,
        "doc_number": truth.doc_number,
        "date": truth.date,
        "article": (truth.law, truth.article_cn),
        "amount": truth.amount,
        "unit": truth.unit,
        "measures": truth.measures or None,
        "review_days": truth.review_days,
        "litigation_months": truth.litigation_months,
    }


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, got: Any, want: Any) -> None:
        if got is not None and got == want:
            self.tp += 1
        elif got is not None:
            self.fp += 1
        if want is not None and got != want:
            self.fn += 1

    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class Outcome:
    engine: str
    fields: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_category: dict[str, list[tuple[bool, bool]]] = field(default_factory=lambda: defaultdict(list))
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    false_flags: int = 0
    notices: int = 0


def score(outcome: Outcome, sample: Sample, reading: Reading) -> None:
    """Status right? every key field right? (per category); field tallies on notices that should be read."""
    status_ok = reading.status.value == sample.expected
    all_key = status_ok
    if sample.truth is not None and sample.expected == Status.read.value:
        got, want = predicted(reading), expected(sample.truth)
        for name in FIELDS:
            outcome.fields[name].add(got[name], want[name])
        all_key = status_ok and all(got[k] == want[k] for k in KEY)
        outcome.notices += 1
        if not sample.flagged and reading.flagged:
            outcome.false_flags += 1
        if sample.flagged:
            all_key = all_key and reading.flagged
    outcome.by_category[sample.category].append((status_ok, all_key))


def cpu_now() -> float:
    """This process's CPU time and its finished children's (Tesseract runs as a child)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run(engine: OcrEngine, library: Library, photos: list[Sample], progress: Callable[[str], None]) -> Outcome:
    outcome = Outcome(engine.name)
    read_photo(photos[0].photo, engine, library)  # models loaded before timing
    for sample in photos:
        cpu, wall = cpu_now(), time.perf_counter()
        reading = read_photo(sample.photo, engine, library)
        outcome.cpu.append(cpu_now() - cpu)
        outcome.wall.append(time.perf_counter() - wall)
        score(outcome, sample, reading)
        progress(f"{engine.name[:10]} {sample.name}: {reading.status.value} {outcome.cpu[-1]:.1f}s cpu")
    return outcome


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def share(pairs: list[tuple[bool, bool]], index: int) -> str:
    return f"{sum(p[index] for p in pairs)}/{len(pairs)}"


def report(outcomes: list[Outcome], photos: list[Sample], elapsed: float, skipped: str | None) -> str:
    lines = [
        "# Reading photos of penalty notices",
        "",
        f"Run: `{command_line('benchmarks.notice_reading')}`",
        f"{len(photos)} photos, {sum(o.notices for o in outcomes[:1])} of them notices to be read; "
        f"{elapsed:.0f} s in all; load average at the end {load_average()}. "
        "A field counts as right only when equal to the printed value; a field not read is a miss, not an error.",
        "",
    ]
    if skipped:
        lines += [f"Not measured: {skipped}", ""]
    lines += ["## Fields (notices that should be read)", ""]
    head = ["field", *[f"{o.engine}: precision / recall" for o in outcomes]]
    rows = [
        [
            name + (" (key)" if name in KEY else ""),
            *[f"{pct(o.fields[name].precision())} / {pct(o.fields[name].recall())}" for o in outcomes],
        ]
        for name in FIELDS
    ]
    lines += table(head, rows)
    lines += ["", "## By kind of photo: status right, and every key field right (flag raised where one is due)", ""]
    categories = list(dict.fromkeys(s.category for s in photos))
    head = ["photos", *[f"{o.engine}: status / all key fields" for o in outcomes]]
    rows = [
        [c, *[f"{share(o.by_category[c], 0)} / {share(o.by_category[c], 1)}" for o in outcomes]] for c in categories
    ]
    every = [[p for c in categories for p in o.by_category[c] if c not in NOT_NOTICES] for o in outcomes]
    rows.append(["**notices, all**", *[f"{share(e, 0)} / **{share(e, 1)}**" for e in every]])
    lines += table(head, rows)
    lines += ["", "## CPU time per photo", ""]
    head = ["engine", "CPU median", "CPU p95", "CPU mean", "wall median", "false flags on correct notices"]
    rows = [
        [
            o.engine,
            f"{median(o.cpu):.2f} s",
            f"{percentile(o.cpu, 95):.2f} s",
            f"{mean(o.cpu):.2f} s",
            f"{median(o.wall):.2f} s",
            str(o.false_flags),
        ]
        for o in outcomes
    ]
    lines += table(head, rows)
    return "\n".join(lines) + "\n"


NOT_NOTICES = {"blank_page", "truck", "receipt", "chat_screenshot", "two_pages"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-effect", type=int, default=4, help="notices per kind of defect")
    parser.add_argument("--engines", nargs="+", default=["rapidocr", "tesseract"], choices=["rapidocr", "tesseract"])
    parser.add_argument("--quick", action="store_true", help="one notice per defect (a smoke run)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    library = load_library(
        PROJECT_ROOT / "content" / "legal_texts", PROJECT_ROOT / "content" / "notices" / "penalties.yml"
    )
    photos = list(samples(per_effect=1 if args.quick else args.per_effect))
    engines: list[OcrEngine] = []
    skipped = None
    if "rapidocr" in args.engines:
        engines.append(RapidOcr(threads=1))
    if "tesseract" in args.engines:
        if shutil.which("tesseract"):
            engines.append(Tesseract())
        else:
            skipped = "Tesseract (the `tesseract` command is not installed)."
    started = time.perf_counter()
    outcomes = [run(engine, library, photos, print) for engine in engines]
    text = report(outcomes, photos, time.perf_counter() - started, skipped)
    print(text)
    print(f"written to {write_report(args.out, text)}")


if __name__ == "__main__":
    main()
