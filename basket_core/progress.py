"""Progress reporting for long work: each stage logs what it did, how many rows,
and how long it took; on a terminal a spinner shows the running stage."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console

log = logging.getLogger("basket")


@dataclass
class Stage:
    name: str
    message: str = ""

    def done(self, message: str) -> None:
        self.message = message


@dataclass
class Progress:
    """Times stages and reports them to a rich console (stderr) and the log."""

    console: Console | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, key: str, title: str) -> Iterator[Stage]:
        stage = Stage(title)
        start = time.perf_counter()
        if self.console is not None and self.console.is_terminal:
            with self.console.status(f"{title}…"):
                yield stage
        else:
            yield stage
        elapsed = time.perf_counter() - start
        self.timings[f"{key}_s"] = round(elapsed, 3)
        line = (
            f"{title}: {stage.message} ({elapsed:.1f}s)"
            if stage.message
            else f"{title} ({elapsed:.1f}s)"
        )
        if self.console is not None:
            self.console.print(f"[green]✓[/green] {line}", highlight=False)
        log.info(line)


class Laps:
    """Seconds between successive :meth:`lap` calls, by name (a name lapped again adds
    up): the sub-steps of one stage, e.g. a micro-batch's or the driver miner's."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(names, 0.0)
        self._clock = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._clock
        self._clock = now

    def rounded(self, digits: int = 3, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}{k}": round(v, digits) for k, v in self.seconds.items()}
