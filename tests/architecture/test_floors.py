"""The house by floors: no module imports a package above its own floor (not even inside a function). docs/architecture.md explains the floors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from foundation.settings import PROJECT_ROOT

# floor of each of our packages; a package may import its own modules and packages on lower floors only
FLOORS = {
    "foundation": 0,  # clock, working days, masks, logging, settings, enums: imports nothing of ours
    "storage": 1,  # the database
    "bureau": 2,  # the bureau's rules: routing, deadlines, warnings, legal knowledge, stations, statistics
    "digest": 3,  # the weekly analysis and the supervision ledger
    "notices": 3,  # reading photos of penalty notices
    "bot": 4,  # edge: Telegram
    "actions": 4,  # edge: Rasa's custom actions
    "web": 4,  # edge: the supervisors' dashboard
    "simulator": 4,  # local tools: the Bot API double, the webhook proxy, the terminal chat
    "app": 5,  # the application: launcher, supervisor, CLIs, training, wiring; the only one importing edges
}
SEPARATE = {"rasa_addons"}  # runs inside Rasa's own environment: imports nothing of ours


def _modules() -> list[Path]:
    return sorted(p for name in (*FLOORS, *SEPARATE) for p in (PROJECT_ROOT / name).rglob("*.py"))


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & (set(FLOORS) | SEPARATE)


def _violations(path: Path) -> list[str]:
    package = path.relative_to(PROJECT_ROOT).parts[0]
    wrong = []
    for imported in sorted(_imported_packages(path) - {package}):
        if package in SEPARATE or imported in SEPARATE or FLOORS[imported] >= FLOORS[package]:
            wrong.append(f"{path.relative_to(PROJECT_ROOT)} imports {imported}")
    return wrong


def test_every_package_is_on_a_floor() -> None:
    packages = {p.parent.name for p in PROJECT_ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "benchmarks"} <= set(FLOORS) | SEPARATE


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_no_module_imports_a_package_above_its_floor(path: Path) -> None:
    assert _violations(path) == []


def test_the_rule_names_an_import_that_runs_back_up(tmp_path: Path) -> None:
    module = PROJECT_ROOT / "storage" / "models.py"
    assert _violations(module) == []
    assert "bot" in _imported_packages(_write(tmp_path, "def f():\n    from bot import texts\n"))


def _write(folder: Path, source: str) -> Path:
    path = folder / "probe.py"
    path.write_text(source, encoding="utf-8")
    return path
