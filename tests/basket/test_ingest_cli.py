"""`basket ingest files --once` says what it did (a line per batch, a closing summary that
reconciles with the tables) and keeps the report beside the tables; `basket ingest status`
shows the tables and the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from basket.cli import main
from tests.fixtures.kafka import HEADER, sample_rows
from tests.paths import REPO_ROOT


def test_ingest_files_reports_and_status(spark, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BASKET_PATHS__DELTA_DIR", str(tmp_path / "delta"))
    monkeypatch.setenv("BASKET_PATHS__CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("BASKET_PATHS__CACHE_DIR", str(REPO_ROOT / ".cache"))
    monkeypatch.setenv("BASKET_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9")  # nothing listens
    drop = tmp_path / "drop"
    drop.mkdir()
    rows = sample_rows(20)
    (drop / "a.csv").write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    (drop / "b.csv").write_text("\n".join(rows[:4]) + "\n")  # no header: refused whole

    result = CliRunner().invoke(main, ["ingest", "files", "--input", str(drop), "--once"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert re.search(r"batch 0: [\d,]+ records -> [\d,]+ lines, [\d,]+ quarantined", result.output)
    summary = re.search(
        r"1 batches, ([\d,]+) records in = ([\d,]+) lines \+ ([\d,]+) quarantined .*"
        r"\+ ([\d,]+) repeats dropped",
        result.output,
    )
    assert summary, result.output
    records, lines, quarantined, repeats = (int(g.replace(",", "")) for g in summary.groups())
    assert records == len(rows) + 1 == lines + quarantined + repeats

    reports = list((tmp_path / "delta" / "_reports").glob("ingest-files-*.json"))
    assert len(reports) == 1
    stored = json.loads(reports[0].read_text())
    assert (stored["records"], stored["lines"], stored["quarantined"]) == (
        records,
        lines,
        quarantined,
    )
    assert stored["quarantined_by_reason"]["missing_header"] == 1

    status = CliRunner().invoke(main, ["ingest", "status", "--json"])
    assert status.exit_code == 0, status.output + repr(status.exception)
    found = json.loads(status.output[status.output.index("{") :])
    tables = {t["name"]: t for t in found["tables"]}
    assert tables["lines"]["rows"] == lines
    assert tables["quarantine"]["rows"] == quarantined
    assert tables["lines"]["partitions"] >= 1 and tables["lines"]["files"] >= 1
    assert [r["records"] for r in found["reports"]] == [records]
    assert found["lag"] == {}  # the broker is down: the lag is unknown, not a failure
