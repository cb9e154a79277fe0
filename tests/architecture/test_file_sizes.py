"""Small rooms: no Python module of ours is over 400 lines (migrations aside); when one grows past that,
it is two modules."""

from __future__ import annotations

from foundation.settings import PROJECT_ROOT

MAX_LINES = 400
PACKAGES = (
    "foundation",
    "storage",
    "bureau",
    "digest",
    "notices",
    "bot",
    "actions",
    "web",
    "simulator",
    "app",
    "rasa_addons",
    "benchmarks",
    "tests",
)
SKIPPED = ("storage/migrations/versions",)  # one migration is one change, however long
# Over the limit for now, with the reason; the test below fails once one of them is back under it, so this
# list only shrinks.
WAIVED: dict[str, str] = {}


def _line_counts() -> dict[str, int]:
    counts = {}
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            name = path.relative_to(PROJECT_ROOT).as_posix()
            if not name.startswith(SKIPPED):
                counts[name] = len(path.read_text(encoding="utf-8").splitlines())
    return counts


def _offenders(counts: dict[str, int]) -> list[str]:
    return [f"{name}: {lines} lines" for name, lines in counts.items() if lines > MAX_LINES and name not in WAIVED]


def test_no_module_is_over_400_lines() -> None:
    assert _offenders(_line_counts()) == []


def test_a_waived_module_is_still_over_the_limit() -> None:
    counts = _line_counts()
    assert [name for name in WAIVED if counts.get(name, 0) <= MAX_LINES] == []


def test_an_oversized_module_is_named() -> None:
    assert _offenders({"bot/huge.py": MAX_LINES + 1, "bot/small.py": MAX_LINES}) == ["bot/huge.py: 401 lines"]
