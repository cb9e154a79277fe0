"""The production image installs without the dev group (`uv sync --no-dev`): no production module may import a
library that only the dev group brings (hypothesis, playwright, xlwt, ...)."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import packages_distributions

from foundation.settings import PROJECT_ROOT

PRODUCTION = ("foundation", "storage", "bureau", "digest", "notices", "bot", "actions", "web", "simulator", "app")


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[=<>~! ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def _dev_only() -> set[str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return _names(project["dependency-groups"]["dev"]) - _names(project["project"]["dependencies"])


def _imports(package: str) -> dict[str, set[str]]:
    """Top-level module -> the files of `package` that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(path.relative_to(PROJECT_ROOT).as_posix())
    return found


def _dev_imports_in(packages: tuple[str, ...], dev_only: set[str]) -> list[str]:
    distributions = packages_distributions()
    wrong = []
    for package in packages:
        for module, files in _imports(package).items():
            owners = {d.lower().replace("_", "-") for d in distributions.get(module, [])} & dev_only
            if owners:
                wrong += [f"{file} imports {module} ({', '.join(sorted(owners))})" for file in sorted(files)]
    return wrong


def test_production_imports_no_dev_only_library() -> None:
    assert _dev_imports_in(PRODUCTION, _dev_only()) == []


def test_the_check_sees_a_dev_only_import() -> None:
    assert any(
        w.startswith("tests/fuzz/test_fuzz_updates.py imports hypothesis")
        for w in _dev_imports_in(("tests",), _dev_only())
    )
