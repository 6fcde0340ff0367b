"""The local interactive dashboard (Dash + Plotly) and its static HTML snapshot.

Every number comes from the analyst query pack (``athena/queries/*.sql``) through the same
backends as ``basket query``: DuckDB over the local results, or Athena.

- :mod:`basket_dashboard.source`: run a pack query on the configured backend;
- :mod:`basket_dashboard.model`: the panels' data (headline, itemsets, rules, changes...);
- :mod:`basket_dashboard.figures`: Plotly figures from that data (pure);
- :mod:`basket_dashboard.app`: the Dash app and its server;
- :mod:`basket_dashboard.snapshot`: :func:`write_snapshot`, one self-contained HTML file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from basket_core.config import Settings


def write_snapshot(settings: Settings, path: str | Path, run_id: str = "") -> Path:
    """Write the static HTML snapshot of ``run_id`` (default: the latest run) to ``path``
    (see :func:`basket_dashboard.snapshot.write_snapshot`)."""
    from basket_dashboard import snapshot

    return snapshot.write_snapshot(settings, path, run_id=run_id)
