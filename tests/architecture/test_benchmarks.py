"""The benchmarks room: small modules, run as modules of the installed project (no sys.path edits, nothing from
tests/), and the Rasa-environment benchmarks import nothing of the product (Rasa's Python cannot load it)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from foundation.settings import PROJECT_ROOT

BENCHMARKS = PROJECT_ROOT / "benchmarks"
MAX_LINES = 400
PRODUCT = {"foundation", "storage", "bureau", "digest", "notices", "bot", "actions", "web", "simulator", "app"}


def _modules(folder: Path = BENCHMARKS) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _tree(path: Path, feature_version: tuple[int, int] | None = None) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=feature_version)


def _imported(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _edits_sys_path(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == "path"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
        for node in ast.walk(tree)
    )


def _name(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_a_benchmark_module_is_small_and_needs_no_path_edits(path: Path) -> None:
    tree = _tree(path)
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES
    assert not _edits_sys_path(tree)
    assert not {name for name in _imported(tree) if name.split(".")[0] == "tests"}


@pytest.mark.parametrize("path", [BENCHMARKS / "common.py", *_modules(BENCHMARKS / "rasa_env")], ids=_name)
def test_what_runs_in_rasas_environment_is_python_3_10_and_imports_nothing_of_the_product(path: Path) -> None:
    tree = _tree(path, feature_version=(3, 10))
    assert not {name for name in _imported(tree) if name.split(".")[0] in PRODUCT}


def test_the_common_module_needs_only_the_standard_library() -> None:
    imported = {name.split(".")[0] for name in _imported(_tree(BENCHMARKS / "common.py"))}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_the_rules_catch_a_path_edit_and_a_tests_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import sys\nsys.path.insert(0, '..')\nfrom tests.support import x\n", encoding="utf-8")
    tree = _tree(probe)
    assert _edits_sys_path(tree)
    assert "tests.support" in _imported(tree)
