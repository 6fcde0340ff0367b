"""The Kafka batch count comes from the checkpoint's offset log, in Spark's own format, and
the sink refuses a batch whose classified rows differ from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.lookup import BatchStats
from ingest.offsets import batch_offsets, batch_records, records_between
from ingest.sink import DeltaSink
from spark.reads import ReconcileError

# the layout Spark 4 writes (offset log entry: version, batch metadata, one line per source;
# the Kafka source's initial offsets: a NUL byte, the version, the offsets)
METADATA = '{"batchWatermarkMs":0,"batchTimestampMs":1796505428999,"conf":{}}'


def checkpoint(root: Path, initial: str, *batches: str) -> str:
    (root / "sources" / "0").mkdir(parents=True)
    (root / "sources" / "0" / "0").write_text("\0v1\n" + initial)
    (root / "offsets").mkdir()
    for n, end in enumerate(batches):
        (root / "offsets" / str(n)).write_text(f"v1\n{METADATA}\n{end}")
    return str(root)


def test_batches_count_their_offset_ranges(tmp_path: Path) -> None:
    cp = checkpoint(
        tmp_path,
        '{"pos":{"0":5,"1":0}}',
        '{"pos":{"0":61,"1":41}}',
        '{"pos":{"0":61,"1":50,"2":7}}',
    )
    assert batch_offsets(cp, 0) == ({"pos": {"0": 5, "1": 0}}, {"pos": {"0": 61, "1": 41}})
    assert batch_records(cp, 0) == 56 + 41
    assert batch_records(cp, 1) == 9 + 7  # a new partition counts from 0
    assert records_between({}, {"t": {"0": 3}}) == 3


def test_a_missing_or_foreign_log_entry_is_an_error(tmp_path: Path) -> None:
    cp = checkpoint(tmp_path, '{"pos":{"0":0}}', '{"pos":{"0":3}}')
    with pytest.raises(FileNotFoundError):
        batch_records(cp, 1)
    (tmp_path / "offsets" / "0").write_text("garbage")
    with pytest.raises(ValueError, match="not a Spark offset log entry"):
        batch_records(cp, 0)


def test_sink_refuses_a_batch_that_lost_a_record() -> None:
    sink = DeltaSink.__new__(DeltaSink)
    sink.checkpoint = "unused"
    sink.expected = lambda _cp, _batch: 10
    sink._reconcile(3, BatchStats(dates=[], accepted=7, rejected=3))
    with pytest.raises(ReconcileError, match="10 records in its source, 9 classified"):
        sink._reconcile(3, BatchStats(dates=[], accepted=7, rejected=2))
