"""Each stage of the pipeline wired once, from one :class:`~basket_core.config.Settings`.

The CLI commands, the demo and the DAG tasks call these functions and nothing else to
run a stage, so every caller builds a stage's inputs (Kafka source, S3 target, Athena
target, SPICE ingestion id) the same way. Each is safe to repeat and returns a typed
result; :func:`jsonable` turns one into the plain JSON a DAG passes on as XCom.

AWS clients come from a ``clients(service)`` factory: in Airflow one built on the
``aws_default`` connection (:func:`basket_pipeline.airflow_runtime.hook_clients`),
elsewhere :func:`default_clients` (the standard credential chain).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from basket_core.config import Settings
from basket_core.layout import Target, current_layout
from basket_pipeline.planning import RunPlan, input_uri, slug, spark_input

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

    from basket_core.aws.athena import Athena
    from basket_core.progress import Progress
    from basket_publish.publisher import LocalRun, PublishOptions, PublishResult
    from ingest.maintenance import Relayout, TableMaintenance
    from ingest.report import BatchReport, IngestReport
    from ingest.stream import RunOptions, Source
    from quicksight.ranges import DataRanges
    from quicksight.refresh import Ingestion
    from spark.job import MineRequest
    from spark.report import RunReport

log = logging.getLogger(__name__)

ClientFactory = Callable[[str], Any]
IngestKind = Literal["files", "kafka"]
RECORDS = "_orchestration"


def default_clients(settings: Settings) -> ClientFactory:
    """boto3 clients from the configured region, endpoint and profile."""
    from basket_core.aws.session import client

    def make(service: str) -> Any:
        return client(settings.aws, service)

    return make


def spark_session(settings: Settings, spark: SparkSession | None = None) -> SparkSession:
    if spark is not None:
        return spark
    from spark.session import get_spark

    return get_spark(settings)


INGEST_IN_PROCESS = (
    "ingest runs in this process, not on the Spark Connect server %s: its Delta writes "
    "use delta-spark's DeltaTable API, which over Spark Connect needs Delta's Connect "
    "server plugin (io.delta:delta-connect-server), not published for Delta %s"
)


def ingest_session(settings: Settings, spark: SparkSession | None = None) -> SparkSession:
    """The session an ingest stream runs on: always an in-process one. With
    ``spark.remote`` set the stream still starts its own JVM, and says so (a warning,
    never silently): see :data:`INGEST_IN_PROCESS`."""
    if spark is not None:
        return spark
    if settings.spark.remote:
        from importlib.metadata import version

        log.warning(INGEST_IN_PROCESS, settings.spark.remote, version("delta-spark"))
        settings = settings.with_overrides(**{"spark.remote": ""})  # "" clears it; None is ignored
    return spark_session(settings)


def jsonable(obj: Any) -> Any:
    """A stage result as plain JSON (dataclasses as dicts, dates as ISO strings)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        obj = asdict(obj)
    return json.loads(json.dumps(obj, default=str))


# ---- ingest --------------------------------------------------------------------------


def lines_table(settings: Settings) -> str:
    from ingest.tables import TablePaths

    return TablePaths.under(settings.paths.delta_dir).lines


def ingest_source(
    settings: Settings,
    kind: IngestKind,
    *,
    spark: SparkSession,
    input_dir: Path | None = None,
    max_files_per_trigger: int | None = None,
) -> Source:
    """The stream source: CSV drops under ``input_dir`` (default: the landing folder) or
    the Kafka topic with every ``kafka.*`` setting."""
    from ingest.offsets import check_topic
    from ingest.stream import files_source, kafka_source

    if kind == "files":
        folder = input_dir if input_dir is not None else Path(input_uri(settings))
        return files_source(
            spark,
            settings,
            folder,
            max_files_per_trigger=max_files_per_trigger,
        )
    if kind == "kafka":
        check_topic(settings.kafka.bootstrap_servers, settings.kafka.topic)
        return kafka_source(spark, settings.kafka)
    raise ValueError(f"unknown ingest source {kind!r}; use 'files' or 'kafka'")


def ingest(
    settings: Settings,
    source: Source,
    options: RunOptions,
    *,
    spark: SparkSession,
    on_start: Callable[[Source], None] | None = None,
    on_batch: Callable[[BatchReport], None] | None = None,
) -> IngestReport:
    """Run the stream into the Delta ``lines`` table until it stops (``options.once``:
    what has landed, then stop); the checkpoint makes a repeat a no-op. Returns what this
    run's batches read and wrote; every batch is also kept in the query's report beside
    the tables and passed to ``on_batch``."""
    from ingest import stream

    recorder = stream.recorder_for(settings, source, on_batch)
    query = stream.start(spark, settings, source, options, recorder)
    if on_start is not None:
        on_start(source)
    stream.run(query)
    return recorder.run


def ingest_checkpoint(settings: Settings, source: Source, given: Path | None = None) -> Path:
    """Where the query of ``source`` keeps its checkpoint (``given`` wins)."""
    from ingest.stream import default_checkpoint

    return Path(given) if given else default_checkpoint(settings, source.name)


def ingest_lag(settings: Settings, source: Source, checkpoint: Path | None = None) -> int | None:
    """Events on the topic the Kafka query has not ingested yet (None for other sources)."""
    from ingest import offsets

    if not source.name.startswith("kafka-"):
        return None
    kafka = settings.kafka
    ends = offsets.end_offsets(kafka.bootstrap_servers, kafka.topic)
    done = offsets.committed_offsets(str(ingest_checkpoint(settings, source, checkpoint)))
    return sum(offsets.lag(done, kafka.topic, ends).values())


@dataclass(frozen=True)
class TableStatus:
    name: str
    rows: int
    partitions: int
    files: int
    version: int
    last_commit: str
    bytes: int = 0
    layout: str = ""

    @property
    def average_file_mb(self) -> float:
        return self.bytes / self.files / 1e6 if self.files else 0.0


@dataclass(frozen=True)
class IngestStatus:
    tables: list[TableStatus]
    reports: list[IngestReport]
    lag: dict[str, int]
    """Events not yet ingested per ``topic/partition`` of ``kafka.topic`` (empty when
    the broker cannot be reached)."""


def ingest_status(settings: Settings, *, spark: SparkSession | None = None) -> IngestStatus:
    """The Delta tables, the ingest reports beside them and the Kafka lag."""
    from ingest import offsets, report
    from ingest.tables import Layout, TablePaths

    paths = TablePaths.under(settings.paths.delta_dir)
    tables = []
    for name, path in (("lines", paths.lines), ("quarantine", paths.quarantine)):
        if not (Path(path) / "_delta_log").is_dir():
            continue
        session = spark_session(settings, spark)
        df = session.read.format("delta").load(path)
        detail = session.sql(f"DESCRIBE DETAIL delta.`{path}`").first()
        history = session.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 1").first()
        partitions = detail["partitionColumns"] if detail else []
        tables.append(
            TableStatus(
                name=name,
                rows=df.count(),
                partitions=df.select(*partitions).distinct().count() if partitions else 1,
                files=int(detail["numFiles"]) if detail else 0,
                version=int(history["version"]) if history else 0,
                last_commit=str(history["timestamp"]) if history else "",
                bytes=int(detail["sizeInBytes"] or 0) if detail else 0,
                layout=Layout.of(detail).describe(),
            )
        )
    folder = Path(settings.paths.delta_dir) / "_reports"
    reports = [
        report.load(p, p.stem.removeprefix("ingest-"), paths.lines)
        for p in sorted(folder.glob("ingest-*.json"))
    ]
    kafka = settings.kafka
    try:
        ends = offsets.end_offsets(kafka.bootstrap_servers, kafka.topic, timeout_s=5.0)
    except Exception as exc:  # the broker being down is a status, not a failure
        log.warning("Kafka lag unknown: %s", exc)
        ends = {}
    checkpoint = settings.paths.checkpoint_dir / f"ingest-kafka-{kafka.topic}"
    done = offsets.committed_offsets(str(checkpoint)) if checkpoint.is_dir() else None
    return IngestStatus(tables, reports, offsets.lag(done, kafka.topic, ends) if ends else {})


def catch_up_ingest(settings: Settings, *, spark: SparkSession | None = None) -> IngestReport:
    """The scheduled catch-up: ``orchestration.ingest`` (files or kafka) once, then the
    tables' maintenance (``maintenance.after_catch_up``), recorded in the report."""
    from ingest.stream import RunOptions

    kind = settings.orchestration.ingest
    if kind == "none":
        raise ValueError("orchestration.ingest is 'none': nothing to catch up")
    session = ingest_session(settings, spark)
    source = ingest_source(settings, kind, spark=session)
    done = ingest(settings, source, RunOptions(once=True), spark=session)
    if settings.maintenance.after_catch_up:
        done.maintenance = [asdict(m) for m in maintain_tables(settings, spark=session)]
    return done


def maintain_tables(
    settings: Settings, *, spark: SparkSession | None = None
) -> list[TableMaintenance]:
    """Compact and vacuum the ingest tables (:mod:`ingest.maintenance`); the results are
    also kept beside the tables (``_reports/maintenance.json``) for ``ingest status``."""
    from basket_core.layout import write_atomic
    from ingest.maintenance import maintain
    from ingest.tables import TablePaths

    session = ingest_session(settings, spark)
    done = maintain(
        session,
        TablePaths.under(settings.paths.delta_dir),
        retention_hours=settings.maintenance.vacuum_retention_hours,
    )
    if done:
        path = Path(settings.paths.delta_dir) / "_reports" / "maintenance.json"
        write_atomic(path, (json.dumps([asdict(m) for m in done], indent=2) + "\n").encode())
    return done


def relayout_lines(settings: Settings, *, spark: SparkSession | None = None) -> Relayout | None:
    """Rewrite a ``lines`` table laid out by date partitions as a clustered one
    (:func:`ingest.maintenance.relayout`); None when it already is clustered."""
    from ingest.maintenance import relayout
    from ingest.tables import TablePaths

    path = TablePaths.under(settings.paths.delta_dir).lines
    if not (Path(path) / "_delta_log").is_dir() and "://" not in path:
        from basket_core.errors import InputError

        raise InputError(f"no lines table at {path}")
    return relayout(ingest_session(settings, spark), path)


# ---- mine ------------------------------------------------------------------------------


def mine_request(settings: Settings, plan: RunPlan) -> MineRequest:
    """The Delta lines table when ingest feeds it, else the landing location; the plan's
    window, day and run id."""
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


def mine(
    settings: Settings,
    request: MineRequest,
    *,
    spark: SparkSession | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Mine into ``<output>/<dataset>/dt=<dt>/run_id=<run_id>/``; the run report."""
    from spark.job import run_mine

    if settings.spark.remote:
        settings, request = client_paths(settings, request)
    return run_mine(settings, request, spark=spark, progress=progress)


def client_paths(settings: Settings, request: MineRequest) -> tuple[Settings, MineRequest]:
    """Over Spark Connect the server reads the input and writes the outputs: local paths
    are made absolute against this process's folder, so a server started in another
    folder reads and writes the same files (URIs such as ``s3a://`` are left alone)."""
    from spark.load import is_remote

    def absolute(path: str | Path) -> str:
        return str(path) if is_remote(str(path)) else str(Path(path).resolve())

    resolved = settings.with_overrides(**{"paths.output_dir": absolute(settings.paths.output_dir)})
    return resolved, replace(
        request,
        inputs=tuple(absolute(p) for p in request.inputs),
        table=absolute(request.table) if request.table else None,
        item_map=Path(absolute(request.item_map)) if request.item_map else None,
    )


def mine_planned(
    settings: Settings, plan: RunPlan, *, spark: SparkSession | None = None
) -> RunReport:
    """Mine a scheduled run: the plan's window of :func:`mine_request`, overwritten on a
    re-run of the day."""
    return mine(settings, mine_request(settings, plan), spark=spark)


def local_report(settings: Settings, dt: date, run_id: str) -> RunReport | None:
    """The run report the miner wrote (also after a spark-submit run)."""
    from spark.report import RunReport

    path = Path(current_layout(settings.paths.output_dir, dt, run_id).exports) / "run.json"
    return RunReport.read(path) if path.is_file() else None


# ---- publish ---------------------------------------------------------------------------


def find_run(settings: Settings, run_id: str = "latest") -> LocalRun:
    from basket_publish.publisher import find_run as find

    return find(Path(settings.paths.output_dir), run_id)


def quicksight_ranges(settings: Settings, run_id: str = "latest") -> DataRanges | None:
    """The slider ranges of the local run a dashboard is deployed for (None: no such run;
    the definition then keeps its documented default ranges)."""
    from quicksight.ranges import ranges_for_run

    try:
        run = find_run(settings, run_id)
    except FileNotFoundError:
        return None
    return ranges_for_run(run.layout())


def publish_options(settings: Settings, **overrides: Any) -> PublishOptions:
    """Publish options with the ``publish.*`` attempt settings (retention, grace)."""
    from basket_publish.publisher import PublishOptions

    p = settings.publish
    return PublishOptions(
        **{"retain_attempts": p.retain_attempts, "orphan_grace_s": p.orphan_grace_s, **overrides}
    )


def catalog_switch(
    settings: Settings, clients: ClientFactory, dt: date, run_id: str
) -> Callable[[str], None] | None:
    """What moves Athena readers to a newly published attempt, before the old one is
    retired: the Glue partition locations (``orchestration.catalog = "glue"``). With
    ``athena_sql`` the catalog task moves them (``SET LOCATION``) after the publish, and
    ``publish.retain_attempts >= 1`` keeps the old attempt readable until then."""
    if settings.orchestration.catalog != "glue":
        return None

    def switch(attempt: str) -> None:
        from athena.catalog import switch_partitions_glue

        moved = switch_partitions_glue(
            clients("glue"),
            settings.athena.database,
            Target.of(settings.aws).root,
            dt,
            run_id,
            attempt,
        )
        log.info("Glue partitions of %s at attempt %s: %s", run_id, attempt, moved)

    return switch


def publish(
    settings: Settings,
    clients: ClientFactory,
    run_id: str = "latest",
    *,
    expect_dt: date | None = None,
    options: PublishOptions | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> PublishResult:
    """Upload a complete local run to ``Target.of(settings.aws)`` as a new attempt (what
    S3 already holds skipped), switch the catalog, pointer and ``_latest.json`` to it,
    then retire the attempts it replaced."""
    from basket_publish.publisher import publish_run

    run = find_run(settings, run_id)
    if expect_dt is not None and run.dt != expect_dt:
        raise ValueError(f"run {run.run_id} is dated {run.dt}, expected {expect_dt}")
    return publish_run(
        clients("s3"),
        run,
        Target.of(settings.aws),
        aws=settings.aws,
        options=options or publish_options(settings),
        switch=catalog_switch(settings, clients, run.dt, run.run_id),
        on_bytes=on_bytes,
    )


def setup_bucket(settings: Settings, clients: ClientFactory) -> list[dict[str, Any]]:
    """The results bucket's lifecycle rules (abort open multipart uploads, expire tagged
    superseded attempts) from ``publish.*``; the rules applied."""
    from basket_publish.publisher import setup_bucket as apply

    return apply(
        clients("s3"),
        Target.of(settings.aws),
        abort_multipart_days=settings.publish.abort_multipart_days,
        superseded_expire_days=settings.publish.superseded_expire_days,
    )


def published_attempt(settings: Settings, clients: ClientFactory, dt: date, run_id: str) -> str:
    """The run's current attempt in S3 (``""``: published before attempts, or not yet)."""
    from basket_publish.publisher import read_s3_pointer

    pointer = read_s3_pointer(clients("s3"), Target.of(settings.aws), dt, run_id)
    return pointer.attempt if pointer else ""


def publish_summary(settings: Settings, result: PublishResult) -> dict[str, Any]:
    """What a DAG passes on after a publish: where, what moved, and when the published run
    was mined (the SPICE ingestion id is derived from it)."""
    run = find_run(settings, result.run_id)
    report = local_report(settings, run.dt, run.run_id)
    return {
        "root": Target.of(settings.aws).root,
        "run_id": result.run_id,
        "dt": run.dt.isoformat(),
        "mined_at": report.finished_at.isoformat() if report else None,
        "uploaded": len(result.uploaded),
        "skipped": len(result.skipped),
        "deleted": len(result.deleted),
        "manifest": "written" if result.manifest_written else result.manifest_reason,
    }


# ---- catalog ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogResult:
    via: Literal["glue", "athena_sql"]
    catalog_created: bool = False
    partitions: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per table: partitions ``created`` and already ``existing`` (Glue)."""
    query_ids: list[str] = field(default_factory=list)
    """Athena query ids of the statements run (Athena SQL)."""


def setup_catalog_glue(settings: Settings, clients: ClientFactory) -> Any:
    """Create or update the database, tables and views through the Glue API."""
    from athena.catalog import setup_glue

    return setup_glue(clients("glue"), settings.athena.database, Target.of(settings.aws).root)


def ensure_catalog_glue(settings: Settings, glue: Any) -> bool:
    """Create the database, tables and views unless every table is there; True if it did."""
    from athena.catalog import setup_glue
    from basket_core.aws import glue as glue_api
    from basket_core.schemas import RESULT_DATASETS

    database = settings.athena.database
    try:
        present = set(glue_api.table_names(glue, database))
    except Exception as exc:
        if "EntityNotFoundException" not in str(exc):
            raise
        present = set()
    if all(d.name in present for d in RESULT_DATASETS):
        return False
    setup_glue(glue, database, Target.of(settings.aws).root)
    return True


def add_partitions_glue(
    settings: Settings, dt: date, run_id: str, clients: ClientFactory
) -> CatalogResult:
    """The run's partition in every table through the Glue API, at the run's current S3
    attempt (an existing partition is moved there)."""
    from athena.catalog import add_partitions_glue as add

    glue = clients("glue")
    created = ensure_catalog_glue(settings, glue)
    attempt = published_attempt(settings, clients, dt, run_id)
    root = Target.of(settings.aws).root
    report = add(glue, settings.athena.database, root, dt, run_id, attempt=attempt)
    return CatalogResult(
        via="glue",
        catalog_created=created,
        partitions={t: {"created": c, "existing": e} for t, (c, e) in report.partitions.items()},
    )


def athena_output(settings: Settings) -> str:
    from basket_core.aws.athena import QueryTarget

    return str(QueryTarget.of(settings).output_location)


def run_athena_sql(
    settings: Settings, statements: Sequence[str], athena: Athena | None = None
) -> CatalogResult:
    """Run statements on Athena in order, each waited for (through PyAthena, the
    configured target unless ``athena`` is given)."""
    from athena.catalog import run_statements
    from basket_core.aws.athena import for_settings

    ids = run_statements(athena or for_settings(settings), list(statements))
    return CatalogResult(via="athena_sql", query_ids=list(ids))


def setup_statements(settings: Settings) -> list[str]:
    """``CREATE ... IF NOT EXISTS`` database, tables and views, in order."""
    from athena import ddl

    return ddl.setup_statements(settings.athena.database, Target.of(settings.aws).root)


def partition_statements(
    settings: Settings, dt: date, run_id: str, clients: ClientFactory | None = None
) -> list[str]:
    """One statement per table, order-free, putting the run's partition at its current S3
    attempt: ``ALTER TABLE ... PARTITION ... SET LOCATION`` when the catalog has the
    partition already, else ``ADD IF NOT EXISTS PARTITION ... LOCATION`` (a run published
    before attempts: ``ADD IF NOT EXISTS`` at its folder)."""
    from athena import ddl
    from basket_core.aws import glue as glue_api
    from basket_core.schemas import RESULT_DATASETS

    clients = clients or default_clients(settings)
    database, root = settings.athena.database, Target.of(settings.aws).root
    attempt = published_attempt(settings, clients, dt, run_id)
    if not attempt:
        return ddl.add_partition_statements(database, root, dt, run_id)
    glue = clients("glue")
    statements = []
    for d in RESULT_DATASETS:
        there = glue_api.partition_location(glue, database, d.name, [dt.isoformat(), run_id])
        if there is None:
            statements.append(ddl.add_partition(database, d, root, dt, run_id, attempt))
        else:
            statements.append(ddl.set_partition_location(database, d, root, dt, run_id, attempt))
    return statements


# ---- dashboards ------------------------------------------------------------------------


def quicksight_ingestion_id(run_id: str, mined_at: str | None, attempt: int = 1) -> str:
    """The one SPICE ingestion-id policy (:func:`quicksight.refresh.attempt_id`)."""
    from quicksight.refresh import attempt_id

    return attempt_id(run_id, attempt, mined_at)


def refresh_quicksight(
    settings: Settings,
    clients: ClientFactory,
    run_id: str = "latest",
    *,
    attempt: int = 1,
    names: Sequence[str] | None = None,
    timeout_s: float | None = None,
) -> list[Ingestion]:
    """One SPICE ingestion per data set for the published run, waited for together. A run
    found locally is refreshed under the id of its mine; another under its run id."""
    from quicksight import api
    from quicksight.deployment import deployment_for
    from quicksight.refresh import DATA_SET_NAMES, refresh

    mined_at = None
    try:
        run = find_run(settings, run_id)
    except FileNotFoundError:
        if run_id == "latest":
            raise
    else:  # a local run: its id, and when it was mined
        run_id = run.run_id
        report = local_report(settings, run.dt, run.run_id)
        mined_at = report.finished_at.isoformat() if report else None
    dashboards = settings.dashboards
    account = dashboards.quicksight_account_id or api.account_id(clients("sts"))
    return refresh(
        clients("quicksight"),
        deployment_for(settings, account),
        run_id,
        mined_at=mined_at,
        attempt=attempt,
        names=tuple(names or DATA_SET_NAMES),
        interval_s=dashboards.quicksight_poll_interval_s,
        timeout_s=timeout_s or dashboards.quicksight_timeout_s,
    )


QuerySource = Literal["local", "s3"]
"""Where the local (DuckDB) backend reads: the results folder, or the published copy."""


def query_connection(settings: Settings, source: QuerySource = "local") -> Any:
    """A DuckDB connection with the pack's tables and ``latest_*`` views over the current
    attempts of the local results folder (``paths.output_dir``), or of the published copy
    in ``Target.of(settings.aws)`` (``"s3"``: each run's attempt as its S3 pointer names
    it, read through pyarrow's S3 filesystem with the configured region, endpoint and
    credentials)."""
    from athena import local

    if source == "s3":
        return local.connect_s3(settings.aws)
    if source == "local":
        return local.connect(Path(settings.paths.output_dir))
    raise ValueError(f"unknown query source {source!r}; known: local, s3")


def day_snapshot_path(settings: Settings, dt: date) -> Path:
    """Where a scheduled run's snapshot goes: one page per day under ``<output>/dashboard``."""
    return settings.paths.output_dir / "dashboard" / f"dt={dt.isoformat()}" / "index.html"


def dashboard_snapshot(settings: Settings, run_id: str, path: Path | None = None) -> Path | None:
    """Write the local dashboard's HTML snapshot of a run (default: beside its exports);
    None when the dashboard's packages are not installed."""
    try:
        from basket_dashboard import snapshot
    except ImportError:
        return None
    if path is None:
        run = find_run(settings, run_id)
        path = Path(current_layout(settings.paths.output_dir, run.dt, run.run_id).exports)
        path = path / "dashboard.html"
    return Path(snapshot.write_snapshot(settings, path, run_id=run_id)).resolve()


# ---- run record ------------------------------------------------------------------------


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
    report = local_report(settings, plan.dt, plan.run_id)
    body = {
        "dag_id": dag_id,
        "airflow_run_id": airflow_run_id,
        "recorded_at": datetime.now(UTC).isoformat(),
        "plan": plan.as_dict(),
        "mine": report.summary() if report else None,
        "stages": jsonable(dict(stages)),
    }
    raw = (json.dumps(body, indent=2, sort_keys=True, default=str) + "\n").encode()
    rel = record_rel(dag_id, plan, airflow_run_id)
    local = settings.paths.output_dir / rel
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(raw)
    out: dict[str, Any] = {"local": str(local.resolve())}
    if clients is not None and settings.orchestration.publish:
        from basket_core.aws import s3 as s3_api

        target = Target.of(settings.aws)
        extra = {**s3_api.sse_args(settings.aws), "ContentType": "application/json"}
        s3_api.put_bytes(clients("s3"), target.bucket, target.key(rel), raw, extra_args=extra)
        out["s3"] = target.uri(rel)
    return out
