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


PAGE_SIZE = 50
"""Rows per page of a table: the browser draws one page, whatever the rows sent."""
LIFT_SHADES = 16
"""Bands of lift shading: one conditional style per band, not one per cell."""


def _lift_styles(keys: list[str]) -> list[dict[str, Any]]:
    """Conditional cell styles that shade a lift cell by its value (the colour of the
    band's middle: :func:`~basket_dashboard.figures.lift_colour`, white at 1, deep green
    from 3)."""
    low, high = 1.0, 3.0
    step = (high - low) / LIFT_SHADES
    styles = []
    for key in keys:
        for band in range(LIFT_SHADES):
            lower = low + band * step
            upper = "" if band == LIFT_SHADES - 1 else f" && {{{key}}} < {lower + step}"
            styles.append(
                {
                    "if": {"column_id": key, "filter_query": f"{{{key}}} >= {lower}{upper}"},
                    "backgroundColor": lift_colour(lower + step / 2),
                }
            )
    return styles


def table(
    columns: tuple[tuple[str, str, Formatter], ...],
    rows: list[Row],
    table_id: str,
    empty: str = "No rows",
) -> Any:
    """One ``DataTable`` (a single component, paged: thousands of ``Td`` components take
    Dash's renderer seconds), cells formatted as the CSV and CLI show them; a ``lift``
    cell is shaded by its value."""
    from dash import dash_table, html
    from dash.dash_table.Format import Format, Scheme

    if not rows:
        return html.P(empty, id=table_id, className="empty")
    lifts = [key for key, _, _ in columns if key.startswith("lift")]
    data: list[dict[str, str | float | None]] = []
    for r in rows:
        cells: dict[str, str | float | None] = {
            key: fmt(r.get(key)) if r.get(key) is not None else "" for key, _, fmt in columns
        }
        for key in lifts:  # numeric, so the shading bands compare numbers
            value = r.get(key)
            cells[key] = round(float(value), 2) if value is not None else None
        data.append(cells)
    two_places = Format(precision=2, scheme=Scheme.fixed)
    return dash_table.DataTable(  # type: ignore[attr-defined]  # generated component
        id=table_id,
        columns=[
            {"name": label, "id": key, "type": "numeric", "format": two_places}
            if key in lifts
            else {"name": label, "id": key}
            for key, label, _ in columns
        ],
        data=data,
        page_size=PAGE_SIZE,
        page_action="native",
        style_as_list_view=True,
        style_cell={
            "padding": "4px 10px",
            "textAlign": "left",
            "fontFamily": "system-ui, sans-serif",
            "fontSize": "14px",
            "whiteSpace": "normal",
            "height": "auto",
        },
        style_header={"fontWeight": 600, "background": "#fafafa"},
        style_data_conditional=_lift_styles(lifts),
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
