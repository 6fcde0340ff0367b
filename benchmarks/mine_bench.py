"""Benchmark ``basket mine`` against pyfim and mlxtend FP-Growth on the same baskets.

For each size, basket-format data is generated with :mod:`basket_devtools.generate` (same seed,
so every tool sees the same baskets), then each tool runs in its own subprocess so its
wall time and peak memory are its own:

* ``mine``: ``basket mine --format basket`` (Spark); wall time includes the JVM start,
  and ``run.json`` gives the time without it;
* ``pyfim``: ``fim.fpgrowth(..., supp=-min_count)``;
* ``mlxtend``: ``TransactionEncoder`` + ``fpgrowth`` (skipped above ``--mlxtend-max``);
  each reference tool runs ``--runs`` times, its row the median;
* ``mine-connect`` (``--connect``, the default): ``basket --remote sc://... mine`` on a
  warm Spark Connect server (:mod:`basket_devtools.spark_connect`, started once on
  127.0.0.1, as ``basket services start spark`` starts one: with its own warm-up of
  ``spark.connect_warmup_mines`` small mines; ``BASKET_SPARK__CONNECT_WARMUP_MINES=0``
  for a cold server); at each size, one unmeasured mine of that size, then ``--runs``
  measured mines, whose median is the row (all of them are in the JSON): a team's server
  has run yesterday's mine of the same shape, so its JIT has compiled that mine's code. Wall
  time is the client process's. ``--soak N`` then mines the first size N more times on
  that server: the last run's wall against the second's, and the server's RSS.

All tools use the same absolute threshold ``min_count = ceil(min_support * n)`` and must
report the same number of frequent itemsets; a mismatch or a failed tool makes the exit
status 1. Results are printed as a table and written as JSON under ``--results-dir``.

Run ``python -m benchmarks.mine_bench --help``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from spark.fpcommon import min_count
from spark.report import RunReport

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from basket_devtools.connect_warmup import WarmUp
    from basket_devtools.generate import GeneratorConfig

# Heavy imports (numpy, pyarrow, pydantic, rich) happen inside functions, so the tool
# subprocesses, which import this module, pay only for Python and their own library.

TOOLS = ("mine", "pyfim", "mlxtend")
ENGINES = ("auto", "pfp", "mllib")
"""``basket mine --engine`` values; the ``mine`` tool runs once per engine (``mine-auto``)."""
WORKER = "_worker"
POLL_S = 0.05
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass
class ToolRun:
    """One tool on one dataset."""

    tool: str
    baskets: int
    status: str = "ok"
    """``ok``, ``failed`` or ``skipped``."""
    note: str = ""
    wall_s: float | None = None
    in_process_s: float | None = None
    """Wall time minus start-up: for mine ``total_s - spark_start_s``; else load + mine."""
    mine_s: float | None = None
    """The FP-Growth step alone."""
    peak_rss_mb: float | None = None
    itemsets: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Measured:
    returncode: int
    wall_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    timed_out: bool


# ------------------------------------------------------------ thresholds and data


def fraction_for_count(count: int, n: int) -> float:
    """A support fraction that tools using ``support >= s`` or ``ceil(s * n)`` both turn
    into exactly ``count`` baskets."""
    return (count - 0.5) / n


def dataset_path(data_dir: Path, n: int, items: int, seed: int, mean_basket: float) -> Path:
    return data_dir / f"baskets_n{n}_i{items}_m{mean_basket:g}_s{seed}.txt"


def ensure_dataset(config: GeneratorConfig, path: Path, sep: str) -> Path:
    """Generate basket-format data unless the file exists with the same configuration."""
    from basket_devtools.generate import generate, read_json, sidecar_paths

    manifest = sidecar_paths(path)[0]
    if path.is_file() and manifest.is_file():
        m = read_json(manifest)
        if m.get("config") == config.to_json() and m.get("basket_sep") == sep:
            return path
    generate(config, path, fmt="basket", sep=sep)
    return path


def read_baskets(path: Path, sep: str) -> list[list[str]]:
    """Basket format as the miner reads it: split, trim, drop empty items and repeats."""
    out: list[list[str]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            items = {i.strip() for i in line.rstrip("\r\n").split(sep)} - {""}
            if items:
                out.append(sorted(items))
    return out


# ------------------------------------------------------------ process measurement


def _children_map() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def proc_memory(pid: int) -> tuple[int, int]:
    """``(VmRSS, VmHWM)`` of a process in bytes; zeros when unreadable (exited, not Linux)."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss, hwm


def tree_memory(root: int) -> tuple[int, int]:
    """``(sum of RSS, largest high-water mark)`` over ``root`` and its descendants."""
    if not os.path.isdir("/proc"):
        return 0, 0
    children = _children_map()
    total = top = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        rss, hwm = proc_memory(pid)
        total, top = total + rss, max(top, hwm)
    return total, top


def live_heap_mb(root: int) -> float | None:
    """Live heap of the JVM in ``root``'s process tree after a full GC (None without
    ``jcmd`` or a JVM)."""
    from basket_devtools.spark_connect import live_heap_bytes

    live = live_heap_bytes(root)
    return None if live is None else live / 2**20


def run_measured(
    cmd: Sequence[str], *, timeout_s: float, env: dict[str, str] | None = None
) -> Measured:
    """Run ``cmd`` in its own session; wall time and peak RSS of its process tree.

    Peak RSS is the larger of the RSS summed over the tree, polled every 50 ms (the JVM
    next to the Python driver), and the largest per-process high-water mark (VmHWM) seen.
    ``getrusage`` max RSS is not used on Linux: it includes the memory the child shared
    with this (large) parent between fork and exec."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=env,
    )
    out_chunks: list[str] = []
    err_chunks: list[str] = []
    readers = _drain(proc, out_chunks, err_chunks)
    peak_sum = peak_hwm = 0
    timed_out = False
    while proc.poll() is None:
        total, top = tree_memory(proc.pid)
        peak_sum, peak_hwm = max(peak_sum, total), max(peak_hwm, top)
        if time.perf_counter() - start > timeout_s:
            timed_out = True
            _kill_group(proc.pid)
        time.sleep(POLL_S)
    wall = time.perf_counter() - start
    _kill_group(proc.pid)  # stray grandchildren (a JVM left behind)
    for t in readers:
        t.join()
    peak = max(peak_sum, peak_hwm)
    if peak == 0:  # no /proc: fall back to the kernel's figure (see above)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return Measured(
        returncode=proc.returncode,
        wall_s=wall,
        peak_rss_mb=peak / 2**20,
        stdout="".join(out_chunks),
        stderr="".join(err_chunks),
        timed_out=timed_out,
    )


def _drain(proc: subprocess.Popen[str], out: list[str], err: list[str]) -> list[Any]:
    import threading

    def pump(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    threads = [
        threading.Thread(target=pump, args=(proc.stdout, out), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, err), daemon=True),
    ]
    for t in threads:
        t.start()
    return threads


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ------------------------------------------------------------ the tools


def mine_available() -> bool:
    return importlib.util.find_spec("basket.commands.mine") is not None


def mine_command(
    path: Path, sep: str, min_support: float, min_confidence: float, output: Path, run_id: str,
    max_size: int | None, extra: Sequence[str],
) -> list[str]:  # fmt: skip
    cmd = [
        sys.executable, "-m", "basket.cli", "mine", "--input", str(path), "--format", "basket",
        "--sep", sep, "--min-support", repr(min_support), "--min-confidence",
        repr(min_confidence), "--output", str(output), "--run-id", run_id,
    ]  # fmt: skip
    if max_size is not None:
        cmd += ["--max-size", str(max_size)]
    return cmd + list(extra)


def find_run_json(output: Path, run_id: str) -> Path | None:
    """The run's ``run.json``: under its attempt folder since runs have attempts."""
    found = sorted(output.glob(f"exports/dt=*/run_id={run_id}/attempt=*/run.json"))
    found = found or sorted(output.glob(f"exports/dt=*/run_id={run_id}/run.json"))
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def run_mine(
    path: Path, n: int, args: BenchArgs, output: Path, run_id: str, engine: str,
    remote: str | None = None,
) -> ToolRun:  # fmt: skip
    run = ToolRun(f"mine-{engine}" if remote is None else "mine-connect", n)
    if not mine_available():
        run.status = "failed"
        run.note = "`basket mine` is not installed (basket/commands/mine.py missing)"
        return run
    cmd = mine_command(
        path, args.sep, args.min_support, args.min_confidence, output, run_id, args.max_size,
        (*args.mine_args, "--engine", engine),
    )  # fmt: skip
    if remote is not None:  # a global option: before the command
        cmd[3:3] = ["--remote", remote]
    m = run_measured(cmd, timeout_s=args.timeout_s)
    run.wall_s, run.peak_rss_mb = m.wall_s, m.peak_rss_mb
    run_json = find_run_json(output, run_id)
    if m.returncode != 0 or run_json is None:
        run.status = "failed"
        why = "timed out" if m.timed_out else f"exit {m.returncode}"
        run.note = f"basket mine {why}: {tail(m.stderr or m.stdout, 5)}"
        return run
    report = RunReport.read(run_json)
    timings, counts = report.timings, report.counts
    run.itemsets = counts.itemsets
    run.mine_s = timings.get("mine_s")
    if "total_s" in timings:
        run.in_process_s = timings["total_s"] - timings.get("spark_start_s", 0.0)
    run.details = {
        "timings": timings, "counts": asdict(counts), "run_json": str(run_json),
        "engine": report.engine, "engine_details": report.engine_details,
    }  # fmt: skip
    if counts.baskets != n:
        run.note = f"mined {counts.baskets} baskets, expected {n}"
    return run


def median_run(runs: list[ToolRun]) -> ToolRun:
    """The run of median wall time among ``runs`` (the upper one of an even count), with
    every run's wall time in its note and details; a failed run is returned as it is."""
    failed = [r for r in runs if r.status != "ok" or r.wall_s is None]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=lambda r: r.wall_s or 0.0)
    chosen = ordered[len(ordered) // 2]
    if len(runs) > 1:
        walls = [round(r.wall_s or 0.0, 2) for r in runs]
        chosen.details["walls_s"] = walls
        chosen.note = (
            f"median of {len(runs)} runs ({', '.join(f'{w:.1f}' for w in walls)} s) " + chosen.note
        ).strip()
    return chosen


def run_reference(tool: str, path: Path, n: int, args: BenchArgs) -> ToolRun:
    run = ToolRun(tool, n)
    if tool == "mlxtend" and n > args.mlxtend_max:
        run.status, run.note = "skipped", f"{n:,} baskets > --mlxtend-max {args.mlxtend_max:,}"
        return run
    count = min_count(args.min_support, n)
    cmd = [
        sys.executable, "-m", "benchmarks.mine_bench", WORKER, tool, str(path), args.sep,
        str(count), str(args.max_size or 0),
    ]  # fmt: skip
    m = run_measured(cmd, timeout_s=args.timeout_s)
    run.wall_s, run.peak_rss_mb = m.wall_s, m.peak_rss_mb
    if m.returncode != 0:
        run.status = "failed"
        why = "timed out" if m.timed_out else f"exit {m.returncode}"
        run.note = f"{tool} {why}: {tail(m.stderr, 5)}"
        return run
    result = json.loads(m.stdout.strip().splitlines()[-1])
    run.itemsets, run.mine_s = result["itemsets"], result["mine_s"]
    run.peak_rss_mb = max(m.peak_rss_mb, result["peak_rss_mb"])
    run.in_process_s = result["load_s"] + result["mine_s"]
    run.details = result
    if result["baskets"] != n:
        run.note = f"read {result['baskets']} baskets, expected {n}"
    return run


def worker(tool: str, path: Path, sep: str, count: int, max_size: int | None) -> dict[str, Any]:
    """Inside the tool's subprocess: load, mine, count itemsets."""
    t0 = time.perf_counter()
    baskets = read_baskets(path, sep)
    t1 = time.perf_counter()
    if tool == "pyfim":
        import fim

        limits = {"zmax": max_size} if max_size else {}
        found = fim.fpgrowth(baskets, target="s", supp=-count, zmin=1, report="a", **limits)
        itemsets = len(found)
    elif tool == "mlxtend":
        itemsets = mlxtend_itemsets(baskets, count, max_size)
    else:
        raise ValueError(f"unknown tool {tool!r}")
    t2 = time.perf_counter()
    return {
        "tool": tool,
        "baskets": len(baskets),
        "min_count": count,
        "itemsets": itemsets,
        "load_s": round(t1 - t0, 3),
        "mine_s": round(t2 - t1, 3),
        "peak_rss_mb": proc_memory(os.getpid())[1] / 2**20,
    }


def mlxtend_itemsets(baskets: list[list[str]], count: int, max_size: int | None) -> int:
    """mlxtend FP-Growth on a one-hot frame (sparse when a dense one would be large)."""
    import pandas as pd
    from mlxtend.frequent_patterns import fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    te = TransactionEncoder().fit(baskets)
    sparse = len(baskets) * len(te.columns_) > 200_000_000
    onehot = te.transform(baskets, sparse=sparse)
    df = (
        pd.DataFrame.sparse.from_spmatrix(onehot, columns=te.columns_)  # type: ignore[attr-defined]
        if sparse
        else pd.DataFrame(onehot, columns=te.columns_)
    )
    found = fpgrowth(df, min_support=fraction_for_count(count, len(baskets)), max_len=max_size)
    return len(found)


# ------------------------------------------------------------ report


def ratio(value: float | None, ref: float | None) -> float | None:
    return value / ref if value is not None and ref else None


def add_ratios(runs: list[ToolRun]) -> list[dict[str, Any]]:
    """Rows for the report: each run plus time ratios against pyfim and mlxtend on the
    same data (``x_pyfim`` = this tool's wall time / pyfim's)."""
    by = {r.tool: r for r in runs if r.status == "ok"}
    rows = []
    for r in runs:
        row = asdict(r)
        for ref in ("pyfim", "mlxtend"):
            other = by.get(ref)
            row[f"x_{ref}_wall"] = ratio(r.wall_s, other.wall_s if other else None)
            row[f"x_{ref}_mine"] = ratio(r.mine_s, other.mine_s if other else None)
        rows.append(row)
    return rows


def agreement(runs: list[ToolRun]) -> str | None:
    """None when every successful tool found the same number of itemsets."""
    counts = {r.tool: r.itemsets for r in runs if r.status == "ok"}
    if len(set(counts.values())) > 1:
        return "itemset counts differ: " + ", ".join(f"{t}={c}" for t, c in counts.items())
    return None


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(console: Console, rows: list[dict[str, Any]], min_support: float) -> None:
    from rich.table import Table

    table = Table(title=f"FP-Growth benchmark (min support {min_support})")
    for name in (
        "baskets", "tool", "wall s", "w/o start s", "mine s", "peak RSS MB", "itemsets",
        "× pyfim", "× mlxtend", "note",
    ):  # fmt: skip
        table.add_column(name, justify="left" if name in ("tool", "note") else "right")
    for r in rows:
        table.add_row(
            f"{r['baskets']:,}",
            r["tool"] if r["status"] == "ok" else f"{r['tool']} ({r['status']})",
            _fmt(r["wall_s"], ".1f"),
            _fmt(r["in_process_s"], ".1f"),
            _fmt(r["mine_s"], ".2f"),
            _fmt(r["peak_rss_mb"], ",.0f"),
            "-" if r["itemsets"] is None else f"{r['itemsets']:,}",
            _fmt(r["x_pyfim_wall"], ".1f"),
            _fmt(r["x_mlxtend_wall"], ".2f"),
            r["note"],
        )
    console.print(table)
    console.print("× = wall time / the reference tool's wall time on the same baskets.")


def environment() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for pkg in ("basket-pipeline", "pyspark", "pyfim", "mlxtend", "numpy", "pandas"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
    }


def write_results(results_dir: Path, payload: dict[str, Any], stamp: str) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"mine-bench-{stamp}.json"
    text = json.dumps(payload, indent=2, default=str) + "\n"
    path.write_text(text, encoding="utf-8")
    (results_dir / "mine-bench-latest.json").write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------ warm Spark Connect


class ConnectBench:
    """One local Spark Connect server for the whole bench (``--connect``)."""

    def __init__(self, settings: Any, state_dir: Path) -> None:
        from basket_devtools.spark_connect import SparkConnectServer

        self.server = SparkConnectServer(state_dir, settings, host=settings.spark.local_ip)
        self.url = ""
        self.pid = 0
        self.warmed: set[Path] = set()
        self.warm_up: WarmUp | None = None  # the server's own (spark.connect_warmup_mines)

    def __enter__(self) -> ConnectBench:
        from basket_devtools.connect_warmup import read_warm

        state = self.server.start()
        self.url, self.pid = state.url, state.pid
        self.warm_up = read_warm(self.server.state_dir)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def rss_mb(self) -> float:
        return tree_memory(self.pid)[0] / 2**20

    def live_heap_mb(self) -> float | None:
        """The server JVM's live heap: what a full GC leaves (``jcmd GC.class_histogram``
        runs one). RSS only shows the heap the JVM has committed, which it grows towards
        its maximum and seldom returns; a leak shows here, as live data that grows."""
        return live_heap_mb(self.pid)

    def warm(self, path: Path, args: BenchArgs, output: Path, stamp: str) -> None:
        """One unmeasured mine of ``path``, so the measured ones find the server warm for
        this size (its engine and plans), not only for the first size's."""
        if path in self.warmed:
            return
        cmd = mine_command(
            path, args.sep, args.min_support, args.min_confidence, output,
            f"bench-{stamp}-warmup-{len(self.warmed)}", args.max_size,
            (*args.mine_args, "--engine", "auto"),
        )  # fmt: skip
        cmd[3:3] = ["--remote", self.url]
        m = run_measured(cmd, timeout_s=args.timeout_s)
        if m.returncode != 0:
            raise RuntimeError(f"warm-up mine failed: {tail(m.stderr or m.stdout, 8)}")
        self.warmed.add(path)


def soak_server(
    server: ConnectBench, path: Path, n: int, runs: int, args: BenchArgs, output: Path,
    stamp: str, console: Console,
) -> dict[str, Any]:  # fmt: skip
    """``runs`` mines in a row on one server: each wall time, the server's RSS after each."""
    walls: list[float] = []
    rss: list[float] = []
    live: list[float | None] = []
    failures = 0
    for i in range(runs):
        with console.status(f"soak: mine {i + 1}/{runs} on the Connect server"):
            run = run_mine(path, n, args, output, f"bench-{stamp}-soak{i}", "auto", server.url)
        if run.status != "ok":
            failures += 1
            console.print(f"  soak run {i + 1}: {run.status} {run.note}")
        walls.append(run.wall_s or 0.0)
        rss.append(server.rss_mb())
        live.append(server.live_heap_mb())
    second, last = (walls[1], walls[-1]) if len(walls) > 1 else (None, None)
    settle = min(4, len(rss) - 1)  # RSS once the JVM heap has grown to its working size
    heap = [h for h in live if h is not None]
    return {
        "runs": runs,
        "baskets": n,
        "failures": failures,
        "wall_s": [round(w, 3) for w in walls],
        "server_rss_mb": [round(r, 1) for r in rss],
        "second_wall_s": second,
        "last_wall_s": last,
        "last_over_second": ratio(last, second),
        "rss_after_5th_mb": rss[settle] if rss else None,
        "rss_final_mb": rss[-1] if rss else None,
        **level("rss", rss),
        "live_heap_mb": [None if h is None else round(h, 1) for h in live],
        **level("live_heap", heap),
    }


def level(name: str, values: list[float]) -> dict[str, float | None]:
    """Where a server measure settled and where it ended, as medians of runs 6-15 and of
    the last 10 (single points after the 5th run and the last one for a short soak): RSS
    moves by a fifth from one run to the next as the JVM commits and returns heap, and
    one collection may land during a run, so two single readings measure that noise,
    not a trend."""
    if not values:
        return {f"{name}_settled_mb": None, f"{name}_last_mb": None, f"{name}_growth": None}
    if len(values) >= 20:
        settled, last = statistics.median(values[5:15]), statistics.median(values[-10:])
    else:
        settled, last = values[min(4, len(values) - 1)], values[-1]
    return {
        f"{name}_settled_mb": round(settled, 1),
        f"{name}_last_mb": round(last, 1),
        f"{name}_growth": ratio(last, settled),
    }


def goals(rows: list[dict[str, Any]], soaked: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Issue 20's goals from this run's rows: warm mine at 100k below mlxtend's wall, at
    1M within 2x pyfim's; the soak's last run within 10% of its second, RSS and live heap
    flat (:func:`level`: the last 10 runs within 10% of runs 6-15)."""
    out: list[dict[str, Any]] = []
    by = {(r["baskets"], r["tool"]): r for r in rows if r["status"] == "ok"}
    for n, ref, limit in ((100_000, "mlxtend", 1.0), (1_000_000, "pyfim", 2.0)):
        warm, other = by.get((n, "mine-connect")), by.get((n, ref))
        if warm is None or other is None:
            continue
        x = warm["wall_s"] / other["wall_s"]
        out.append(
            {
                "goal": f"warm mine at {n:,}: wall <= {limit:g}x {ref}",
                "figure": f"{warm['wall_s']:.1f}s vs {other['wall_s']:.1f}s ({x:.2f}x)",
                "met": x <= limit if limit != 1.0 else x < limit,
            }
        )
    if soaked and soaked["last_over_second"] is not None:
        x = soaked["last_over_second"]
        out.append(
            {
                "goal": f"{soaked['runs']} mines in a row: last within 10% of the second",
                "figure": f"{soaked['last_wall_s']:.1f}s vs {soaked['second_wall_s']:.1f}s "
                f"({x:.2f}x), {soaked['failures']} failed",
                "met": x <= 1.10 and soaked["failures"] == 0,
            }
        )
        g = soaked["rss_growth"]
        out.append(
            {
                "goal": "server RSS flat (median of the last 10 mines within 10% of runs 6-15's)",
                "figure": f"{soaked['rss_settled_mb']:,.0f} MB -> {soaked['rss_last_mb']:,.0f} MB",
                "met": g is not None and g <= 1.10,
            }
        )
        h = soaked.get("live_heap_growth")
        if h is not None:
            out.append(
                {
                    "goal": "server live heap after a full GC flat (same 10%)",
                    "figure": f"{soaked['live_heap_settled_mb']:,.0f} MB -> "
                    f"{soaked['live_heap_last_mb']:,.0f} MB",
                    "met": h <= 1.10,
                }
            )
    return out


def print_goals(console: Console, met: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title="Warm Spark Connect goals (issue 20)")
    for name in ("goal", "figure", "met"):
        table.add_column(name)
    for g in met:
        table.add_row(g["goal"], g["figure"], "yes" if g["met"] else "NO")
    console.print(table)


# ------------------------------------------------------------ command line


@dataclass(frozen=True)
class BenchArgs:
    sizes: tuple[int, ...]
    items: int
    mean_basket: float
    seed: int
    sep: str
    min_support: float
    min_confidence: float
    max_size: int | None
    tools: tuple[str, ...]
    mlxtend_max: int
    timeout_s: float
    mine_args: tuple[str, ...]
    engines: tuple[str, ...] = ENGINES
    runs: int = 3


def parse_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s.replace("_", "")) for s in text.split(",") if s.strip())
    except ValueError as exc:
        raise click.BadParameter(f"sizes must be integers like 100000,1000000: {text!r}") from exc
    if not sizes or min(sizes) < 1:
        raise click.BadParameter(f"sizes must be positive, got {text!r}")
    return sizes


def parse_tools(text: str) -> tuple[str, ...]:
    tools = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = sorted(set(tools) - set(TOOLS))
    if unknown or not tools:
        raise click.BadParameter(f"tools must be among {', '.join(TOOLS)}, got {text!r}")
    return tools


def parse_engines(text: str) -> tuple[str, ...]:
    engines = tuple(e.strip() for e in text.split(",") if e.strip())
    if not engines or set(engines) - set(ENGINES):
        raise click.BadParameter(f"engines must be among {', '.join(ENGINES)}, got {text!r}")
    return engines


def bench_size(
    n: int, args: BenchArgs, data_dir: Path, output: Path, stamp: str, console: Console,
    server: ConnectBench | None = None,
) -> list[ToolRun]:  # fmt: skip
    from basket_devtools.generate import GeneratorConfig

    config = GeneratorConfig(
        transactions=n, items=args.items, mean_basket=args.mean_basket, seed=args.seed,
        dirty_share=0.0,
    )  # fmt: skip
    path = dataset_path(data_dir, n, args.items, args.seed, args.mean_basket)
    with console.status(f"generating {n:,} baskets"):
        ensure_dataset(config, path, args.sep)
    console.print(
        f"[bold]{n:,} baskets[/bold] ({path}); min count {min_count(args.min_support, n):,}"
    )
    runs = []
    jobs = [(t, e) for t in args.tools for e in (args.engines if t == "mine" else ("",))]
    if server is not None:
        jobs.append(("mine-connect", "auto"))
    for tool, engine in jobs:
        with console.status(f"{tool} {engine} on {n:,} baskets"):
            if tool == "mine-connect":
                assert server is not None
                server.warm(path, args, output, stamp)
                tag = f"bench-{stamp}-n{n}-connect"
                run = median_run(
                    [
                        run_mine(path, n, args, output, f"{tag}{i}", engine, server.url)
                        for i in range(args.runs)
                    ]
                )
            elif tool == "mine":
                run = run_mine(path, n, args, output, f"bench-{stamp}-n{n}-{engine}", engine)
            else:
                run = median_run([run_reference(tool, path, n, args) for _ in range(args.runs)])
        console.print(
            f"  {run.tool}: {run.status} "
            + (f"{run.wall_s:.1f}s, {run.itemsets} itemsets " if run.wall_s is not None else "")
            + run.note
        )
        runs.append(run)
    return runs


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--sizes", default="100000,1000000", show_default=True, help="Basket counts, comma-separated."
)
@click.option("--quick", is_flag=True, help="Smoke run: one size of 20,000 baskets.")
@click.option("--items", type=int, default=2_000, show_default=True, help="Distinct items.")
@click.option("--mean-basket", type=float, default=5.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--sep", default=",", show_default=True, help="Item separator of the basket files.")
@click.option("--min-support", type=float, default=0.002, show_default=True)
@click.option(
    "--min-confidence", type=float, default=0.2, show_default=True, help="For basket mine's rules."
)
@click.option("--max-size", type=int, help="Largest itemset size (all tools).")
@click.option("--tools", default=",".join(TOOLS), show_default=True, help="Tools to run.")
@click.option(
    "--engines", default=",".join(ENGINES), show_default=True,
    help="basket mine --engine values; the mine tool runs once per engine.",
)  # fmt: skip
@click.option(
    "--mlxtend-max", type=int, default=200_000, show_default=True,
    help="Skip mlxtend above this many baskets (pure Python; slow and memory-hungry).",
)  # fmt: skip
@click.option(
    "--timeout",
    "timeout_s",
    type=float,
    default=3600.0,
    show_default=True,
    help="Seconds per tool run.",
)
@click.option(
    "--connect/--no-connect",
    default=True,
    show_default=True,
    help="Also mine each size on a warm local Spark Connect server (the mine-connect row).",
)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Measured runs per size of each reference tool and of the warm Connect mine; the "
    "row is their median (the in-process mine, JVM start included, runs once).",
)
@click.option(
    "--soak",
    type=int,
    default=0,
    show_default=True,
    help="Then mine the first size this many times in a row on that server (make bench-soak).",
)
@click.option(
    "--mine-arg",
    "mine_args",
    multiple=True,
    help="Extra argument for basket mine (repeatable), e.g. --mine-arg=--master=local[4].",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where baskets are generated (default: <data_dir>/generated/bench).",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="basket mine --output (default: <output_dir>/bench).",
)
@click.option(
    "--results-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("bench-results"),
    show_default=True,
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="basket TOML config for the default folders.",
)
def main(
    sizes: str, quick: bool, items: int, mean_basket: float, seed: int, sep: str,
    min_support: float, min_confidence: float, max_size: int | None, tools: str, engines: str,
    mlxtend_max: int, timeout_s: float, connect: bool, runs: int, soak: int,
    mine_args: tuple[str, ...],
    data_dir: Path | None, output_dir: Path | None, results_dir: Path, config_file: str | None,
) -> None:  # fmt: skip
    """Benchmark `basket mine` against pyfim and mlxtend FP-Growth on the same baskets.

    Exit status 1 when a tool fails or the tools disagree on the number of itemsets.
    """
    from rich.console import Console

    from basket_core.config import load_settings

    settings = load_settings(config_file)
    args = BenchArgs(
        sizes=(20_000,) if quick else parse_sizes(sizes), items=items, mean_basket=mean_basket,
        seed=seed, sep=sep, min_support=min_support, min_confidence=min_confidence,
        max_size=max_size, tools=parse_tools(tools), mlxtend_max=mlxtend_max,
        timeout_s=timeout_s, mine_args=mine_args, engines=parse_engines(engines),
        runs=runs,
    )  # fmt: skip
    min_count(min_support, 1)  # validates
    data = data_dir or settings.paths.data_dir / "generated" / "bench"
    output = output_dir or settings.paths.output_dir / "bench"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 150)
    if "mine" in args.tools and not mine_available():
        console.print("[red]`basket mine` is not available; it will be reported as failed[/red]")
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    soaked: dict[str, Any] | None = None
    with contextlib.ExitStack() as stack:
        server = None
        if (connect or soak) and "mine" in args.tools and mine_available():
            import tempfile

            state = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sc-")))
            with console.status("starting a Spark Connect server"):
                server = stack.enter_context(ConnectBench(settings, state))
            warm = server.warm_up.summary() if server.warm_up else "no warm-up"
            console.print(f"Spark Connect server {server.url} (pid {server.pid}), {warm}")
        for n in args.sizes:
            done = bench_size(n, args, data, output, stamp, console, server if connect else None)
            rows += add_ratios(done)
            problems += [
                f"{n:,}: {r.tool} {r.status}: {r.note}" for r in done if r.status == "failed"
            ]
            if (why := agreement(done)) is not None:
                problems.append(f"{n:,}: {why}")
        if server is not None and soak:
            n = args.sizes[0]
            path = dataset_path(data, n, args.items, args.seed, args.mean_basket)
            server.warm(path, args, output, stamp)
            soaked = soak_server(server, path, n, soak, args, output, stamp, console)
            if soaked["failures"]:
                problems.append(f"soak: {soaked['failures']} of {soak} mines failed")
    print_table(console, rows, min_support)
    met = goals(rows, soaked)
    if met:
        print_goals(console, met)
    payload = {
        "started": stamp,
        "args": asdict(args),
        "environment": environment(),
        "results": rows,
        "connect_soak": soaked,
        "connect_warm_up": asdict(server.warm_up) if server and server.warm_up else None,
        "goals": met,
        "problems": problems,
    }
    path = write_results(results_dir, payload, stamp)
    console.print(f"results: {path}")
    for p in problems:
        console.print(f"[red]problem:[/red] {p}")
    if problems:
        sys.exit(1)


def worker_main(argv: Sequence[str]) -> None:
    tool, path, sep, count, max_size = argv
    result = worker(tool, Path(path), sep, int(count), int(max_size) or None)
    print(json.dumps(result))


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:2] == [WORKER]:
        worker_main(sys.argv[2:])
    else:
        main()
