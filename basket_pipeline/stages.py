"""The pipeline's stages for one planned run, each a call into the stage packages and each
safe to repeat. Given settings and a :class:`~basket_pipeline.plan.RunPlan` they do the
work and return small JSON-able dicts (URIs, ids, counts) for XCom.

AWS clients come from a ``clients(service)`` factory: in Airflow one built on the
``aws_default`` connection (:func:`basket_pipeline.airflow_runtime.hook_clients`), elsewhere
:func:`default_clients` (the standard credential chain).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket_core.config import Settings
from basket_pipeline.plan import RunPlan, slug, spark_input

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

ClientFactory = Callable[[str], Any]
RECORDS = "_orchestration"


def default_clients(settings: Settings) -> ClientFactory:
    from basket_core.aws.session import client

    def make(service: str) -> Any:
        return client(settings.aws, service)

    return make


def _spark(settings: Settings, spark: SparkSession | None) -> SparkSession:
    if spark is not None:
        return spark
    from spark.session import get_spark

    return get_spark(settings)


# ---- ingest and mine (Spark) ----------------------------------------------------------


def lines_table(settings: Settings) -> str:
    from ingest.tables import TablePaths

    return TablePaths.under(settings.paths.delta_dir).lines


def catch_up_ingest(settings: Settings, *, spark: SparkSession | None = None) -> dict[str, Any]:
    """Run the ingest stream once (availableNow: what has landed, then stop) into the
    Delta ``lines`` table; the stream's checkpoint makes a repeat a no-op."""
    from pathlib import Path as P

    from ingest import stream
    from ingest.stream import RunOptions, files_source, kafka_source

    mode = settings.orchestration.ingest
    if mode == "none":
        raise ValueError("orchestration.ingest is 'none': nothing to catch up")
    session = _spark(settings, spark)
    if mode == "files":
        from basket_pipeline.plan import input_uri

        source = files_source(session, settings, P(input_uri(settings)))
    else:
        source = kafka_source(session, settings.kafka.bootstrap_servers, settings.kafka.topic)
    query = stream.start(session, settings, source, RunOptions(once=True))
    stream.run(query)
    progress: dict[str, Any] = dict(query.lastProgress or {})
    return {
        "source": source.name,
        "table": lines_table(settings),
        "rows": int(progress.get("numInputRows", 0) or 0),
    }


def mine_request(settings: Settings, plan: RunPlan) -> Any:
    """The Delta lines table when ingest feeds it, else the landing location; the plan's
    window, day and run id."""
    from dataclasses import replace

    from spark.job import MineRequest

    if settings.orchestration.ingest != "none":
        base = MineRequest(table=lines_table(settings))
    else:
        base = MineRequest(inputs=(spark_input(settings),))
    return replace(
        base,
        run_id=plan.run_id,
        run_date=plan.dt,
        start_date=plan.start_date,
        end_date=plan.end_date,
    )


def mine(settings: Settings, plan: RunPlan, *, spark: SparkSession | None = None) -> dict[str, Any]:
    """Mine the plan's window into ``<output>/<dataset>/dt=<dt>/run_id=<run_id>/``
    (overwritten on a re-run); a summary of the run report."""
    from spark.job import run_mine

    report = run_mine(settings, mine_request(settings, plan), spark=_spark(settings, spark))
    return summary(report)


def summary(report: Mapping[str, Any]) -> dict[str, Any]:
    counts = report.get("counts", {})
    return {
        "run_id": report["run_id"],
        "dt": report["dt"],
        "outputs": dict(report.get("outputs", {})),
        "counts": {k: counts.get(k) for k in ("input_rows", "baskets", "itemsets", "rules")},
    }


def local_report(settings: Settings, plan: RunPlan) -> dict[str, Any] | None:
    """The run report the miner wrote (also after a spark-submit run)."""
    from basket_core.layout import RunLayout

    path = (
        Path(RunLayout(str(settings.paths.output_dir), plan.dt, plan.run_id).exports) / "run.json"
    )
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# ---- publish and catalog (AWS) --------------------------------------------------------


def target(settings: Settings) -> Any:
    from basket_core.layout import Target

    return Target.of(settings.aws)


def publish(settings: Settings, plan: RunPlan, clients: ClientFactory) -> dict[str, Any]:
    """Upload the day's run to S3 (unchanged files skipped, stale ones pruned,
    ``_latest.json`` last)."""
    from basket_publish.publisher import find_run, publish_run

    run = find_run(Path(settings.paths.output_dir), plan.run_id)
    if run.dt != plan.dt:
        raise ValueError(f"run {plan.run_id} is dated {run.dt}, expected {plan.dt}")
    tgt = target(settings)
    result = publish_run(clients("s3"), run, tgt, aws=settings.aws)
    return {
        "root": tgt.root,
        "run_id": result.run_id,
        "dt": plan.dt.isoformat(),
        "uploaded": len(result.uploaded),
        "skipped": len(result.skipped),
        "deleted": len(result.deleted),
        "manifest": "written" if result.manifest_written else result.manifest_reason,
    }


def ensure_catalog_glue(settings: Settings, glue: Any) -> bool:
    """Create the database, tables and views unless every table is there; True if it did."""
    from athena.catalog import setup_glue
    from basket_core.aws import glue as glue_api
    from basket_core.schemas import RESULT_DATASETS

    db = settings.athena.database
    try:
        present = set(glue_api.table_names(glue, db))
    except Exception as exc:
        if "EntityNotFoundException" not in str(exc):
            raise
        present = set()
    if all(d.name in present for d in RESULT_DATASETS):
        return False
    setup_glue(glue, db, target(settings).root)
    return True


def add_partitions_glue(
    settings: Settings, plan: RunPlan, clients: ClientFactory
) -> dict[str, Any]:
    """The day's partition in every table through the Glue API (existing ones kept)."""
    from athena.catalog import add_partitions_glue as add

    glue = clients("glue")
    created_catalog = ensure_catalog_glue(settings, glue)
    report = add(glue, settings.athena.database, target(settings).root, plan.dt, plan.run_id)
    return {
        "via": "glue",
        "catalog_created": created_catalog,
        "partitions": {t: {"created": c, "existing": e} for t, (c, e) in report.partitions.items()},
    }


def athena_output(settings: Settings) -> str:
    from basket_core.aws.athena import QueryTarget

    return str(QueryTarget.of(settings).output_location)


def ensure_catalog_sql(settings: Settings, clients: ClientFactory) -> dict[str, Any]:
    """``CREATE ... IF NOT EXISTS`` database, tables and views through Athena, in order."""
    from athena import ddl
    from athena.catalog import run_statements
    from basket_core.aws.athena import QueryTarget

    statements = ddl.setup_statements(settings.athena.database, target(settings).root)
    ids = run_statements(clients("athena"), statements, QueryTarget.of(settings))
    return {"via": "athena_sql", "setup_queries": ids}


def partition_statements(settings: Settings, plan: RunPlan) -> list[str]:
    """``ALTER TABLE ... ADD IF NOT EXISTS PARTITION`` per table (order-free)."""
    from athena import ddl

    return ddl.add_partition_statements(
        settings.athena.database, target(settings).root, plan.dt, plan.run_id
    )


# ---- dashboards -----------------------------------------------------------------------


def dashboard_snapshot(settings: Settings, plan: RunPlan) -> str | None:
    """Write the local dashboard's HTML snapshot of the day's run; None when the
    dashboard package is not installed."""
    try:
        from basket_dashboard import snapshot
    except ImportError:
        return None
    path = settings.paths.output_dir / "dashboard" / f"dt={plan.dt.isoformat()}" / "index.html"
    written = snapshot.write_snapshot(settings, path, run_id=plan.run_id)
    return str(Path(written).resolve())


# ---- run record -----------------------------------------------------------------------


def record_rel(dag_id: str, plan: RunPlan, airflow_run_id: str) -> str:
    """``_orchestration/<dag>/dt=<dt>/<airflow run>.json``, relative to the results root."""
    return f"{RECORDS}/{slug(dag_id)}/dt={plan.dt.isoformat()}/{slug(airflow_run_id, 120)}.json"


def record_run(
    settings: Settings,
    plan: RunPlan,
    *,
    dag_id: str,
    airflow_run_id: str,
    stages: Mapping[str, Any],
    clients: ClientFactory | None,
) -> dict[str, Any]:
    """One JSON record per Airflow run (a re-run adds a record, changes nothing else):
    locally under ``<output>/_orchestration/`` and, when publishing, in S3 beside the
    results. Returns where it was written."""
    report = local_report(settings, plan)
    body = {
        "dag_id": dag_id,
        "airflow_run_id": airflow_run_id,
        "recorded_at": datetime.now(UTC).isoformat(),
        "plan": plan.as_dict(),
        "mine": summary(report) if report else None,
        "stages": _jsonable(stages),
    }
    raw = (json.dumps(body, indent=2, sort_keys=True, default=str) + "\n").encode()
    rel = record_rel(dag_id, plan, airflow_run_id)
    local = settings.paths.output_dir / rel
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(raw)
    out: dict[str, Any] = {"local": str(local.resolve())}
    if clients is not None and settings.orchestration.publish:
        from basket_core.aws import s3 as s3_api
        from basket_core.aws.s3 import sse_args

        extra = {**sse_args(settings.aws), "ContentType": "application/json"}
        key = target(settings).key(rel)
        s3_api.put_bytes(clients("s3"), settings.aws.bucket, key, raw, extra_args=extra)
        out["s3"] = target(settings).uri(rel)
    return out


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        obj = asdict(obj)
    return json.loads(json.dumps(obj, default=str))
