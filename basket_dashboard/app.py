"""The Dash app: page layout, callbacks, and a server on a chosen host and port."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket_dashboard import components, figures, model, plotly_bundle
from basket_dashboard.source import QuerySource

if TYPE_CHECKING:  # pragma: no cover
    import dash

log = logging.getLogger(__name__)
TITLE = "Market basket dashboard"
TABLE_ROWS = 200


def _section(title: str, *children: Any) -> Any:
    from dash import html

    return html.Section(
        [html.H2(title, style={"fontSize": "18px", "margin": "24px 0 8px"}), *children]
    )


def layout(src: QuerySource) -> Any:
    """The page, built on each load so new runs show up without a restart."""
    from dash import dcc, html

    src.refresh()
    run_list = model.runs(src)
    latest = str(run_list[0]["run_id"]) if run_list else None
    return html.Div(
        [
            html.H1(TITLE, style={"fontSize": "24px", "marginBottom": "4px"}),
            html.P(id="run-info", style={"color": "#666", "marginTop": 0}),
            components.controls(components.run_options(run_list), latest),
            html.Div(id="headline", style=components.ROW),
            html.Div(
                [
                    html.Div(dcc.Graph(id="itemsets-chart"), style=components.PANEL),
                    html.Div(dcc.Graph(id="scatter"), style=components.PANEL),
                ],
                style={**components.ROW, "marginTop": "16px"},
            ),
            _section(
                "Rules",
                html.P(id="rules-count", style={"color": "#666"}),
                html.Div(id="rules-table-box", style={"maxHeight": "480px", "overflowY": "auto"}),
            ),
            html.Div(dcc.Graph(id="network"), style={"marginTop": "16px"}),
            _section("What changed since the previous run", html.Div(id="changes")),
            _section(
                "Bought together with… (latest run)",
                dcc.Dropdown(
                    id="lookup-item",
                    options=[],
                    placeholder="pick an item",
                    style={"maxWidth": "360px"},
                ),
                html.Div(id="lookup", style={"marginTop": "8px"}),
            ),
        ],
        style={"fontFamily": "system-ui, sans-serif", "margin": "16px 24px", "maxWidth": "1400px"},
    )


def _filters(
    run_id: str | None,
    segment: str | None,
    support: Any,
    confidence: Any,
    lift: Any,
    item: Any,
    max_p: Any = None,
    hide_redundant: Any = None,
) -> model.Filters:
    return model.Filters.from_inputs(
        run_id=run_id,
        segment=segment,
        min_support=support,
        min_confidence=confidence,
        min_lift=lift,
        item=item,
        max_p=max_p,
        include_redundant=not hide_redundant,
    )


FILTER_INPUTS = (
    "run",
    "segment",
    "min-support",
    "min-confidence",
    "min-lift",
    "item-search",
    "max-p",
    "hide-redundant",
)


def create_app(src: QuerySource, assets: Path | None = None) -> dash.Dash:
    """The dashboard over ``src`` (every number comes from a pack query). ``assets``: a
    folder with plotly.js's basic bundle (:mod:`basket_dashboard.plotly_bundle`), put in
    the page so the graphs do not load the full plotly.js."""
    import dash
    from dash import Input, Output, State, dcc, html

    if assets is not None and not (assets / plotly_bundle.FILE).is_file():
        raise FileNotFoundError(f"no {plotly_bundle.FILE} in {assets}")
    app = dash.Dash(
        __name__,
        title=TITLE,
        update_title="",
        assets_folder=str(assets) if assets is not None else "assets",
    )
    app.layout = lambda: layout(src)
    filter_inputs = [Input(i, "value") for i in FILTER_INPUTS]

    @app.callback(
        Output("headline", "children"),
        Output("run-info", "children"),
        Output("segment", "options"),
        Output("lookup-item", "options"),
        Output("changes", "children"),
        Input("run", "value"),
    )
    def on_run(run_id: str | None) -> tuple[Any, ...]:
        run_id = run_id or ""
        row = model.headline(src, run_id)
        info = (
            f"Run {row['run_id']} of {row['dt']}, {row['status']}; "
            f"min support {row['min_support']}, min confidence {row['min_confidence']}"
            if row
            else ""
        )
        segments = [{"label": "all segments", "value": ""}] + [
            {"label": s, "value": s} for s in model.segments(src, run_id)
        ]
        lookup = [{"label": i, "value": i} for i in model.items(src)]
        return components.headline_cards(row), info, segments, lookup, _changes(src, run_id)

    @app.callback(
        Output("itemsets-chart", "figure"),
        Input("run", "value"),
        Input("segment", "value"),
    )
    def on_itemsets(run_id: str | None, segment: str | None) -> Any:
        rows = model.top_itemsets(src, run_id or "", segment or "")
        return figures.itemsets_bar(rows)

    @app.callback(
        Output("rules-table-box", "children"),
        Output("rules-count", "children"),
        Output("scatter", "figure"),
        Output("network", "figure"),
        *filter_inputs,
    )
    def on_rules(*values: Any) -> tuple[Any, ...]:
        f = _filters(*values)
        rows = model.rules(src, f)
        shown = rows[:TABLE_ROWS]
        count = f"{len(rows):,} rules match" + (
            f" (first {len(shown)} shown)" if len(shown) < len(rows) else ""
        )
        table = components.table(
            components.RULE_TABLE, shown, "rules-table", "No rules match the filters."
        )
        return (
            table,
            count,
            figures.rules_scatter(rows),
            figures.network(model.edges(src, f)),
        )

    @app.callback(
        Output("lookup", "children"),
        Input("lookup-item", "value"),
        Input("segment", "value"),
    )
    def on_lookup(item: str | None, segment: str | None) -> Any:
        if not item:
            return html.P("Pick an item to see what is bought with it.", style={"color": "#666"})
        rows = model.bought_together(src, item, segment or "")
        return components.table(
            components.LOOKUP_TABLE, rows, "lookup-table", f"Nothing frequent with {item}."
        )

    @app.callback(
        Output("rules-download", "data"),
        Input("download-button", "n_clicks"),
        *(State(i, "value") for i in FILTER_INPUTS),
        prevent_initial_call=True,
    )
    def on_download(_clicks: int | None, *values: Any) -> Any:
        f = _filters(*values)
        rows = model.rules(src, f, top_n=model.CSV_LIMIT)
        name = f"rules-{f.run_id or 'latest'}.csv"
        return dcc.send_string(model.rules_csv(rows), name)

    return app


def _changes(src: QuerySource, run_id: str) -> Any:
    """The run's recorded rule changes: counts by kind (of every change), then the first
    rows."""
    from dash import html

    counts = model.change_counts(src, run_id)
    summary = html.P(model.change_summary(counts), id="changes-summary")
    if counts.previous_run_id is None:
        return summary
    cards = html.Div(
        [
            html.Div(
                [
                    html.Div(kind, className="label", style={"color": "#666", "fontSize": "13px"}),
                    html.Div(
                        model.fmt_count(n),
                        className="value",
                        style={"fontSize": "22px", "fontWeight": 600},
                    ),
                ],
                id=f"changes-{kind}",
                style=components.CARD,
            )
            for kind, n in counts.counts.items()
        ],
        style=components.ROW,
    )
    rows = model.changes(src, run_id, top_n=TABLE_ROWS)
    shown = (
        html.P(f"The first {len(rows):,} of {counts.total:,}, largest lift moves first.")
        if len(rows) < counts.total
        else None
    )
    return [
        summary,
        cards,
        shown,
        components.table(components.CHANGE_TABLE, rows, "changes-table", "No rule changed."),
    ]


def serve(
    app: dash.Dash,
    host: str = "127.0.0.1",
    port: int = 8050,
    on_ready: Callable[[str], None] = print,
) -> None:
    """Serve until interrupted; ``port=0`` picks a free port. ``on_ready`` gets the URL."""
    from werkzeug.serving import make_server

    server = make_server(host, port, app.server, threaded=True)
    on_ready(f"http://{host}:{server.server_port}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("dashboard stopped")
    finally:
        server.server_close()
