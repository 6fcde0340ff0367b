"""Where the dashboard's rows come from: a pack query run on DuckDB or Athena.

A :class:`QuerySource` runs a named query from :mod:`athena.pack` with bound parameters and
returns rows as dicts. Nothing else reads the results, so the dashboard shows exactly what
``basket query NAME`` prints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from basket_core.aws.athena import Athena
    from basket_core.config import Settings

Row = dict[str, Any]


class QuerySource(Protocol):
    def run(self, name: str, **params: Any) -> list[Row]:
        """Rows of pack query ``name`` with ``params`` bound (defaults for the rest)."""
        ...

    def refresh(self) -> None:
        """Forget anything cached: new runs may have been written."""
        ...


def _rows(columns: list[str], rows: list[tuple[Any, ...]]) -> list[Row]:
    return [dict(zip(columns, r, strict=True)) for r in rows]


class LocalSource:
    """DuckDB over a local results folder; one in-memory database, a cursor per query
    (``threads`` DuckDB threads each; default: one per core)."""

    def __init__(self, root: Path, threads: int | None = None) -> None:
        self.root = Path(root)
        self.threads = threads
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        from athena import local

        with self._lock:
            if self._con is None:
                self._con = local.connect(self.root, threads=self.threads)
            return self._con

    def refresh(self) -> None:
        """Make the views again only if a run was added or switched since (a stamp of the
        pointers): a page load over a million rules does not list every file again."""
        from athena import local

        with self._lock:
            if self._con is not None:
                local.refresh_if_switched(self._con)

    def run(self, name: str, **params: Any) -> list[Row]:
        from athena import local, pack

        query = pack.load(name)
        cur = self._connection().cursor()
        try:
            return _rows(*local.run(cur, query, query.bind(params)))
        finally:
            cur.close()


class AthenaSource:
    """The pack on Athena (``?`` placeholders plus ExecutionParameters), through PyAthena."""

    def __init__(self, athena: Athena) -> None:
        self.athena = athena

    def refresh(self) -> None:
        pass

    def run(self, name: str, **params: Any) -> list[Row]:
        from athena import pack, remote

        query = pack.load(name)
        return _rows(*remote.run(self.athena, query, query.bind(params)))


class CachedSource:
    """Remembers each (query, parameters) answer for ``ttl_s`` seconds: one filter change
    does not rerun every Athena query of the page."""

    def __init__(
        self, inner: QuerySource, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.inner, self.ttl_s, self.clock = inner, ttl_s, clock
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, list[Row]]] = {}
        self._lock = threading.Lock()

    def refresh(self) -> None:
        with self._lock:
            self._cache.clear()
        self.inner.refresh()

    def run(self, name: str, **params: Any) -> list[Row]:
        key = (name, tuple(sorted((k, repr(v)) for k, v in params.items())))
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        rows = self.inner.run(name, **params)
        with self._lock:
            self._cache[key] = (now, rows)
        return rows


def source_for(settings: Settings, backend: str | None = None) -> QuerySource:
    """The configured backend: ``local`` (DuckDB over ``paths.output_dir``) or ``athena``."""
    backend = backend or settings.dashboards.backend
    if backend == "local":
        return LocalSource(
            Path(settings.paths.output_dir), threads=settings.dashboards.query_threads
        )
    if backend == "athena":
        from basket_core.aws.athena import for_settings

        athena = AthenaSource(for_settings(settings))
        return CachedSource(athena, ttl_s=300.0)
    raise ValueError(f"unknown dashboard backend {backend!r}; use 'local' or 'athena'")
