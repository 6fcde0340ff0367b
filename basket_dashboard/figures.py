"""Plotly figures from the panels' rows (pure: rows in, figure out)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from basket_dashboard.model import fmt_measure
from basket_dashboard.source import Row

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

TEMPLATE = "plotly_white"
LIFT_SCALE = "Viridis"


def _empty(title: str, message: str) -> go.Figure:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(
        title=title,
        template=TEMPLATE,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "font": {"size": 14}}],
        height=360,
    )
    return fig


def itemsets_bar(rows: list[Row], title: str = "Most frequent itemsets") -> go.Figure:
    """Horizontal bars of support, the most frequent at the top, one colour per size."""
    import plotly.graph_objects as go

    if not rows:
        return _empty(title, "No itemsets")
    labels = [f"{r['items']}  ({r['segment']})" for r in rows]
    fig = go.Figure()
    for size in sorted({int(r["size"]) for r in rows}):
        picked = [(label, r) for label, r in zip(labels, rows, strict=True) if r["size"] == size]
        fig.add_trace(
            go.Bar(
                name=f"{size} item" + ("s" if size > 1 else ""),
                x=[r["support"] for _, r in picked],
                y=[label for label, _ in picked],
                orientation="h",
                text=[f"{r['support']:.1%}" for _, r in picked],
                textposition="auto",
                customdata=[r["count"] for _, r in picked],
                hovertemplate="%{y}<br>support %{x:.3f}<br>baskets %{customdata}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title,
        template=TEMPLATE,
        barmode="overlay",
        legend={"orientation": "h", "y": -0.15},
        xaxis={"title": "support (share of baskets)", "tickformat": ".0%"},
        yaxis={
            "automargin": True,
            "categoryorder": "array",
            "categoryarray": list(reversed(labels)),
        },
        height=max(380, 26 * len(rows) + 140),
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
    )
    return fig


def _rule_label(r: Row) -> str:
    return f"{r['antecedent']} → {r['consequent']} ({r['segment']})"


def rules_scatter(rows: list[Row], title: str = "Rules: support vs confidence") -> go.Figure:
    """One point per rule, coloured by lift."""
    import plotly.graph_objects as go

    if not rows:
        return _empty(title, "No rules match the filters")
    fig = go.Figure(
        go.Scatter(
            x=[r["support"] for r in rows],
            y=[r["confidence"] for r in rows],
            mode="markers",
            text=[_rule_label(r) for r in rows],
            customdata=[[fmt_measure(r["lift"], 2)] for r in rows],
            hovertemplate="%{text}<br>support %{x:.3f}<br>confidence %{y:.3f}"
            "<br>lift %{customdata[0]}<extra></extra>",
            marker={
                "size": 11,
                "color": [r["lift"] for r in rows],
                "colorscale": LIFT_SCALE,
                "colorbar": {"title": {"text": "lift"}},
                "line": {"width": 0.5, "color": "#333"},
            },
        )
    )
    fig.update_layout(
        title=title,
        template=TEMPLATE,
        xaxis={"title": "support", "rangemode": "tozero"},
        yaxis={"title": "confidence", "rangemode": "tozero"},
        height=420,
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
    )
    return fig


def circle_layout(nodes: list[str]) -> dict[str, tuple[float, float]]:
    """Nodes evenly on a unit circle, in the given order (deterministic)."""
    n = max(len(nodes), 1)
    return {
        node: (math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n))
        for i, node in enumerate(nodes)
    }


def network(edges: list[Row], title: str = "Rules between items") -> go.Figure:
    """Items as nodes, one arrow per item → item edge; wider and darker with more lift."""
    import plotly.graph_objects as go

    if not edges:
        return _empty(title, "No rules match the filters")
    degree: dict[str, int] = {}
    for e in edges:
        for node in (str(e["source"]), str(e["target"])):
            degree[node] = degree.get(node, 0) + 1
    nodes = sorted(degree, key=lambda n: (-degree[n], n))
    pos = circle_layout(nodes)
    max_lift = max(float(e["lift"]) for e in edges) or 1.0
    arrows: list[dict[str, Any]] = []
    for e in edges:
        (x0, y0), (x1, y1) = pos[str(e["source"])], pos[str(e["target"])]
        strength = float(e["lift"]) / max_lift
        arrows.append(
            {
                "x": x1,
                "y": y1,
                "ax": x0,
                "ay": y0,
                "xref": "x",
                "yref": "y",
                "axref": "x",
                "ayref": "y",
                "showarrow": True,
                "arrowhead": 2,
                "arrowsize": 1.2,
                "arrowwidth": 1 + 3 * strength,
                "arrowcolor": f"rgba(31, 119, 180, {0.25 + 0.7 * strength:.2f})",
                "standoff": 14,
                "startstandoff": 10,
                "text": "",
            }
        )
    fig = go.Figure(
        go.Scatter(
            x=[pos[n][0] for n in nodes],
            y=[pos[n][1] for n in nodes],
            mode="markers+text",
            text=nodes,
            textposition="top center",
            customdata=[degree[n] for n in nodes],
            hovertemplate="%{text}<br>%{customdata} rule edges<extra></extra>",
            marker={"size": [12 + 3 * degree[n] for n in nodes], "color": "#ff7f0e"},
        )
    )
    fig.update_layout(
        title=title,
        template=TEMPLATE,
        annotations=arrows,
        showlegend=False,
        xaxis={"visible": False, "range": [-1.4, 1.4]},
        yaxis={"visible": False, "range": [-1.3, 1.3], "scaleanchor": "x"},
        height=480,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def lift_colour(lift: float | None, low: float = 1.0, high: float = 3.0) -> str:
    """Background colour of a lift cell: white at ``low`` or less, deep green at ``high``."""
    if lift is None or not math.isfinite(lift):
        return "transparent"
    t = min(max((lift - low) / (high - low), 0.0), 1.0)
    r, g, b = (int(255 - t * (255 - c)) for c in (46, 160, 67))
    return f"rgb({r}, {g}, {b})"
