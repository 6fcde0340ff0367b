"""`basket demo` (the README's first command) end to end, in-process on the shared
local Spark session: generate -> mine -> publish to a local moto endpoint -> Glue
partitions -> analyst SQL on DuckDB -> dashboard snapshot."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from basket.cli import main
from tests.paths import REPO_ROOT


def test_demo_runs_every_stage(spark, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BASKET_PATHS__OUTPUT_DIR", str(tmp_path / "output"))
    monkeypatch.setenv("BASKET_PATHS__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BASKET_PATHS__CACHE_DIR", str(REPO_ROOT / ".cache"))
    result = CliRunner().invoke(
        main, ["demo", "--mode", "batch", "-n", "2000", "--items", "200", "--min-support", "0.01"]
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert "Top 10 rules by lift" in out
    assert "basket query top_rules_by_lift" in out and "basket query quarantine_summary" in out
    latest = json.loads((tmp_path / "output" / "_latest.json").read_text())
    exports = next(
        (tmp_path / "output" / "exports").glob(f"dt=*/run_id={latest['run_id']}/**/run.json")
    ).parent
    report = json.loads((exports / "run.json").read_text())
    c = report["counts"]
    assert c["input_rows"] == c["accepted_rows"] + c["rejected_rows"] and c["rejected_rows"] > 0
    assert c["rules"] > 0
    html = (exports / "dashboard.html").read_text()
    assert "<html" in html.lower() and "plotly" in html.lower()
