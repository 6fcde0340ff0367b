"""``basket --help`` and ``basket query`` start fast: they import only what they use (no
Spark, pandas or Airflow; ``--help`` not even the settings or a command), and a query on a
pack file seen before does not import sqlglot. Each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from basket import cli
from basket_core import config
from basket_devtools import sample_results
from tests.paths import REPO_ROOT

NEVER = {"pyspark", "pandas", "airflow", "numpy", "scipy", "dash", "plotly", "boto3"}
"""Never imported by ``basket --help`` or ``basket query --backend local``."""

PROBE = """
import json, sys, time
t0 = time.perf_counter()
from basket.cli import run
try:
    run(sys.argv[1:])
except SystemExit:
    pass
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "modules": sorted({m.split('.')[0] for m in sys.modules})}),
      file=sys.stderr)
"""


def probe(args: list[str], cwd: Path, cache: Path) -> tuple[float, set[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASKET_")}
    env |= {"PYTHONPATH": str(REPO_ROOT), "XDG_CACHE_HOME": str(cache)}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    wall = time.perf_counter() - t0
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return wall, set(report["modules"]), done.stdout


def test_help_imports_no_command_and_no_settings(tmp_path: Path) -> None:
    wall, modules, out = probe(["--help"], tmp_path, tmp_path / "cache")
    assert "query" in out and "Run analyst query NAME" in out
    heavy = modules & (NEVER | {"pyarrow", "duckdb", "sqlglot", "pydantic", "rich"})
    assert not heavy, f"basket --help imported {sorted(heavy)}"
    assert not any(m.startswith("basket.commands.") for m in modules)
    assert wall < 20  # a loose bound on a shared machine; the modules are the real check


def test_query_imports_only_what_it_uses(tmp_path: Path) -> None:
    results = tmp_path / "results"
    sample_results.write_sample(results)
    args = ["query", "run_list", "--output", str(results), "--format", "csv"]
    cache = tmp_path / "cache"
    _, first, out = probe(args, tmp_path, cache)
    assert sample_results.RUN_B in out
    assert not first & NEVER, f"basket query imported {sorted(first & NEVER)}"
    wall, again, out2 = probe(args, tmp_path, cache)  # the pack file's sqlglot work is cached
    assert out2 == out
    assert not again & (NEVER | {"sqlglot", "pyarrow", "rich"}), sorted(again & NEVER)
    assert wall < 20


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_short_help_matches_the_command(name: str) -> None:
    cmd = cli.main.get_command(click.Context(cli.main), name)
    assert cmd is not None
    for limit in (45, 300):
        listed = click.Command(name, help=cli.SHORT_HELP[name]).get_short_help_str(limit)
        assert listed == cmd.get_short_help_str(limit)


def test_config_env_is_the_settings_one() -> None:
    assert cli.CONFIG_ENV == config.CONFIG_ENV
