"""A static, self-contained HTML snapshot of one run: the headline figures, the charts
(Plotly with its JavaScript inline, so the file opens offline) and the top rules."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket_dashboard import figures, model
from basket_dashboard.source import QuerySource, Row, source_for

if TYPE_CHECKING:  # pragma: no cover
    from basket_core.config import Settings

SNAPSHOT_RULES = 100
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 16px 24px; max-width: 1400px; }
.cards { display: flex; flex-wrap: wrap; gap: 16px; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 10px 16px; background: #fafafa; }
.card .label { color: #666; font-size: 13px; } .card .value { font-size: 26px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: left; }
"""


def _cards(row: Row) -> str:
    return "".join(
        f'<div class="card" id="headline-{key}"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{model.fmt_count(row.get(key))}</div></div>'
        for key, label in model.HEADLINE
    )


def _table(rows: list[Row], table_id: str, columns: Any) -> str:
    if not rows:
        return f'<p id="{table_id}">No rows.</p>'
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in columns)
    body = []
    for r in rows:
        cells = []
        for key, _, fmt in columns:
            value = r.get(key)
            text = html.escape(fmt(value)) if value is not None else ""
            style = (
                f' style="background: {figures.lift_colour(value)}"'
                if key.startswith("lift")
                else ""
            )
            cells.append(f"<td{style}>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _figure(fig: Any, div_id: str) -> str:
    html_text: str = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"responsive": True, "displaylogo": False},
        default_width="100%",
    )
    return html_text


def render(src: QuerySource, run_id: str = "", now: datetime | None = None) -> str:
    """The snapshot page of ``run_id`` (``''``: the latest run) as one HTML string."""
    from plotly.offline import get_plotlyjs

    from basket_dashboard.components import CHANGE_TABLE, RULE_TABLE

    row = model.headline(src, run_id)
    if row is None:
        raise LookupError("no run to snapshot: the results hold no succeeded run yet")
    run_id = str(row["run_id"])
    f = model.Filters(run_id=run_id)
    rules = model.rules(src, f)
    changes = model.changes(src, run_id)
    change_text = model.change_summary(model.change_counts(src, run_id))
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    title = f"Market basket snapshot · {row['dt']} · {run_id}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>{html.escape(title)}</h1>
<p>Run {html.escape(run_id)} ({html.escape(str(row["status"]))}), min support
{row["min_support"]}, min confidence {row["min_confidence"]}. Written {stamp}.</p>
<div class="cards">{_cards(row)}</div>
{_figure(figures.itemsets_bar(model.top_itemsets(src, run_id)), "itemsets-chart")}
{_figure(figures.rules_scatter(rules), "scatter")}
<h2>Top rules by lift ({min(len(rules), SNAPSHOT_RULES)} of {len(rules)})</h2>
{_table(rules[:SNAPSHOT_RULES], "rules-table", RULE_TABLE)}
{_figure(figures.network(model.edges(src, f)), "network")}
<h2>What changed since the previous run</h2>
<p id="changes-summary">{html.escape(change_text)}</p>
{_table(changes, "changes-table", CHANGE_TABLE) if changes else ""}
</body></html>
"""


def write_snapshot(
    settings: Settings, path: str | Path, *, run_id: str = "", src: QuerySource | None = None
) -> Path:
    """Write the snapshot of ``run_id`` (default: the latest run) to ``path``; the path.

    Reads through the configured dashboard backend unless ``src`` is given. The file is
    written to a temporary name and renamed, so a reader never sees half a page.
    """
    source = src or source_for(settings)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render(source, run_id), encoding="utf-8")
    tmp.replace(out)
    return out
