"""The typed run report: it round-trips through its dict and through ``run.json``, and its
dict is exactly the ``run.json`` a real mine writes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from spark.job import MineRequest, run_mine
from spark.report import Counts, RunInput, RunReport
from tests import reference as ref


def _report() -> RunReport:
    return RunReport(
        run_id="r1",
        dt=date(2026, 11, 3),
        status="succeeded",
        engine="pfp",
        engine_details={"requested": "auto", "groups": 1},
        started_at=datetime(2026, 11, 3, 8, 0, 0, tzinfo=UTC),
        finished_at=datetime(2026, 11, 3, 8, 0, 12, 345678, tzinfo=UTC),
        input=RunInput(paths=["data/a.csv"], table=None, format="long"),
        params={"mining": {"min_support": 0.05, "min_confidence": 0.2}},
        counts=Counts(
            input_rows=10,
            accepted_rows=8,
            rejected_rows=2,
            rejected_by_reason={"duplicate": 2},
            baskets=4,
            distinct_items=5,
            segments=1,
            itemsets=7,
            rules=3,
        ),
        timings={"load_s": 1.5, "total_s": 12.3},
        versions={"basket": "0", "python": "3"},
        outputs={"itemsets": "out/itemsets/dt=2026-11-03/run_id=r1", "exports": "out/exports/x"},
    )


def test_report_round_trips_through_dict_and_run_json(tmp_path: Path) -> None:
    report = _report()
    assert RunReport.from_dict(report.to_dict()) == report
    path = tmp_path / "exports" / "run.json"
    report.write(path)
    assert path.read_text().endswith("}\n")
    assert json.loads(path.read_text()) == report.to_dict()
    assert RunReport.read(path) == report
    assert report.exports == Path("out/exports/x")
    assert report.summary() == {
        "run_id": "r1",
        "dt": "2026-11-03",
        "finished_at": "2026-11-03T08:00:12.345678+00:00",
        "outputs": report.outputs,
        "counts": {"input_rows": 10, "baskets": 4, "itemsets": 7, "rules": 3},
    }


def test_report_is_the_run_json_of_a_real_mine(spark, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    baskets = ref.random_baskets(60, 8, seed=3, mean_size=3.0)
    src = ref.write_basket_file(tmp_path / "baskets.txt", baskets)
    s = settings.with_overrides(**{"input.format": "basket", "mining.min_support": 0.1})
    report = run_mine(s, MineRequest(inputs=(str(src),), run_id="rr"), spark=spark)
    on_disk = ref.read_report(s.paths.output_dir)
    assert report.to_dict() == on_disk
    assert list(report.to_dict()) == list(on_disk)
    assert RunReport.read(report.exports / "run.json") == report
    latest = json.loads((s.paths.output_dir / "_latest.json").read_text())
    assert latest == {k: report.summary()[k] for k in ("run_id", "dt", "finished_at")}
