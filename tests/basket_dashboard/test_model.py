"""The dashboard's data layer, figures, HTML snapshot and CLI, over the sample results."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from basket.cli import main
from basket_core.config import Settings
from basket_dashboard import figures, model, plotly_bundle, snapshot
from basket_dashboard.source import CachedSource, LocalSource, Row, source_for
from basket_devtools import sample_results


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("results")
    sample_results.write_sample(root)
    return root


@pytest.fixture(scope="module")
def src(results: Path) -> LocalSource:
    return LocalSource(results)


def test_headline_runs_and_changes(src: LocalSource) -> None:
    head = model.headline(src)
    assert head is not None and head["run_id"] == sample_results.RUN_B
    assert {k: head[k] for k, _ in model.HEADLINE} == {
        "baskets": 200,
        "distinct_items": 5,
        "itemsets": 11,
        "rules": 7,
        "rejected_rows": 10,
        "input_rows": 1000,
    }
    runs = model.runs(src)
    assert model.previous_run(runs, "") == sample_results.RUN_A
    assert model.previous_run(runs, sample_results.RUN_B) == sample_results.RUN_A
    assert model.previous_run(runs, sample_results.RUN_A) is None
    assert model.previous_run(runs, "unknown") is None
    counts = model.change_counts(src)  # RUN_B's recorded rule_changes
    assert counts == model.ChangeCounts(
        sample_results.RUN_A,
        "2026-01-01",
        {"new": 2, "strengthened": 2, "weakened": 2, "gone": 1},
    )
    rows = model.changes(src)
    assert [(r["change"], r["segment"], r["antecedent"], r["consequent"]) for r in rows] == [
        ("new", "FR", "eggs", "milk"),
        ("new", "FR", "milk", "eggs"),
        ("strengthened", "FR", "bread", "butter"),
        ("strengthened", "FR", "butter", "bread"),
        ("weakened", "UK", "milk", "tea"),
        ("weakened", "UK", "tea", "milk"),
        ("gone", "FR", "jam", "butter"),
    ]
    assert model.change_summary(counts) == (
        f"Compared with run {sample_results.RUN_A} of 2026-01-01: "
        "2 new, 2 strengthened, 2 weakened, 1 gone"
    )
    # the counts are of every change, not of the rows a table shows
    assert len(model.changes(src, top_n=3)) == 3 and model.change_counts(src).total == 7
    uk = model.changes(src, sample_results.RUN_B, "UK")
    assert [(r["lift_before"], r["lift_after"], r["confidence_change_p"]) for r in uk] == [
        (1.333333, 1.190476, 0.0879745),
        (1.333333, 1.190476, 0.236984),
    ]
    assert model.change_counts(src, sample_results.RUN_B, "UK").counts["weakened"] == 2
    first = model.change_counts(src, sample_results.RUN_A)  # a first run: none recorded
    assert first.previous_run_id is None and first.total == 0
    assert model.changes(src, sample_results.RUN_A) == []
    assert "No rule changes recorded" in model.change_summary(first)


def test_filters_from_form_inputs() -> None:
    f = model.Filters.from_inputs(
        run_id=None, segment="", min_support="0.1", min_confidence=None, min_lift=-3, item=" tea "
    )
    assert f == model.Filters(min_support=0.1, item="tea")
    assert "item" not in f.edge_params()
    with pytest.raises(ValueError, match="min_lift"):
        model.Filters(min_lift=float("nan"))
    g = model.Filters.from_inputs(max_p="0.05", include_redundant=False)
    assert (g.max_p, g.include_redundant) == (0.05, 0)
    assert g.edge_params()["max_p"] == 0.05 and g.rule_params()["include_redundant"] == 0
    assert model.Filters.from_inputs(max_p="0", include_redundant=True).max_p == 1.0
    assert model.Filters.from_inputs(max_p="7").max_p == 1.0
    with pytest.raises(ValueError, match="max_p"):
        model.Filters(max_p=0.0)


def test_rules_show_significance_and_redundancy(src: LocalSource) -> None:
    every = model.rules(src, model.Filters(segment="FR"))
    assert [
        (r["antecedent"], r["consequent"], r["fisher_p_adjusted"], r["improvement"], r["redundant"])
        for r in every
    ] == [
        ("eggs", "milk", 8.05056e-07, 0.4, False),
        ("milk", "eggs", 8.05056e-07, 0.3, False),
        ("butter", "bread", 2.54211e-09, 0.3, False),
        ("bread", "butter", 2.54211e-09, 0.25, False),
        ("milk", "bread", 1.0, -0.1, True),
    ]
    kept = model.rules(src, model.Filters(segment="FR", include_redundant=0))
    assert kept == every[:-1]
    strong = model.rules(src, model.Filters(segment="FR", max_p=1e-6))
    assert [(r["antecedent"], r["consequent"]) for r in strong] == [
        ("eggs", "milk"),
        ("milk", "eggs"),
        ("butter", "bread"),
        ("bread", "butter"),
    ]
    assert model.edges(src, model.Filters(segment="FR", include_redundant=0)) != model.edges(
        src, model.Filters(segment="FR")
    )
    assert model.fmt_p(2.54211e-09) == "2.5e-09" and model.fmt_p(0.0123) == "0.012"
    assert model.fmt_flag(True) == "yes" and model.fmt_flag(None) == ""


def test_rules_csv_and_formatting(src: LocalSource) -> None:
    rows = model.rules(src, model.Filters(segment="UK"))
    parsed = list(csv.DictReader(io.StringIO(model.rules_csv(rows))))
    assert [(r["antecedent"], r["consequent"]) for r in parsed] == [
        ("milk", "tea"),
        ("tea", "milk"),
    ]
    assert list(parsed[0]) == list(model.RULE_COLUMNS)
    assert model.fmt_count(1234567) == "1,234,567" and model.fmt_count(None) == "–"
    assert model.fmt_measure(float("inf")) == "∞" and model.fmt_measure(0.5, 2) == "0.50"


def test_source_for_runs_dashboard_queries_on_the_configured_threads(
    results: Path, tmp_path: Path
) -> None:
    settings = Settings().with_overrides(
        **{"paths.output_dir": results, "dashboards.query_threads": 1}
    )
    src = source_for(settings)
    assert isinstance(src, LocalSource)
    assert src.run("run_list") and src._connection().execute(
        "SELECT current_setting('threads')"
    ).fetchall() == [(1,)]


def test_bought_together(src: LocalSource) -> None:
    rows = model.bought_together(src, "milk", "FR")
    assert [(r["other_item"], r["together"]) for r in rows] == [("eggs", 24), ("bread", 20)]
    assert model.bought_together(src, "") == []


def test_figures_are_built_from_rows(src: LocalSource) -> None:
    f = model.Filters()
    bar = figures.itemsets_bar(model.top_itemsets(src, top_n=5))
    assert sum(len(t.x) for t in bar.data) == 5
    scatter = figures.rules_scatter(model.rules(src, f))
    assert list(scatter.data[0].marker.color) == [r["lift"] for r in model.rules(src, f)]
    net = figures.network(model.edges(src, f))
    edges = model.edges(src, f)
    assert set(net.data[-1].text) == {"bread", "butter", "milk", "eggs", "tea"}
    heads = net.data[-2]  # one arrowhead per edge, at the target's end
    assert len(heads.x) == len(edges) == len(heads.marker.angle)
    assert {t.split("<br>")[0] for t in heads.text} == {
        f"{e['source']} → {e['target']}" for e in edges
    }
    lines = net.data[:-2]
    assert sum(list(t.x).count(None) for t in lines) == len(edges)
    drawn = {t.type for fig in (bar, scatter, net, figures.network([])) for t in fig.data}
    assert drawn <= plotly_bundle.TRACE_TYPES  # what the page's plotly.js bundle can draw
    empty = figures.rules_scatter([])
    assert empty.layout.annotations[0].text == "No rules match the filters"
    assert figures.lift_colour(1.0) == "rgb(255, 255, 255)"
    assert figures.lift_colour(None) == "transparent"


def test_cached_source_reuses_answers_for_ttl() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    class Fake:
        def run(self, name: str, **params: Any) -> list[Row]:
            calls.append((name, params))
            return [{"n": len(calls)}]

        def refresh(self) -> None:
            pass

    now = [0.0]
    cached = CachedSource(Fake(), ttl_s=10, clock=lambda: now[0])
    assert cached.run("q", a=1) == cached.run("q", a=1) == [{"n": 1}]
    assert cached.run("q", a=2) == [{"n": 2}]
    now[0] = 11
    assert cached.run("q", a=1) == [{"n": 3}]
    cached.refresh()
    assert cached.run("q", a=2) == [{"n": 4}]


def test_source_for_picks_the_backend(results: Path) -> None:
    settings = Settings().with_overrides(**{"paths.output_dir": results})
    assert isinstance(source_for(settings), LocalSource)
    with pytest.raises(ValueError, match="backend"):
        source_for(settings, "excel")


def test_snapshot_is_self_contained(results: Path, tmp_path: Path) -> None:
    settings = Settings().with_overrides(**{"paths.output_dir": results})
    from basket_dashboard import write_snapshot

    out = write_snapshot(settings, tmp_path / "site" / "snapshot.html")
    text = out.read_text(encoding="utf-8")
    assert not (tmp_path / "site" / "snapshot.html.tmp").exists()
    # plotly.js is inline and nothing is loaded from elsewhere
    assert "Plotly" in text and len(text) > 1_000_000
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", text)
    assert re.search(r'id="headline-baskets".*?<div class="value">200</div>', text)
    assert re.search(r'id="headline-rules".*?<div class="value">7</div>', text)
    assert text.count("<tr>") == 1 + 7 + 1 + 7  # rules table and changes table, with heads
    for div in ("itemsets-chart", "scatter", "network"):
        assert f'id="{div}"' in text
    assert "2 new, 2 strengthened, 2 weakened, 1 gone" in text
    assert "<th>p (adjusted)</th>" in text and "<th>Redundant</th>" in text


def test_snapshot_of_an_older_run_and_of_nothing(results: Path, tmp_path: Path) -> None:
    src = LocalSource(results)
    text = snapshot.render(src, sample_results.RUN_A)
    assert f"· {sample_results.RUN_A}" in text and "No rule changes recorded" in text
    with pytest.raises(LookupError, match="no run"):
        snapshot.render(LocalSource(tmp_path / "empty"))


def test_cli_snapshot(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "snap.html"
    r = CliRunner().invoke(
        main, ["dashboard", "--output", str(results), "--snapshot", str(out)], obj=None
    )
    assert r.exit_code == 0, r.output
    assert out.is_file() and "snapshot written" in r.output
    r = CliRunner().invoke(
        main, ["dashboard", "--output", str(tmp_path / "none"), "--snapshot", str(out)]
    )
    assert r.exit_code != 0 and "no run to snapshot" in r.output


def test_page_over_empty_results_says_so(tmp_path: Path) -> None:
    from basket_dashboard.app import create_app, layout
    from basket_dashboard.components import headline_cards

    src = LocalSource(tmp_path / "nothing-yet")
    assert model.runs(src) == [] and model.headline(src) is None
    assert model.rules(src, model.Filters()) == []
    page = layout(src)
    assert "Market basket dashboard" in str(page)
    assert "No results yet" in str(headline_cards(None))
    assert create_app(src).title == "Market basket dashboard"


def test_athena_source_runs_the_pack_remotely(monkeypatch: pytest.MonkeyPatch) -> None:
    from athena import pack
    from basket_dashboard.source import AthenaSource

    seen: list[tuple[str, dict[str, Any], Any]] = []

    def fake_run(athena: Any, query: pack.Query, values: dict[str, Any]):  # type: ignore[no-untyped-def]
        seen.append((query.name, values, athena))
        return ["run_id", "rules"], [("r1", 3)]

    monkeypatch.setattr("athena.remote.run", fake_run)
    athena: Any = object()
    src = CachedSource(AthenaSource(athena), ttl_s=60)
    assert src.run("run_summary") == src.run("run_summary") == [{"run_id": "r1", "rules": 3}]
    assert seen == [("run_summary", {"run_id": ""}, athena)]


def test_page_load_shows_a_run_added_since_without_reconnecting(tmp_path: Path) -> None:
    """A page load (``refresh``) lists the files again only when a run was added: the
    same DuckDB connection, now with the new run as the latest."""
    from basket_dashboard.app import layout

    first, second = sample_results.SAMPLE_RUNS
    sample_results.write_sample(tmp_path, (first,))
    src = LocalSource(tmp_path)
    assert [r["run_id"] for r in model.runs(src)] == [first.run_id]
    con = src._connection()
    layout(src)  # nothing new: the views stay as they are
    assert src._connection() is con
    sample_results.write_run(tmp_path, second)
    page = str(layout(src))
    assert src._connection() is con
    assert [r["run_id"] for r in model.runs(src)] == [second.run_id, first.run_id]
    assert second.run_id in page
