"""The floors of docs/architecture.md, checked on every import in the code (top-level,
inside functions and under TYPE_CHECKING alike): a package imports only its own floor's
allowed neighbours and the floors below it, never one above."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOORS: dict[str, int] = {
    "basket_core": 0,
    "spark": 1,
    "ingest": 1,
    "basket_publish": 1,
    "athena": 1,
    "quicksight": 1,
    "basket_dashboard": 1,
    "basket_pipeline": 2,
    "basket_devtools": 2,
    "basket": 3,
    "dags": 3,
    "benchmarks": 3,
}
# Stages that reuse another stage on their own floor: the stream classifies lines with the
# batch miner's cleaning rules; QuickSight and the dashboard read through the Athena pack.
SIDEWAYS = {("ingest", "spark"), ("quicksight", "athena"), ("basket_dashboard", "athena")}


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def allowed(importer: str, imported: str) -> bool:
    return (
        importer == imported
        or FLOORS[imported] < FLOORS[importer]
        or (importer, imported) in SIDEWAYS
    )


def violations() -> list[str]:
    bad = []
    for package in FLOORS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, module in imports(path):
                top = module.split(".")[0]
                if top in FLOORS and not allowed(package, top):
                    rel = path.relative_to(ROOT)
                    bad.append(
                        f"{rel}:{line}: {package} (floor {FLOORS[package]}) imports {module}"
                    )
    return bad


def test_no_import_runs_upward_or_sideways() -> None:
    assert violations() == []


def test_every_package_has_a_floor() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages <= set(FLOORS), f"packages without a floor: {packages - set(FLOORS)}"


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from basket.commands.athena import query_target\n")
    assert imports(module) == [(2, "basket.commands.athena")]
    assert not allowed("basket_dashboard", "basket")
    assert not allowed("spark", "ingest")
    assert allowed("ingest", "spark")


def test_tests_mirror_the_tree() -> None:
    """A stage's tests live in ``tests/<package>/``; only whole-project checks stay on top."""
    folders = {p.parent.name for p in (ROOT / "tests").glob("*/test_*.py")}
    assert folders <= set(FLOORS), f"test folders naming no package: {folders - set(FLOORS)}"
    top_level = sorted(p.name for p in (ROOT / "tests").glob("test_*.py"))
    assert top_level == ["test_architecture.py", "test_compose.py", "test_packaging.py"]
