"""Benchmark the analyst query pack on a million rules: ``make bench-queries``.

The results are two runs of about 1.1 million rules each (the latest, and the run before
it, so a query of the latest run must skip the other's files), built once by
:mod:`basket_devtools.million_results` under ``<paths.cache_dir>/bench/`` and reused.
Every pack query then runs ``--runs`` times (after one warm-up) on the local DuckDB
backend:

* **in-process**: one :func:`athena.local.connect` connection, :func:`athena.local.run`
  timed per call (what the dashboard pays);
* **CLI**: ``basket query NAME --backend local --format csv`` in a fresh process, wall
  time (what an analyst pays per call: Python start, imports, the views, the query),
  with Python's bytecode cached under ``<cache>/pycache`` as an installed package has it.

The table shows p50/p95 against the goals of issue 22: p95 <= 300 ms in-process, and
p95 <= 1 s through the CLI, for every query (each returns at most its ``top_n`` rows).
The exit status is 1 when a goal is missed. The machine's load is printed
beside the figures: on a shared machine they are only as good as it was idle.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

IN_PROCESS_GOAL_MS = 300.0
CLI_GOAL_MS = 1000.0


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def params_for(con: Any, runs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The parameters each query runs with: defaults, plus the required ones (a popular
    item, an item of middling popularity, the two runs)."""
    from athena import local, pack

    q = pack.load("run_items")
    _, items = local.run(con, q, q.bind({}))
    popular, middling = str(items[0][1]), str(items[len(items) // 3][1])
    given: dict[str, dict[str, str]] = {name: {} for name in pack.names()}
    given["rules_with_antecedent_item"] = {"item": middling}
    given["bought_together"] = {"item": popular}
    given["rule_changes"] = {  # the 1,000 largest of the lift moves over 1.0
        "run_a": runs[0]["run_id"],
        "run_b": runs[-1]["run_id"],
        "min_lift_change": "1.0",
    }
    return given


def time_in_process(con: Any, name: str, given: dict[str, str], n: int) -> tuple[list[float], int]:
    from athena import local, pack

    query = pack.load(name)
    values = query.bind(given)
    _, rows = local.run(con, query, values)  # warm-up
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        local.run(con, query, values)
        out.append((time.perf_counter() - t0) * 1000)
    return out, len(rows)


def time_cli(
    root: Path, name: str, given: dict[str, str], n: int, cwd: Path, pycache: Path
) -> list[float]:
    """Wall times of ``basket query``. Python keeps its bytecode under ``pycache`` (as an
    installed package has it), even where ``PYTHONDONTWRITEBYTECODE`` is set: compiling
    every imported module on each call is not what an analyst's install pays."""
    basket = Path(sys.executable).with_name("basket")
    cmd = [str(basket), "query", name, "--backend", "local", "--output", str(root)]
    cmd += ["--format", "csv"]
    for k, v in given.items():
        cmd += ["--param", f"{k}={v}"]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BASKET_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    out = []
    for i in range(n + 1):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
        if i:  # the first call warms the page cache
            out.append((time.perf_counter() - t0) * 1000)
    return out


@click.command()
@click.option("--runs", default=20, show_default=True, help="Timed calls per query and mode.")
@click.option("--cli-runs", type=int, help="Timed CLI calls per query (default: --runs).")
@click.option("--query", "only", multiple=True, help="Only these queries (repeatable).")
@click.option(
    "--cache",
    type=click.Path(path_type=Path),
    default=Path(".cache/bench"),
    show_default=True,
    help="Where the million-rule results are built once.",
)
@click.option("--json-out", type=click.Path(path_type=Path), help="Write the figures as JSON.")
def main(
    runs: int, cli_runs: int | None, only: tuple[str, ...], cache: Path, json_out: Path | None
) -> None:
    """Every pack query at a million rules, in-process and through ``basket query``."""
    import tempfile

    from athena import local, pack
    from basket_devtools.million_results import ensure

    t0 = time.perf_counter()
    root, reports = ensure(cache.resolve())
    counts = ", ".join(f"{r['run_id']}: {r['counts']['rules']:,} rules" for r in reports)
    click.echo(f"results {root} ({counts}; ready in {time.perf_counter() - t0:.1f} s)")
    t0 = time.perf_counter()
    con = local.connect(root)
    click.echo(f"views opened in {(time.perf_counter() - t0) * 1000:.0f} ms")
    click.echo(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    given = params_for(con, reports)
    names = [n for n in pack.names() if not only or n in only]
    cwd = Path(tempfile.mkdtemp(prefix="bench-queries-"))
    atexit.register(shutil.rmtree, cwd, ignore_errors=True)
    figures: list[dict[str, Any]] = []
    header = (
        f"{'query':<28}{'rows':>6}  {'in-process p50/p95 ms':>22}  {'CLI p50/p95 ms':>16}  goal"
    )
    click.echo(header)
    ok = True
    for name in names:
        inproc, n_rows = time_in_process(con, name, given[name], runs)
        n_cli = cli_runs if cli_runs is not None else runs
        cli = time_cli(root, name, given[name], n_cli, cwd, cache.resolve() / "pycache")
        fig = {
            "query": name,
            "params": given[name],
            "rows": n_rows,
            "in_process_p50_ms": statistics.median(inproc),
            "in_process_p95_ms": percentile(inproc, 95),
            "cli_p50_ms": statistics.median(cli) if cli else None,
            "cli_p95_ms": percentile(cli, 95) if cli else None,
        }
        met = percentile(inproc, 95) <= IN_PROCESS_GOAL_MS
        if cli:
            met = met and percentile(cli, 95) <= CLI_GOAL_MS
        ok = ok and met
        fig["goal_met"] = met
        figures.append(fig)
        cli_text = f"{fig['cli_p50_ms']:.0f} / {fig['cli_p95_ms']:.0f}" if cli else "-"
        click.echo(
            f"{name:<28}{n_rows:>6}  "
            f"{fig['in_process_p50_ms']:>10.0f} / {fig['in_process_p95_ms']:<9.0f}  "
            f"{cli_text:>16}  {'met' if met else 'MISSED'}"
        )
    click.echo(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    click.echo(
        f"goals: in-process p95 <= {IN_PROCESS_GOAL_MS:.0f} ms; CLI p95 <= {CLI_GOAL_MS:.0f} ms"
    )
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
