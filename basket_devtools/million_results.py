"""A mined run of about a million rules, in the miner's layout, built in seconds.

What ``basket mine`` gives for 100,000 generated baskets over 300 items at a low
threshold, without Spark: the baskets come from :mod:`basket_devtools.generate` (the
same catalog, planted rules and basket sizes), the frequent itemsets from pyfim's
FP-Growth at the same absolute threshold the miner uses, and the single-consequent rules
``A -> c`` with every measure of the rules schema from their counts, in DuckDB. Rules and
itemsets are written sorted and in row groups as :mod:`basket_core.file_layout` says (as
the Spark writer writes them), one run folder with an attempt and its pointer, the
``runs`` row, ``run.json`` and ``_latest.json``.

The benchmark of the query pack (``make bench-queries``) and the dashboard's million-rule
browser test read it; :func:`ensure` builds it once per configuration under a cache
folder and reuses it after.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket_core import rule_key
from basket_core.file_layout import FILE_LAYOUTS
from basket_core.layout import RunLayout, switch_local
from basket_core.schemas import (
    ITEM_EDGES,
    ITEMSETS,
    QUARANTINE,
    RULE_CHANGES,
    RULES,
    RUNS,
    Dataset,
    arrow_type,
)

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow as pa

DONE = "_complete.json"


@dataclass(frozen=True)
class MillionConfig:
    baskets: int = 100_000
    items: int = 300
    mean_basket: float = 8.0
    min_support: float = 0.0008
    min_confidence: float = 0.05
    seed: int = 0
    """The catalog's and planted rules' seed (the same shop from one run to the next)."""
    draw_seed: int = 0
    """The baskets' seed (another day's baskets of the same shop)."""
    segment: str = "all"
    dt: str = "2026-03-01"
    run_id: str = "bench-million"

    def key(self) -> str:
        """Names the built results: the configuration and the datasets' columns (a column
        added to a schema builds them again)."""
        columns = {d.name: d.names for d in (RULES, RULE_CHANGES, ITEM_EDGES)}
        text = json.dumps({**asdict(self), "columns": columns}, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    @property
    def min_count(self) -> int:
        return max(1, math.ceil(self.min_support * self.baskets))


def transactions(config: MillionConfig) -> tuple[list[list[int]], list[str]]:
    """The generated baskets as sorted item indices, and the item names by index."""
    import numpy as np

    from basket_devtools.generate import (
        GeneratorConfig,
        RuleCounts,
        build_catalog,
        draw_baskets,
        plant_rules,
    )

    gen = GeneratorConfig(
        transactions=config.baskets,
        items=config.items,
        seed=config.seed,
        mean_basket=config.mean_basket,
    )
    catalog, planted = build_catalog(gen), plant_rules(gen)
    counts = [RuleCounts() for _ in planted]
    rng = np.random.default_rng([config.draw_seed, 1, 0])
    drawn = draw_baskets(gen.transactions, gen, catalog, planted, counts, rng)
    bounds = np.flatnonzero(np.diff(drawn.basket)) + 1
    baskets = [sorted(set(g.tolist())) for g in np.split(drawn.item, bounds)]
    return baskets, list(catalog.names)


def itemsets_table(config: MillionConfig) -> tuple[pa.Table, int]:
    """The frequent itemsets (ITEMSETS columns) and the number of baskets."""
    import fim
    import pyarrow as pa

    baskets, names = transactions(config)
    found = fim.fpgrowth(baskets, target="s", supp=-config.min_count, report="a")
    n = len(baskets)
    items = [sorted(names[i] for i in s) for s, _ in found]
    counts = [int(c) for _, c in found]
    table = pa.table(
        {
            "segment": pa.array([config.segment] * len(found), pa.string()),
            "items": pa.array(items, pa.list_(pa.string())),
            "size": pa.array([len(s) for s in items], pa.int32()),
            "count": pa.array(counts, pa.int64()),
            "support": pa.array([c / n for c in counts], pa.float64()),
        }
    )
    return table, n


RULES_SQL = """
WITH cand AS (
    SELECT segment, items, "count" AS n_ac, unnest(items) AS c
    FROM itemsets WHERE size >= 2
),
pairs AS (
    SELECT segment, list_filter(items, lambda x: x <> c) AS antecedent, [c] AS consequent, n_ac
    FROM cand
),
counted AS (
    SELECT p.segment, p.antecedent, p.consequent,
        CAST(len(p.antecedent) AS INTEGER) AS antecedent_size, 1 AS consequent_size,
        a."count" AS antecedent_count, k."count" AS consequent_count, p.n_ac AS "count",
        a."count" / $n AS s_a, k."count" / $n AS s_c, p.n_ac / $n AS s_ac
    FROM pairs AS p
    JOIN itemsets AS a ON a.segment = p.segment AND a.items = p.antecedent
    JOIN itemsets AS k ON k.segment = p.segment AND k.items = p.consequent
),
measured AS (
    SELECT *, s_ac / s_a AS conf FROM counted WHERE s_ac / s_a >= $min_confidence
)
SELECT segment, antecedent, consequent, antecedent_size, consequent_size, antecedent_count, consequent_count,
    "count",
    s_a AS antecedent_support,
    s_c AS consequent_support,
    s_ac AS support,
    conf AS confidence,
    conf / s_c AS lift,
    s_ac - s_a * s_c AS leverage,
    CASE WHEN conf < 1 THEN (1 - s_c) / (1 - conf) ELSE 'inf'::DOUBLE END AS conviction,
    CASE WHEN greatest(s_ac * (1 - s_a), s_a * (s_c - s_ac)) = 0 THEN 0
        ELSE (s_ac - s_a * s_c) / greatest(s_ac * (1 - s_a), s_a * (s_c - s_ac)) END
        AS zhangs_metric,
    s_ac / (s_a + s_c - s_ac) AS jaccard,
    (conf + s_ac / s_c) / 2 AS kulczynski,
    CASE WHEN s_c < 1 THEN (conf - s_c) / (1 - s_c) ELSE 0 END AS certainty,
    {rule_key} AS rule_key
FROM measured
""".replace("{rule_key}", rule_key.duckdb_sql())


CHANGES_SQL = """
WITH before AS (
    SELECT segment, antecedent, consequent, lift, confidence, "count", antecedent_count
    FROM read_parquet($before)
),
after AS (
    SELECT segment, antecedent, consequent, lift, confidence, "count", antecedent_count,
        fisher_p_adjusted
    FROM read_parquet($after)
),
joined AS (
    SELECT
        coalesce(a.segment, b.segment) AS segment,
        coalesce(a.antecedent, b.antecedent) AS antecedent,
        coalesce(a.consequent, b.consequent) AS consequent,
        b.lift AS lift_before, a.lift AS lift_after,
        b.confidence AS confidence_before, a.confidence AS confidence_after,
        b."count" AS count_before, a."count" AS count_after,
        b.antecedent_count AS total_before, a.antecedent_count AS total_after,
        a.fisher_p_adjusted
    FROM before AS b
    FULL OUTER JOIN after AS a
        ON a.segment = b.segment AND a.antecedent = b.antecedent AND a.consequent = b.consequent
),
classified AS (
    SELECT *,
        CASE
            WHEN lift_before IS NULL THEN 'new'
            WHEN lift_after IS NULL THEN 'gone'
            WHEN lift_after >= lift_before * $lift_ratio THEN 'strengthened'
            WHEN lift_after <= lift_before / $lift_ratio THEN 'weakened'
            WHEN confidence_after - confidence_before >= $confidence_delta THEN 'strengthened'
            WHEN confidence_after - confidence_before <= -$confidence_delta THEN 'weakened'
        END AS change,
        (count_before + count_after) / (total_before + total_after) AS pooled
    FROM joined
)
SELECT *,
    lift_after / lift_before AS lift_ratio,
    confidence_after - confidence_before AS confidence_delta,
    CASE WHEN pooled > 0 AND pooled < 1 THEN
        (count_after / total_after - count_before / total_before)
        / sqrt(pooled * (1 - pooled) * (1 / total_before + 1 / total_after))
    END AS z
FROM classified
WHERE change IS NOT NULL
"""


EDGES_SQL = """
WITH pairs AS (
    SELECT segment, unnest(antecedent) AS source, consequent, lift, confidence, support
    FROM rules
),
edges AS (
    SELECT segment, source, unnest(consequent) AS target, lift, confidence, support
    FROM pairs
)
SELECT segment, source, target, count(*) AS rules, max(lift) AS lift,
    max(confidence) AS confidence, max(support) AS support
FROM edges
GROUP BY segment, source, target
"""


def changes_table(
    con: duckdb.DuckDBPyConnection, before: Path, after: Path, previous: MillionConfig
) -> pa.Table:
    """The latest run's ``rule_changes`` against ``previous``, as :func:`spark.changes.
    rule_changes` computes them with the default thresholds (a full outer join on the
    rules, the same classification, the same two-proportion z-test)."""
    import pyarrow as pa

    from spark.changes import ChangeThresholds
    from spark.significance import normal_two_sided

    thresholds = ChangeThresholds()
    params = {
        "before": str(before),
        "after": str(after),
        "lift_ratio": thresholds.lift_ratio,
        "confidence_delta": thresholds.confidence_delta,
    }
    table = con.sql(CHANGES_SQL, params=params).to_arrow_table()
    z = table.column("z").to_pandas()
    both = table.column("lift_before").is_valid().to_pandas() & (
        table.column("lift_after").is_valid().to_pandas()
    )
    p = normal_two_sided(z.fillna(0.0)).where(z.notna(), 1.0).where(both)
    return (
        table.append_column("confidence_change_p", pa.array(p, pa.float64(), from_pandas=True))
        .append_column("previous_run_id", pa.array([previous.run_id] * table.num_rows))
        .append_column("previous_dt", pa.array([previous.dt] * table.num_rows))
    )


def rules_table(con: duckdb.DuckDBPyConnection, n: int, config: MillionConfig) -> pa.Table:
    params = {"n": float(n), "min_confidence": config.min_confidence}
    return con.sql(RULES_SQL, params=params).to_arrow_table()


def arrow_schema(dataset: Dataset) -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [pa.field(c.name, arrow_type(c.type), nullable=c.nullable) for c in dataset.columns]
    )


def write_parquet(folder: str, dataset: Dataset, table: pa.Table) -> Path:
    """One ``part-00000.parquet``, sorted and in row groups per the dataset's file layout."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for c in dataset.columns:  # a nullable column added to the schema later: null here
        if c.name not in table.column_names and c.nullable:
            table = table.append_column(c.name, pa.nulls(table.num_rows, arrow_type(c.type)))
    table = table.select(dataset.names).cast(arrow_schema(dataset))
    layout = FILE_LAYOUTS.get(dataset.name)
    row_group = layout.row_group_rows if layout else None
    if layout:
        order = [(k.column, "descending" if k.descending else "ascending") for k in layout.sort_by]
        table = table.sort_by(order)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "part-00000.parquet"
    pq.write_table(table, path, compression="snappy", row_group_size=row_group)
    (out / "_SUCCESS").write_bytes(b"")
    return path


def build(
    root: Path, config: MillionConfig = MillionConfig(), previous: MillionConfig | None = None
) -> dict[str, Any]:
    """Write the run under ``root`` (beside any other run there), with its rule changes
    against ``previous`` (built before, in ``root``); its ``run.json``."""
    import duckdb
    import pyarrow as pa

    started = time.time()
    itemsets, n = itemsets_table(config)
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    con.register("itemsets", itemsets)
    rules = rules_table(con, n, config)
    dt = date.fromisoformat(config.dt)
    layout = RunLayout(str(root), dt, config.run_id, "a-bench")
    write_parquet(layout.dataset("itemsets"), ITEMSETS, itemsets)
    rules_file = write_parquet(layout.dataset("rules"), RULES, rules)
    con.register("rules", rules)
    edges = con.sql(EDGES_SQL).to_arrow_table()
    write_parquet(layout.dataset("item_edges"), ITEM_EDGES, edges)
    if previous is not None:
        before = RunLayout(str(root), date.fromisoformat(previous.dt), previous.run_id, "a-bench")
        changes = changes_table(
            con, Path(before.dataset("rules")) / "part-00000.parquet", rules_file, previous
        )
    else:
        changes = arrow_schema(RULE_CHANGES).empty_table()
    write_parquet(layout.dataset("rule_changes"), RULE_CHANGES, changes)
    write_parquet(layout.dataset("quarantine"), QUARANTINE, arrow_schema(QUARANTINE).empty_table())
    begin = datetime(dt.year, dt.month, dt.day, 1, 0, tzinfo=UTC)
    finished = datetime.fromtimestamp(begin.timestamp() + (time.time() - started), UTC)
    runs_row: dict[str, Any] = {
        "started_at": begin,
        "finished_at": finished,
        "status": "succeeded",
        "engine": "pyfim",
        "input": f"generated: {config.baskets} baskets over {config.items} items",
        "segment_by": None,
        "min_support": config.min_support,
        "min_confidence": config.min_confidence,
        "input_rows": n,
        "accepted_rows": n,
        "rejected_rows": 0,
        "rejected_by_reason": "{}",
        "filtered_rows": 0,
        "baskets": n,
        "distinct_items": config.items,
        "itemsets": itemsets.num_rows,
        "rules": rules.num_rows,
        "params": json.dumps(asdict(config)),
        "timings": "{}",
        "versions": "{}",
    }
    write_parquet(
        layout.dataset("runs"), RUNS, pa.Table.from_pylist([runs_row], arrow_schema(RUNS))
    )
    report = {
        "run_id": config.run_id,
        "dt": config.dt,
        "finished_at": finished.isoformat(),
        "status": "succeeded",
        "counts": {
            "itemsets": itemsets.num_rows,
            "rules": rules.num_rows,
            "item_edges": edges.num_rows,
            "rejected_rows": 0,
        },
    }
    exports = Path(layout.exports)
    exports.mkdir(parents=True, exist_ok=True)
    (exports / "run.json").write_text(json.dumps(report, indent=2) + "\n")
    switch_local(layout)
    latest = {"run_id": config.run_id, "dt": config.dt, "finished_at": finished.isoformat()}
    (root / "_latest.json").write_text(json.dumps(latest, indent=2) + "\n")
    return report


PREVIOUS = MillionConfig(draw_seed=1, dt="2026-02-28", run_id="bench-million-previous")
"""The run before: another day's baskets of the same shop, so the table holds two runs of a
million rules and a query of the latest one must skip the other's files."""
LATEST = MillionConfig()


def ensure(
    cache: Path, runs: tuple[MillionConfig, ...] = (PREVIOUS, LATEST)
) -> tuple[Path, list[dict[str, Any]]]:
    """A results root under ``cache`` holding ``runs`` (the last one the latest), built
    once per configuration and reused after; the runs' ``run.json`` summaries."""
    key = hashlib.sha1("".join(c.key() for c in runs).encode()).hexdigest()[:12]
    root = cache / f"million-{key}"
    done = root / DONE
    if not done.is_file():
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        reports = [
            {**build(root, c, runs[i - 1] if i else None), "config": asdict(c)}
            for i, c in enumerate(runs)
        ]
        done.write_text(json.dumps(reports, indent=2) + "\n", encoding="utf-8")
    return root, json.loads(done.read_text(encoding="utf-8"))
