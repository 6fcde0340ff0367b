"""The ingest report: batches fold into totals that reconcile, a replayed batch id is not
counted twice, and the report on disk is replaced whole."""

from __future__ import annotations

from pathlib import Path

from ingest.offsets import committed_offsets, lag
from ingest.report import BatchReport, IngestReport, Recorder, load


def batch(n: int, records: int = 10, lines: int = 7, quarantined: int = 2) -> BatchReport:
    return BatchReport(
        batch_id=n,
        records=records,
        lines=lines,
        quarantined=quarantined,
        quarantined_by_reason={"bad_event": quarantined},
        repeats_dropped=records - lines - quarantined,
        seconds=2.0,
        finished_at=f"2026-12-05T10:00:0{n}+00:00",
    )


def test_batches_fold_and_a_replay_counts_once(tmp_path: Path) -> None:
    path = tmp_path / "_reports" / "ingest-kafka-pos.json"
    seen: list[int] = []
    recorder = Recorder(path, "kafka-pos", "lines", forward=lambda b: seen.append(b.batch_id))
    for b in (batch(0), batch(1), batch(1), batch(2, records=5, lines=5, quarantined=0)):
        recorder(b)
    assert seen == [0, 1, 1, 2]
    for report in (recorder.run, load(path, "kafka-pos", "lines")):
        assert (report.batches, report.records, report.lines) == (3, 25, 19)
        assert report.quarantined_by_reason == {"bad_event": 4}
        assert report.reconciles
        assert [b["batch_id"] for b in report.recent] == [0, 1, 2]
    assert "3 batches, 25 records in = 19 lines + 4 quarantined" in recorder.run.summary()
    assert "batch 1: 10 records -> 7 lines, 2 quarantined (bad_event 2)" in batch(1).line()
    # a later run of the same query adds to what is on disk, not to what it saw itself
    again = Recorder(path, "kafka-pos", "lines")
    again(batch(3))
    assert again.run.records == 10
    assert load(path, "kafka-pos", "lines").records == 35
    assert not list(path.parent.glob(".*.tmp"))


def test_report_that_does_not_reconcile_says_so() -> None:
    report = IngestReport(source="s", table="t")
    report.add(BatchReport(0, 10, 5, 2, {}, 2, 1.0, "now"))
    assert not report.reconciles


def test_lag_is_end_minus_committed_per_partition(tmp_path: Path) -> None:
    (tmp_path / "offsets").mkdir()
    (tmp_path / "commits").mkdir()
    assert committed_offsets(str(tmp_path)) is None
    for n, end in enumerate(('{"pos":{"0":10,"1":4}}', '{"pos":{"0":20,"1":9}}')):
        (tmp_path / "offsets" / str(n)).write_text(f"v1\n{{}}\n{end}")
    (tmp_path / "commits" / "0").write_text("v1\n{}")  # batch 1 planned, not committed
    done = committed_offsets(str(tmp_path))
    assert done == {"pos": {"0": 10, "1": 4}}
    assert lag(done, "pos", {"0": 25, "1": 4, "2": 3}) == {"pos/0": 15, "pos/1": 0, "pos/2": 3}
