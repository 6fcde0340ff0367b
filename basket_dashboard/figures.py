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


EDGE_BANDS = 4
"""Widths an edge can have: one line trace per band (SVG annotations, one per edge, took
the browser most of a second to lay out at the dashboard's 60 edges)."""
NODE_GAP = 0.07
"""How far short of a node's centre an edge starts and ends (axis units; the circle's
radius is 1)."""


def _edge_geometry(
    x0: float, y0: float, x1: float, y1: float
) -> tuple[float, float, float, float, float]:
    """The drawn segment of an edge, ``NODE_GAP`` short of both nodes, and the angle of
    its arrowhead (degrees clockwise from up, as Plotly's ``marker.angle`` takes it)."""
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    angle = 90.0 - math.degrees(math.atan2(dy, dx))
    return (
        x0 + ux * NODE_GAP,
        y0 + uy * NODE_GAP,
        x1 - ux * NODE_GAP,
        y1 - uy * NODE_GAP,
        angle,
    )


def network(edges: list[Row], title: str = "Rules between items") -> go.Figure:
    """Items as nodes, one arrow per item → item edge; wider and darker with more lift.
    Edges are a few line traces (one per width band) and one trace of arrowheads, which
    carries each edge's hover text."""
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
    bands: list[tuple[list[float | None], list[float | None]]] = [
        ([], []) for _ in range(EDGE_BANDS)
    ]
    heads: dict[str, list[Any]] = {"x": [], "y": [], "angle": [], "colour": [], "text": []}
    for e in edges:
        (x0, y0), (x1, y1) = pos[str(e["source"])], pos[str(e["target"])]
        sx, sy, ex, ey, angle = _edge_geometry(x0, y0, x1, y1)
        strength = float(e["lift"]) / max_lift
        band = min(int(strength * EDGE_BANDS), EDGE_BANDS - 1)
        xs, ys = bands[band]
        xs.extend((sx, ex, None))
        ys.extend((sy, ey, None))
        heads["x"].append(ex)
        heads["y"].append(ey)
        heads["angle"].append(angle)
        heads["colour"].append(_edge_colour((band + 1) / EDGE_BANDS))
        heads["text"].append(
            f"{e['source']} → {e['target']}<br>lift {fmt_measure(e['lift'], 2)}, "
            f"confidence {fmt_measure(e['confidence'])}, {e['rules']} rules"
        )
    traces: list[Any] = [
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={
                "width": 1 + 3 * (band + 1) / EDGE_BANDS,
                "color": _edge_colour((band + 1) / EDGE_BANDS),
            },
            hoverinfo="skip",
        )
        for band, (xs, ys) in enumerate(bands)
        if xs
    ]
    traces.append(
        go.Scatter(
            x=heads["x"],
            y=heads["y"],
            mode="markers",
            marker={
                "symbol": "arrow",
                "size": 11,
                "angle": heads["angle"],
                "color": heads["colour"],
            },
            text=heads["text"],
            hovertemplate="%{text}<extra></extra>",
            name="edges",
        )
    )
    traces.append(
        go.Scatter(
            x=[pos[n][0] for n in nodes],
            y=[pos[n][1] for n in nodes],
            mode="markers+text",
            text=nodes,
            textposition="top center",
            customdata=[degree[n] for n in nodes],
            hovertemplate="%{text}<br>%{customdata} rule edges<extra></extra>",
            marker={"size": [_node_size(degree[n]) for n in nodes], "color": "#ff7f0e"},
            name="items",
        )
    )
    fig = go.Figure(traces)
    fig.update_layout(
        title=title,
        template=TEMPLATE,
        showlegend=False,
        xaxis={"visible": False, "range": [-1.4, 1.4]},
        yaxis={"visible": False, "range": [-1.3, 1.3], "scaleanchor": "x"},
        height=480,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def _node_size(degree: int) -> float:
    """Marker size of a node: grows with its edges, but a hub of every edge stays small
    enough not to cover the arrows that end at it."""
    return round(10 + 4 * math.sqrt(degree), 1)


def _edge_colour(strength: float) -> str:
    return f"rgba(31, 119, 180, {0.25 + 0.7 * strength:.2f})"


def lift_colour(lift: float | None, low: float = 1.0, high: float = 3.0) -> str:
    """Background colour of a lift cell: white at ``low`` or less, deep green at ``high``."""
    if lift is None or not math.isfinite(lift):
        return "transparent"
    t = min(max((lift - low) / (high - low), 0.0), 1.0)
    r, g, b = (int(255 - t * (255 - c)) for c in (46, 160, 67))
    return f"rgb({r}, {g}, {b})"
