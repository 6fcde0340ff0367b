"""Dash components of the page: controls, headline cards and tables (no callbacks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from basket_dashboard import model
from basket_dashboard.figures import lift_colour
from basket_dashboard.source import Row

Formatter = Callable[[Any], str]
CARD = {
    "border": "1px solid #ddd",
    "borderRadius": "8px",
    "padding": "10px 16px",
    "minWidth": "130px",
    "background": "#fafafa",
}
PANEL = {"flex": "1 1 480px", "minWidth": "0"}
ROW = {"display": "flex", "flexWrap": "wrap", "gap": "16px", "alignItems": "flex-start"}
CELL = {"padding": "4px 10px", "borderBottom": "1px solid #eee", "textAlign": "left"}

RULE_TABLE: tuple[tuple[str, str, Formatter], ...] = (
    ("segment", "Segment", str),
    ("antecedent", "If bought", str),
    ("consequent", "Then also", str),
    ("support", "Support", model.fmt_measure),
    ("confidence", "Confidence", model.fmt_measure),
    ("lift", "Lift", lambda v: model.fmt_measure(v, 2)),
    ("count", "Baskets", model.fmt_count),
    ("fisher_p_adjusted", "p (adjusted)", model.fmt_p),
    ("improvement", "Improvement", model.fmt_measure),
    ("redundant", "Redundant", model.fmt_flag),
)
CHANGE_TABLE: tuple[tuple[str, str, Formatter], ...] = (
    ("change", "Change", str),
    ("segment", "Segment", str),
    ("antecedent", "If bought", str),
    ("consequent", "Then also", str),
    ("lift_before", "Lift before", lambda v: model.fmt_measure(v, 2)),
    ("lift_after", "Lift now", lambda v: model.fmt_measure(v, 2)),
    ("confidence_before", "Confidence before", model.fmt_measure),
    ("confidence_after", "Confidence now", model.fmt_measure),
    ("confidence_change_p", "p (confidence changed)", model.fmt_p),
    ("fisher_p_adjusted", "p (adjusted, now)", model.fmt_p),
)
LOOKUP_TABLE: tuple[tuple[str, str, Formatter], ...] = (
    ("other_item", "Bought with", str),
    ("segment", "Segment", str),
    ("together", "Baskets together", model.fmt_count),
    ("support", "Support", model.fmt_measure),
    ("share_of_item_baskets", "Share of the item's baskets", model.fmt_measure),
)


def headline_cards(row: Row | None) -> list[Any]:
    from dash import html

    if row is None:
        return [html.P("No results yet: run `basket mine` (or `basket demo`) first.")]
    return [
        html.Div(
            [
                html.Div(label, className="label", style={"color": "#666", "fontSize": "13px"}),
                html.Div(
                    model.fmt_count(row.get(key)),
                    className="value",
                    style={"fontSize": "26px", "fontWeight": 600},
                ),
            ],
            id=f"headline-{key}",
            style=CARD,
        )
        for key, label in model.HEADLINE
    ]


def table(
    columns: tuple[tuple[str, str, Formatter], ...],
    rows: list[Row],
    table_id: str,
    empty: str = "No rows",
) -> Any:
    """A plain HTML table; a ``lift`` cell is shaded by its value."""
    from dash import html

    if not rows:
        return html.P(empty, id=table_id, className="empty")
    head = html.Thead(html.Tr([html.Th(label, style=CELL) for _, label, _ in columns]))
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(
                        fmt(r.get(key)) if r.get(key) is not None else "",
                        className=key,
                        style={**CELL, "background": lift_colour(r.get(key))}
                        if key.startswith("lift")
                        else CELL,
                    )
                    for key, _, fmt in columns
                ]
            )
            for r in rows
        ]
    )
    return html.Table(
        [head, body], id=table_id, style={"borderCollapse": "collapse", "width": "100%"}
    )


def _labelled(label: str, control: Any) -> Any:
    from dash import html

    return html.Div(
        [html.Div(label, style={"fontSize": "13px"}), control],
        style={"minWidth": "140px"},
    )


def controls(run_options: list[dict[str, str]], latest: str | None) -> Any:
    from dash import dcc, html

    def number(id_: str, step: float, maximum: float | None = None) -> Any:
        return dcc.Input(
            id=id_, type="number", min=0, max=maximum, step=step, value=0, debounce=True
        )

    return html.Div(
        [
            _labelled(
                "Run",
                dcc.Dropdown(
                    id="run",
                    options=run_options,
                    value=latest,
                    clearable=False,
                    style={"minWidth": "260px"},
                ),
            ),
            _labelled(
                "Segment",
                dcc.Dropdown(id="segment", options=[], value="", placeholder="all segments"),
            ),
            _labelled("Min support", number("min-support", 0.01, 1)),
            _labelled("Min confidence", number("min-confidence", 0.05, 1)),
            _labelled("Min lift", number("min-lift", 0.1)),
            _labelled(
                "Max p (adjusted)",
                dcc.Input(
                    id="max-p", type="number", min=0, max=1, step="any", value=1, debounce=True
                ),
            ),
            _labelled(
                "Redundant rules",
                dcc.Checklist(
                    id="hide-redundant",
                    options=[{"label": " hide", "value": "hide"}],
                    value=[],
                ),
            ),
            _labelled(
                "Item contains",
                dcc.Input(id="item-search", type="text", value="", debounce=True),
            ),
            html.Div(
                [
                    html.Button("Download rules CSV", id="download-button"),
                    dcc.Download(id="rules-download"),
                ],
                style={"alignSelf": "flex-end"},
            ),
        ],
        style={**ROW, "alignItems": "flex-end", "marginBottom": "16px"},
    )


def run_options(run_list: list[Row]) -> list[dict[str, str]]:
    return [{"label": f"{r['dt']} · {r['run_id']}", "value": str(r["run_id"])} for r in run_list]
