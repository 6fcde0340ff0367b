"""The miner on the generator's checked-in sample: every planted dirty row lands in
quarantine under the expected reason, and every planted rule is found with its
exact counts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from spark.job import MineRequest, run_mine


def test_sample_reconciles_and_recovers_planted_rules(spark, settings, samples: Path) -> None:
    manifest = json.loads((samples / "retail_small.manifest.json").read_text())
    planted = json.loads((samples / "retail_small.planted_rules.json").read_text())
    s = settings.with_overrides(**{"mining.min_support": 0.02, "mining.min_confidence": 0.3})
    report = run_mine(
        s, MineRequest(inputs=(str(samples / "retail_small.csv"),), run_id="sample"), spark=spark
    )
    c = report.counts
    assert c.input_rows == manifest["rows"]
    assert c.accepted_rows == manifest["clean_rows"]
    assert c.rejected_by_reason == {k: v for k, v in manifest["expected_reasons"].items() if v}
    assert c.baskets == manifest["transactions"]

    rules = pd.read_parquet(s.paths.output_dir / "rules")
    found = {
        (tuple(a), tuple(cq)): r
        for a, cq, r in zip(
            rules["antecedent"], rules["consequent"], rules.to_dict("records"), strict=True
        )
    }
    for rule in planted["rules"]:
        if rule["support"] < 0.02 or rule["confidence"] < 0.3:
            continue
        got = found[(tuple(sorted(rule["antecedent"])), tuple(rule["consequent"]))]
        assert got["count"] == rule["count"]
        assert got["antecedent_count"] == rule["antecedent_count"]
        assert got["confidence"] == pytest.approx(rule["confidence"], abs=1e-12)
        assert got["lift"] == pytest.approx(rule["lift"], rel=1e-9)
