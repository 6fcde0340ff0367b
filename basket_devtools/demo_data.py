"""The streaming demo's inputs: one generated POS file split by transaction into the part
replayed as Kafka events and the part dropped as CSV files."""

from __future__ import annotations

import zlib
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Split:
    events_csv: Path
    events_rows: int
    drop_files: tuple[Path, ...]
    drop_rows: int


def split_by_transaction(
    source: Path, events_csv: Path, drop_dir: Path, *, drop_share: float = 0.2, files: int = 2
) -> Split:
    """Every record of ``source`` (a header line, then one record per line, as the generator
    writes it) goes to ``events_csv`` or to one of ``files`` CSVs under ``drop_dir``, by a
    hash of its first field (the transaction id), so a transaction stays whole; every output
    keeps the header. Bytes are copied as they are (dirty rows stay dirty)."""
    if not 0.0 <= drop_share <= 1.0:
        raise ValueError(f"drop_share must be in [0, 1], got {drop_share}")
    drop_dir.mkdir(parents=True, exist_ok=True)
    events_csv.parent.mkdir(parents=True, exist_ok=True)
    drops = tuple(drop_dir / f"pos-drop-{i + 1}.csv" for i in range(files))
    counts = [0] * (files + 1)
    with ExitStack() as stack:
        src = stack.enter_context(open(source, "rb"))
        outs = [stack.enter_context(open(p, "wb")) for p in (events_csv, *drops)]
        header = src.readline()
        for out in outs:
            out.write(header)
        for line in src:
            if not line.strip():
                continue
            key = line.split(b",", 1)[0]
            dropped = zlib.crc32(key) % 1000 < drop_share * 1000
            target = 1 + zlib.crc32(key[::-1]) % files if dropped else 0
            outs[target].write(line)
            counts[target] += 1
    return Split(events_csv, counts[0], drops, sum(counts[1:]))
