"""The synthetic data generator: determinism, dirt that reconciles with the manifest,
recoverable planted rules, skewed popularity, basket format, gzip, CLI and samples.

Rows are re-classified here by an independent reading of the cleaning rules
(basket_core.reasons order), with the csv module, so the manifest is checked against
what is actually in the file."""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from basket_core.reasons import Reason
from basket_devtools.generate import (
    COLUMNS,
    DIRT_REASON,
    Dirt,
    GenerateResult,
    GeneratorConfig,
    basket_item_names,
    generate,
    read_json,
    sidecar_paths,
)
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
SAMPLES = ROOT / "data" / "samples"
SMALL = GeneratorConfig(transactions=2_000, dirty_share=0.05, seed=7)
BAD_CHARS = re.compile("[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TS_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M")

Row = list[str]
Baskets = dict[str, set[str]]


# ------------------------------------------------------------ reference classifier


def number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def timestamp(text: str) -> datetime | None:
    text = text.strip()
    for fmt in TS_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time())
    except ValueError:
        return None


def classify(row: Row, seen: set[tuple[object, ...]]) -> Reason | None:
    """The first cleaning rule the row fails (None = accepted); ``seen`` holds accepted keys."""
    if len(row) != len(COLUMNS):
        return Reason.MALFORMED_ROW
    tx, _code, item, qty_s, ts_s, price_s, cust, _country, store = row
    if not tx.strip():
        return Reason.BLANK_TRANSACTION_ID
    if not item.strip():
        return Reason.BLANK_ITEM
    if BAD_CHARS.search(tx) or BAD_CHARS.search(item):
        return Reason.BAD_ENCODING
    if tx.strip().startswith("C"):
        return Reason.CANCELLATION
    qty, price, ts = number(qty_s), number(price_s), timestamp(ts_s)
    for value, bad, non_positive in (
        (qty, Reason.BAD_QUANTITY, Reason.NON_POSITIVE_QUANTITY),
        (price, Reason.BAD_PRICE, Reason.NON_POSITIVE_PRICE),
    ):
        if value is None:
            return bad
        if value <= 0:
            return non_positive
    if ts is None:
        return Reason.BAD_TIMESTAMP
    key = (tx.strip(), item.strip(), qty, price, ts, cust.strip(), store.strip())
    if key in seen:
        return Reason.DUPLICATE
    seen.add(key)
    return None


def read_rows(path: Path) -> Iterator[Row]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == list(COLUMNS)
        yield from reader


def audit(path: Path) -> tuple[Counter[str], Baskets, Counter[str]]:
    """(rejections per reason, clean baskets by invoice, clean lines per item)."""
    seen: set[tuple[object, ...]] = set()
    reasons: Counter[str] = Counter()
    baskets: Baskets = {}
    lines: Counter[str] = Counter()
    for row in read_rows(path):
        reason = classify(row, seen)
        if reason is None:
            baskets.setdefault(row[0].strip(), set()).add(row[2].strip())
            lines[row[2].strip()] += 1
        else:
            reasons[reason.value] += 1
    return reasons, baskets, lines


def read_baskets(path: Path, sep: str) -> list[set[str]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [set(line.split(sep)) for line in text.splitlines()]


# ------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate(SMALL, tmp_path_factory.mktemp("gen") / "retail.csv")


@pytest.fixture(scope="module")
def small_audit(small: GenerateResult) -> tuple[Counter[str], Baskets, Counter[str]]:
    return audit(small.path)


# ------------------------------------------------------------ tests


def test_same_seed_same_bytes_other_seed_other_bytes(small: GenerateResult, tmp_path: Path) -> None:
    again = generate(SMALL, tmp_path / "again.csv")
    other = generate(replace(SMALL, seed=8), tmp_path / "other.csv")
    assert again.path.read_bytes() == small.path.read_bytes()
    assert again.rules_path.read_text() == small.rules_path.read_text()
    strip = {"file"}
    assert {k: v for k, v in again.manifest.items() if k not in strip} == {
        k: v for k, v in small.manifest.items() if k not in strip
    }
    assert other.path.read_bytes() != small.path.read_bytes()


def test_manifest_counts_match_file(
    small: GenerateResult, small_audit: tuple[Counter[str], Baskets, Counter[str]]
) -> None:
    reasons, baskets, lines = small_audit
    m = read_json(small.manifest_path)
    assert set(m["dirty"]) == {d.value for d in Dirt}
    assert all(n > 0 for n in m["dirty"].values()), m["dirty"]  # every kind exercised
    assert dict(reasons) == {k: v for k, v in m["expected_reasons"].items() if v}
    for kind, n in m["dirty"].items():
        assert reasons[DIRT_REASON[Dirt(kind)].value] == n
    assert sum(reasons.values()) == m["dirty_rows"]
    assert sum(lines.values()) == m["clean_rows"] == small.clean_rows
    assert m["rows"] == m["clean_rows"] + m["dirty_rows"]
    assert len(baskets) == m["transactions"] == SMALL.transactions
    assert 0.04 < m["dirty_rows"] / m["rows"] < 0.06
    assert sum(m["variants"]["bad_encoding"].values()) == m["dirty"]["bad_encoding"]
    assert sum(m["variants"]["malformed"].values()) == m["dirty"]["malformed"]


def test_file_layout_matches_manifest(small: GenerateResult) -> None:
    raw = small.path.read_bytes()
    m = small.manifest
    assert raw.count(b"\n") == m["rows"] + 1  # header; no newline inside any field
    latin1 = m["variants"]["bad_encoding"].get("latin1_bytes", 0)
    assert latin1 > 0 and not m["valid_utf8"]
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("utf-8", errors="replace")
    assert "CRÈME BRÛLÉE SET" in text
    assert '"SET OF 3 CAKE TINS, PANTRY DESIGN"' in text  # quoted because of the comma
    assert '"DOORMAT ""HOME SWEET HOME"" ROUND"' in text  # quotes doubled
    assert sidecar_paths(small.path) == (small.manifest_path, small.rules_path)


def test_planted_rules_recoverable_at_target_confidence(
    small: GenerateResult, small_audit: tuple[Counter[str], Baskets, Counter[str]]
) -> None:
    _, baskets, _ = small_audit
    planted = read_json(small.rules_path)
    assert len(planted["rules"]) == SMALL.rules
    n = len(baskets)
    for rule in planted["rules"]:
        ante, cons = set(rule["antecedent"]), set(rule["consequent"])
        holders = [b for b in baskets.values() if ante <= b]
        both = sum(1 for b in holders if cons <= b)
        assert len(holders) == rule["antecedent_count"]
        assert both == rule["count"]
        assert sum(1 for b in baskets.values() if cons <= b) == rule["consequent_count"]
        confidence = both / len(holders)
        assert abs(confidence - rule["target_confidence"]) <= 0.5 / len(holders) + 1e-9
        assert abs(len(holders) / n - rule["target_antecedent_support"]) < 0.02
        assert both / n >= 0.01  # found at the default min support
        assert rule["lift"] > 5


def test_popularity_is_skewed_and_baskets_realistic(
    small: GenerateResult, small_audit: tuple[Counter[str], Baskets, Counter[str]]
) -> None:
    _, baskets, lines = small_audit
    counts = sorted(lines.values(), reverse=True)
    top = counts[: SMALL.items // 10]
    assert sum(top) / sum(counts) > 0.45
    assert counts[0] / len(baskets) < 0.3  # no item in nearly every basket
    mean = sum(len(b) for b in baskets.values()) / len(baskets)
    assert 4.0 <= mean <= 8.0
    assert max(len(b) for b in baskets.values()) >= 15  # a long tail


def test_other_columns_plausible(small: GenerateResult) -> None:
    seen: set[tuple[object, ...]] = set()
    clean = [r for r in read_rows(small.path) if classify(r, seen) is None]
    assert len({r[7] for r in clean}) >= 3  # countries
    assert len({r[8] for r in clean}) == SMALL.stores
    missing = sum(1 for r in clean if not r[6]) / len(clean)
    assert 0.1 < missing < 0.3
    days = {r[4][:10] for r in clean}
    assert len(days) == SMALL.days
    codes: dict[str, str] = {}
    for r in clean:
        assert codes.setdefault(r[2], r[1]) == r[1]  # one code per name
    assert len(set(codes.values())) == len(codes)


def test_basket_format_round_trips(small: GenerateResult, tmp_path: Path) -> None:
    """Same seed: the basket file holds exactly the long file's clean baskets."""
    _, long_baskets, _ = audit(small.path)
    for sep in (",", "|"):
        result = generate(SMALL, tmp_path / f"b{len(sep)}.txt", fmt="basket", sep=sep)
        assert result.dirty_rows == 0 and result.rows == SMALL.transactions
        parsed = read_baskets(result.path, sep)
        names = sorted({i for b in long_baskets.values() for i in b})
        mapped = dict(zip(names, basket_item_names(names, sep), strict=True))
        expected = [{mapped[i] for i in b} for _, b in sorted(long_baskets.items())]
        assert parsed == expected
        planted = read_json(result.rules_path)["rules"]
        assert all(set(r["antecedent"]) <= set(mapped.values()) for r in planted)
    assert any("," in name for name in mapped.values())  # '|' keeps commas in names


def test_gzip_output_equals_plain(tmp_path: Path) -> None:
    config = replace(SMALL, transactions=400)
    plain = generate(config, tmp_path / "x.csv")
    packed = generate(config, tmp_path / "y.csv.gz")
    assert gzip.decompress(packed.path.read_bytes()) == plain.path.read_bytes()
    assert packed.manifest_path.name == "y.manifest.json"


def test_chunking_keeps_totals_exact(tmp_path: Path) -> None:
    config = replace(SMALL, transactions=1_000, chunk_transactions=300)
    result = generate(config, tmp_path / "c.csv")
    reasons, baskets, lines = audit(result.path)
    assert len(baskets) == 1_000
    assert dict(reasons) == {k: v for k, v in result.manifest["expected_reasons"].items() if v}
    assert sum(lines.values()) == result.clean_rows


@pytest.mark.parametrize(
    "changes",
    [
        {"transactions": 0},
        {"dirty_share": 1.0},
        {"items": 5},
        {"mean_basket": 0.5},
        {"rules": -1},
    ],
)
def test_invalid_config_is_rejected(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(changes))):
        replace(SMALL, **changes)  # type: ignore[arg-type]


def test_too_few_items_for_rules(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too few"):
        generate(replace(SMALL, items=12, mean_basket=2.0), tmp_path / "x.csv")


def test_cli_writes_file_and_reports(tmp_path: Path) -> None:
    from basket.cli import main

    out = tmp_path / "cli.csv"
    res = CliRunner().invoke(main, ["generate", "-o", str(out), "-n", "300", "--seed", "3"])
    assert res.exit_code == 0, res.output
    m = read_json(sidecar_paths(out)[0])
    assert f"wrote {m['rows']:,} rows (300 transactions, {m['dirty_rows']:,} dirty rows)" in (
        res.output
    )


def test_cli_default_output_under_data_dir(tmp_path: Path) -> None:
    from basket.cli import main

    env = {"BASKET_PATHS__DATA_DIR": str(tmp_path / "d")}
    args = ["generate", "-n", "50", "--format", "basket", "--sep", ";"]
    res = CliRunner().invoke(main, args, env=env)
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "d" / "generated" / "baskets.txt").read_text().splitlines()) == 50


def test_cli_bad_value_is_a_usage_error(tmp_path: Path) -> None:
    from basket.cli import main

    res = CliRunner().invoke(main, ["generate", "-o", str(tmp_path / "x.csv"), "-n", "0"])
    assert res.exit_code == 2
    assert "transactions must be >= 1" in res.output


@pytest.mark.parametrize("name", ["retail_small.csv", "baskets_small.txt"])
def test_checked_in_samples_are_reproducible(name: str, tmp_path: Path) -> None:
    sample = SAMPLES / name
    manifest = read_json(sidecar_paths(sample)[0])
    cfg = dict(manifest["config"])
    cfg["start_date"] = date.fromisoformat(cfg["start_date"])
    result = generate(
        GeneratorConfig(**cfg),
        tmp_path / name,
        fmt=manifest["format"],
        sep=manifest["basket_sep"] or ",",
    )
    assert result.path.read_bytes() == sample.read_bytes()
    assert json.loads(sidecar_paths(sample)[1].read_text()) == read_json(result.rules_path)


def test_samples_are_small() -> None:
    files = [p for p in SAMPLES.iterdir() if p.name.startswith(("retail_small", "baskets_small"))]
    assert sum(p.stat().st_size for p in files) < 1_000_000
