"""Sub-step timers shared by the driver miner and the ingest sink."""

from __future__ import annotations

import time

from basket_core.progress import Laps


def test_laps_add_up_per_name_and_start_named_at_zero() -> None:
    laps = Laps(("fetch_s", "never_s"))
    time.sleep(0.02)
    laps.lap("fetch_s")
    time.sleep(0.01)
    laps.lap("mine_s")
    time.sleep(0.02)
    laps.lap("fetch_s")
    got = laps.rounded(3, prefix="driver_")
    assert list(got) == ["driver_fetch_s", "driver_never_s", "driver_mine_s"]
    assert got["driver_fetch_s"] >= 0.04 and got["driver_never_s"] == 0.0
    assert 0.01 <= got["driver_mine_s"] < got["driver_fetch_s"]
