"""Local attempts: a re-mine is invisible until it is switched to, then whole; one "latest".

The files are written as the miner lays them out (``crash_child.write_generation``) and
committed with the miner's own :func:`spark.writes.commit_attempt`; readers are the
DuckDB backend (as ``basket query --backend local`` and the dashboard read) and the
publisher's :func:`find_run`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from athena import local
from basket_core.layout import LATEST, RunLayout, attempt_of, latest_order, read_pointer
from basket_publish.publisher import check_complete, find_run
from spark.writes import begin_attempt, commit_attempt
from tests.basket_publish import crash_child

DT = date(2026, 1, 2)
RUN = "daily-2026-01-02"


def _rows(root: Path, run_id: str = RUN) -> dict[str, dict[str, int]]:
    """Per dataset, rows of the run by the generation marker, as DuckDB reads them."""
    con = local.connect(root)
    out = {}
    for name, column in crash_child.MARKERS.items():
        got = con.execute(
            f'SELECT "{column}", count(*) FROM {name} WHERE run_id = ? GROUP BY 1', [run_id]
        ).fetchall()
        out[name] = {str(m): int(n) for m, n in got}
    return out


def _all(gen: int) -> dict[str, dict[str, int]]:
    return {name: {f"g{gen}": n} for name, n in crash_child.expected(gen).items()}


def _mine(root: Path, gen: int, *, dt: date = DT, run_id: str = RUN, retain: int = 1) -> RunLayout:
    layout = begin_attempt(root, dt, run_id)
    commit_attempt(layout, crash_child.write_generation(layout, gen), retain=retain)
    return layout


def test_a_remine_is_invisible_until_switched_then_replaces_every_dataset(tmp_path: Path) -> None:
    root = tmp_path / "out"
    first = _mine(root, 1)
    assert _rows(root) == _all(1)

    # a re-mine that wrote everything but crashed before its switch
    crashed = begin_attempt(root, DT, RUN)
    crash_child.write_generation(crashed, 2)
    assert _rows(root) == _all(1)  # readers: only the current attempt
    run = find_run(root, RUN)
    assert run.attempt == first.attempt
    check_complete(run)  # the old run.json still describes exactly what is read
    assert (
        json.loads((Path(first.exports) / "run.json").read_text())["counts"]["itemsets"]
        == (crash_child.expected(1)["itemsets"])
    )

    third = _mine(root, 3)
    assert _rows(root) == _all(3)
    pointer = read_pointer(third.at(""))
    assert pointer is not None and pointer.attempt == third.attempt
    assert pointer.previous[0] == first.attempt  # the crashed attempt was never current
    kept = {p.name for p in Path(third.run_dir("rules")).iterdir()}
    assert kept == {f"attempt={third.attempt}", f"attempt={first.attempt}"}  # retain 1

    fourth = _mine(root, 4, retain=0)
    assert {p.name for p in Path(fourth.run_dir("rules")).iterdir()} == {
        f"attempt={fourth.attempt}"
    }
    assert _rows(root) == _all(4)


def test_latest_is_the_newest_day_then_the_newest_finish(tmp_path: Path) -> None:
    root = tmp_path / "out"

    def latest() -> str:
        return str(json.loads((root / LATEST).read_text())["run_id"])

    _mine(root, 1)  # dt 2026-01-02, finished 2026-01-03T00:01
    assert latest() == RUN
    _mine(root, 5, dt=date(2025, 12, 1), run_id="backfill-2025-12-01")  # finished later
    assert latest() == RUN  # a backfill of an old day never takes over
    assert find_run(root, "latest").run_id == RUN
    _mine(root, 2, dt=date(2026, 1, 3), run_id="daily-2026-01-03")
    assert latest() == "daily-2026-01-03"
    _mine(root, 3)  # the older day re-mined: still not the latest
    assert latest() == "daily-2026-01-03"
    assert latest_order(date(2026, 1, 3), "2026-01-04T00:00") > latest_order(
        date(2026, 1, 2), "2026-02-01T00:00"
    )


def test_runs_from_before_attempts_still_read_and_publish(tmp_path: Path) -> None:
    from basket_devtools import sample_results

    root = tmp_path / "out"
    sample_results.write_sample(root)
    con = local.connect(root)
    runs = con.execute("SELECT run_id FROM latest_runs").fetchall()
    assert runs == [(sample_results.RUN_B,)]
    run = find_run(root, "latest")
    assert run.attempt == "" and attempt_of("part-00000.parquet") == ""
    check_complete(run)


def test_a_long_lived_local_connection_follows_the_switches(tmp_path: Path) -> None:
    """The dashboard keeps one DuckDB connection: after more mines of the run (its first
    attempt retired) its queries read the newest attempt instead of failing on deleted
    files."""
    from athena import pack

    root = tmp_path / "out"
    _mine(root, 1)
    con = local.connect(root)
    query = pack.load("run_summary")
    for gen in (1, 2, 3, 4):
        if gen > 1:
            _mine(root, gen)
        columns, rows = local.run(con, query, query.bind({"run_id": RUN}))
        assert len(rows) == 1 and rows[0][columns.index("run_id")] == RUN
        segments = con.execute("SELECT DISTINCT segment FROM itemsets").fetchall()
        assert segments == [(f"g{gen}",)], gen
    assert not local.refresh_if_switched(con)  # nothing changed since: no re-listing
