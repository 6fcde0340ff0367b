"""Warm a fresh Spark Connect server before it takes real work.

A new server's JVM interprets the planner's and the mine's code until its JIT has seen
them run often enough to compile them: on this 2-core machine, ten warm 100k-basket
mines in a row on a fresh server took 10.5, 4.3, 3.7, 3.4, 3.3 ... s. A server that has
first mined a small generated data set a few times starts at the speed of the fifth
(3.5, 3.2, 3.1 s), because the code paths are the same whatever the data's size. So
``basket services start spark`` (and the compose service) mines ``spark.connect_warmup_mines``
times before it reports the server ready: alternately a long-format CSV with dirty rows
(the usual input, quarantine included) and a basket-format file, each mine a run of the
real job (:func:`spark.job.run_mine`) as a Connect client in a child process, its
output in a temporary folder that is removed afterwards.

A failed warm-up leaves the server up (it answered; only the warm-up failed) and says
why in the server's log and in ``warm.json``, which ``start`` reports.

    python -m basket_devtools.connect_warmup sc://127.0.0.1:15002 4 settings.json
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from basket_core.config import Settings

WARM_FILE = "warm.json"
"""In the server's state folder once its warm-up has ended, well or not."""

WARM_UP_DATA = {"transactions": 10_000, "items": 1_000, "days": 7, "dirty_share": 0.02}
"""The generated data mined: big enough for every stage to do real work (rules,
quarantined rows, several dates), small enough for a mine of ~1-3 s once warm."""


SECONDS_PER_MINE = 60.0
"""The warm-up's time limit, per mine: a warm-up that hangs ends as a failed one (the
server stays up), well before ``start`` would give up on the server itself."""


def time_limit(mines: int) -> float:
    return SECONDS_PER_MINE * mines


@dataclass(frozen=True)
class WarmUp:
    """How a warm-up went: the seconds of each mine, or the error that stopped it."""

    mines: int
    seconds: tuple[float, ...]
    error: str | None = None

    def summary(self) -> str:
        done = ", ".join(f"{s:.1f}" for s in self.seconds)
        if self.error is not None:
            return f"warm-up failed after {len(self.seconds)} of {self.mines} mines: {self.error}"
        return f"warmed up by {self.mines} mines ({done} s)"


def warm_up(
    settings: Settings,
    url: str,
    mines: int,
    cancel: threading.Event | None = None,
    timeout_s: float | None = None,
) -> WarmUp:
    """Mine ``mines`` times on the server at ``url``, in a child process (its own
    interpreter, as a real client's), and report how it went; never raises. Setting
    ``cancel`` (the server is stopping) kills the child."""
    if mines <= 0:
        return WarmUp(0, ())
    timeout_s = time_limit(mines) if timeout_s is None else timeout_s
    # everything the child writes (its generated data too) is in this folder, removed
    # here: a child killed at the limit or on stop cannot clean up after itself
    with tempfile.TemporaryDirectory(prefix="basket-warmup-") as tmp:
        settings_file = Path(tmp) / "settings.json"
        settings_file.write_text(settings.model_dump_json())
        out, err = Path(tmp) / "out.txt", Path(tmp) / "err.txt"
        work = Path(tmp) / "data"
        work.mkdir()
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            child = subprocess.Popen(
                [sys.executable, "-m", __name__, url, str(mines), str(settings_file), str(work)],
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + timeout_s
            while child.poll() is None:
                if (cancel is not None and cancel.is_set()) or time.monotonic() > deadline:
                    child.kill()
                    child.wait()
                    why = "the server is stopping" if cancel and cancel.is_set() else None
                    return WarmUp(mines, (), why or f"did not finish in {timeout_s:.0f} s")
                time.sleep(0.2)
        lines = out.read_text().strip().splitlines()
        if child.returncode != 0 or not lines:
            last = (err.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
            return WarmUp(mines, (), f"exit {child.returncode}: {last}")
        report = json.loads(lines[-1])
        return WarmUp(report["mines"], tuple(report["seconds"]), report["error"])


def mine_rounds(settings: Settings, url: str, mines: int, work: Path) -> WarmUp:
    """The child's work: generate the data in ``work`` and mine it ``mines`` times."""
    from basket_devtools.generate import GeneratorConfig, generate
    from spark.job import MineRequest, run_mine

    client = settings.with_overrides(
        **{"spark.remote": url, "paths.output_dir": str(work / "output")}
    )
    config = GeneratorConfig(**WARM_UP_DATA)  # type: ignore[arg-type]
    long_csv, baskets = work / "long.csv", work / "baskets.txt"
    generate(config, long_csv)
    generate(config, baskets, fmt="basket")
    seconds: list[float] = []
    try:
        for i in range(mines):
            started = time.perf_counter()
            if i % 2:
                basket_settings = client.with_overrides(**{"input.format": "basket"})
                run_mine(basket_settings, MineRequest(inputs=(str(baskets),)))
            else:
                run_mine(client, MineRequest(inputs=(str(long_csv),)))
            seconds.append(round(time.perf_counter() - started, 2))
    except Exception as exc:  # reported by the server, which stays up
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return WarmUp(mines, tuple(seconds), f"{type(exc).__name__}: {first}")
    return WarmUp(mines, tuple(seconds))


def write_warm(state_dir: Path, warm: WarmUp) -> None:
    """Record the warm-up for ``start`` and ``status`` (written whole, then renamed)."""
    partial = state_dir / f".{WARM_FILE}"
    partial.write_text(json.dumps(asdict(warm)))
    partial.replace(state_dir / WARM_FILE)


def read_warm(state_dir: Path) -> WarmUp | None:
    try:
        data = json.loads((state_dir / WARM_FILE).read_text())
    except FileNotFoundError:
        return None
    return WarmUp(data["mines"], tuple(data["seconds"]), data["error"])


def main(argv: list[str]) -> None:
    url, mines, settings_file, work = argv[0], int(argv[1]), Path(argv[2]), Path(argv[3])
    settings = Settings.model_validate_json(settings_file.read_text())
    warm = mine_rounds(settings, url, mines, work)
    print(json.dumps(asdict(warm)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
