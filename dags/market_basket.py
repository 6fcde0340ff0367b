"""Market basket analysis on a schedule: new transactions in, fresh rules out.

Two DAGs from one definition, configured by ``[orchestration]`` in the project config
(``basket.toml`` / ``BASKET_ORCHESTRATION__*``):

- ``market_basket_daily``: the trailing ``trailing_days`` window ending the day before the
  run (``daily_cron``); also runs when the ``basket_transactions`` Asset gets an event
  (``trigger_on_new_data``);
- ``market_basket_weekly``: a full recomputation up to the day before (``weekly_cron``).

Tasks: plan_run -> wait_for_input -> [ingest_catch_up] -> mine -> publish (Asset
``basket_results``) -> add_partitions (Glue API or Athena SQL) -> [SPICE refresh + sensor
per dataset] ; mine -> [dashboard_snapshot] ; all -> record_run.

Every task is one call into :mod:`basket_pipeline.stages`, the same wiring the CLI uses.
A run is keyed by its day (``run_id = daily-2026-11-24``), so re-running a day overwrites
that day's outputs and adds no duplicate partition. Credentials only come from the
Airflow connections (``aws_default``, ``spark_default``). Spark tasks start Spark in the
task (``spark_mode = "in_process"``), submit :mod:`basket_pipeline.spark_app`
(``"spark_submit"``), or run as thin clients of a warm Spark Connect server
(``"connect"``: ``spark_default`` is then a ``spark_connect`` connection).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import (
    DAG,
    Asset,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    PokeReturnValue,
    TriggerRule,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowSkipException

from basket_core.config import Settings, load_settings
from basket_pipeline import airflow_runtime, planning, stages

TAGS = ["market-basket"]
PLAN_XCOM = "ti.xcom_pull(task_ids='plan_run')"


def _plan(d: dict[str, Any]) -> planning.RunPlan:
    return planning.RunPlan.from_dict(d)


def spice_ingestion_id(published: dict[str, Any], attempt: int) -> str:
    """The DAG's macro for :func:`basket_pipeline.stages.quicksight_ingestion_id`, from the
    publish task's XCom and the task's try number."""
    return stages.quicksight_ingestion_id(published["run_id"], published.get("mined_at"), attempt)


class Wiring:
    """What every task builder needs: the settings, the run kind, AWS clients. (A plain
    class: Airflow loads this file without registering it as a module, which dataclasses
    need.)"""

    def __init__(
        self, settings: Settings, kind: planning.RunKind, clients: stages.ClientFactory
    ) -> None:
        self.settings, self.kind, self.clients = settings, kind, clients

    @property
    def spark_submit(self) -> bool:
        return self.settings.orchestration.spark_mode == "spark_submit"

    def spark_timeout(self) -> timedelta:
        return timedelta(seconds=self.settings.orchestration.spark_timeout_s)

    def submit(self, task_id: str, args: list[str]) -> Any:
        """A SparkSubmitOperator running :mod:`basket_pipeline.spark_app` with ``args``."""
        from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

        o = self.settings.orchestration
        return SparkSubmitOperator(
            task_id=task_id,
            name=f"basket-{task_id.split('_')[0]}-{self.kind}",
            application=o.spark_application or str(airflow_runtime.SPARK_APP),
            application_args=args,
            conn_id=o.spark_conn_id,
            conf=dict(o.spark_submit_conf),
            py_files=o.spark_py_files,
            execution_timeout=self.spark_timeout(),
        )


def dag_arguments(settings: Settings, kind: planning.RunKind) -> dict[str, Any]:
    """Schedule (cron, or cron or new data), start, retries and macros of one DAG."""
    o = settings.orchestration
    cron = o.daily_cron if kind == "daily" else o.weekly_cron
    timetable = CronTriggerTimetable(cron, timezone=o.timezone)
    schedule: Any = timetable
    if kind == "daily" and o.trigger_on_new_data:
        transactions = Asset(
            name="basket_transactions", uri=planning.transactions_asset_uri(settings)
        )
        schedule = AssetOrTimeSchedule(timetable=timetable, assets=transactions)
    window = f"Trailing {o.trailing_days}-day window" if kind == "daily" else "Full recomputation"
    start = datetime.combine(
        date.fromisoformat(o.start_date), datetime.min.time(), ZoneInfo(o.timezone)
    )
    return {
        "dag_id": f"market_basket_{kind}",
        "description": window
        + ": wait for data, mine, publish, catalog, refresh dashboards, record",
        "schedule": schedule,
        "start_date": start,
        "catchup": o.catchup,
        "max_active_runs": o.max_active_runs,
        "default_args": airflow_runtime.default_args(settings),
        "on_failure_callback": airflow_runtime.log_failure,
        "user_defined_macros": {"ingestion_id": spice_ingestion_id},
        "tags": [*TAGS, kind],
        "doc_md": __doc__,
    }


def plan_task(w: Wiring) -> Any:
    s3_input = planning.is_s3(planning.input_uri(w.settings))

    @task
    def plan_run() -> dict[str, Any]:
        """The run's day, window and run id, from its data interval."""
        plan = planning.plan_from_context(w.settings, w.kind, get_current_context())
        out: dict[str, Any] = dict(plan.as_dict())
        if s3_input:
            bucket, key = planning.input_key_pattern(w.settings, plan.dt)
            out["input_key"] = f"s3://{bucket}/{key}"
        return out

    return plan_run()  # XComArg: TaskFlow resolves it to the dict at run time


def wait_for_input_task(w: Wiring, plan: Any) -> Any:
    """A sensor for the day's files: S3 keys or the local landing folder."""
    o = w.settings.orchestration
    if planning.is_s3(planning.input_uri(w.settings)):
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        wait = S3KeySensor(
            task_id="wait_for_input",
            bucket_key="{{ " + PLAN_XCOM + "['input_key'] }}",
            wildcard_match=True,
            aws_conn_id=o.aws_conn_id,
            deferrable=o.deferrable,
            mode="poke" if o.deferrable else "reschedule",
            poke_interval=o.poke_interval_s,
            timeout=o.wait_timeout_s,
        )
        plan >> wait
        return wait

    @task.sensor(
        task_id="wait_for_input",
        poke_interval=o.poke_interval_s,
        timeout=o.wait_timeout_s,
        mode="reschedule",
    )
    def wait_for_input(plan: dict[str, Any]) -> PokeReturnValue:
        """Files for the day under the landing folder (their paths)."""
        found = planning.find_input(w.settings, _plan(plan).dt)
        return PokeReturnValue(is_done=bool(found), xcom_value=found)

    return wait_for_input(plan)


def ingest_task(w: Wiring) -> Any:
    if w.spark_submit:
        return w.submit("ingest_catch_up", ["ingest"])

    @task(task_id="ingest_catch_up", execution_timeout=w.spark_timeout())
    def ingest_catch_up() -> dict[str, Any]:
        """Process what has landed into the Delta lines table, then stop."""
        settings = airflow_runtime.connect_settings(w.settings)
        return dict(stages.jsonable(stages.catch_up_ingest(settings)))

    return ingest_catch_up()


def mine_task(w: Wiring, plan: Any) -> Any:
    if w.spark_submit:
        dt = "{{ " + PLAN_XCOM + "['dt'] }}"
        return w.submit("mine", ["mine", "--kind", w.kind, "--dt", dt])

    @task(task_id="mine", execution_timeout=w.spark_timeout())
    def mine(plan: dict[str, Any]) -> dict[str, Any]:
        """FP-Growth and rules over the window; the run's local outputs."""
        settings = airflow_runtime.connect_settings(w.settings)  # spark_mode connect
        return stages.mine_planned(settings, _plan(plan)).summary()

    return mine(plan)


def publish_task(w: Wiring, plan: Any) -> Any:
    results = Asset(name="basket_results", uri=planning.results_asset_uri(w.settings))

    @task(outlets=[results])
    def publish(plan: dict[str, Any]) -> dict[str, Any]:
        """Upload the run to S3; emits the basket_results Asset."""
        run = _plan(plan)
        result = stages.publish(w.settings, w.clients, run.run_id, expect_dt=run.dt)
        return stages.publish_summary(w.settings, result)

    return publish(plan)


def catalog_tasks(w: Wiring, plan: Any, published: Any) -> tuple[Any, Any]:
    """``(catalog, last)``: the task whose result the run record keeps (Glue), and the task
    after which the catalog is current."""
    settings, o = w.settings, w.settings.orchestration
    if o.catalog == "glue":

        @task
        def add_partitions(plan: dict[str, Any]) -> dict[str, Any]:
            """The run's partition in every Glue table (existing ones kept)."""
            run = _plan(plan)
            result = stages.add_partitions_glue(settings, run.dt, run.run_id, w.clients)
            return dict(stages.jsonable(result))

        catalog = add_partitions(plan)
        published >> catalog
        return catalog, catalog
    if o.catalog == "athena_sql":
        from airflow.providers.amazon.aws.operators.athena import AthenaOperator

        @task
        def catalog_setup() -> dict[str, Any]:
            """CREATE ... IF NOT EXISTS database, tables and views (in order)."""
            result = stages.run_athena_sql(settings, stages.setup_statements(settings))
            return dict(stages.jsonable(result))

        @task
        def partition_statements(plan: dict[str, Any]) -> list[str]:
            run = _plan(plan)
            return stages.partition_statements(settings, run.dt, run.run_id, w.clients)

        setup = catalog_setup()
        statements = partition_statements(plan)
        added = AthenaOperator.partial(
            task_id="add_partitions",
            database=settings.athena.database,
            workgroup=settings.athena.workgroup,
            output_location=stages.athena_output(settings),
            aws_conn_id=o.aws_conn_id,
            sleep_time=max(1, int(settings.athena.poll_interval_s)),
            deferrable=o.deferrable,
        ).expand(query=statements)
        published >> setup >> added
        return None, added
    return None, published


def spice_tasks(w: Wiring, after: Any) -> list[Any]:
    """A SPICE ingestion and its sensor per configured data set, after ``after``."""
    from airflow.providers.amazon.aws.operators.quicksight import (
        QuickSightCreateIngestionOperator,
    )
    from airflow.providers.amazon.aws.sensors.quicksight import QuickSightSensor

    o, dashboards = w.settings.orchestration, w.settings.dashboards
    waits = []
    for data_set_id in o.quicksight_dataset_ids:
        name = planning.slug(data_set_id, 40)
        refresh = QuickSightCreateIngestionOperator(
            task_id=f"spice_refresh_{name}",
            data_set_id=data_set_id,
            ingestion_id="{{ ingestion_id(ti.xcom_pull(task_ids='publish'), ti.try_number) }}",
            wait_for_completion=False,
            aws_conn_id=o.aws_conn_id,
        )
        done = QuickSightSensor(
            task_id=f"spice_wait_{name}",
            data_set_id=data_set_id,
            ingestion_id=f"{{{{ ti.xcom_pull(task_ids='spice_refresh_{name}')['IngestionId'] }}}}",
            aws_conn_id=o.aws_conn_id,
            mode="reschedule",
            poke_interval=max(1, int(dashboards.quicksight_poll_interval_s)),
            timeout=int(dashboards.quicksight_timeout_s),
            deferrable=o.deferrable,
        )
        after >> refresh >> done
        waits.append(done)
    return waits


def snapshot_task(w: Wiring, plan: Any) -> Any:
    @task
    def dashboard_snapshot(plan: dict[str, Any]) -> str:
        """The local dashboard's HTML snapshot of the run."""
        run = _plan(plan)
        path = stages.day_snapshot_path(w.settings, run.dt)
        written = stages.dashboard_snapshot(w.settings, run.run_id, path)
        if written is None:
            raise AirflowSkipException("basket_dashboard's packages are not installed")
        return str(written)

    return dashboard_snapshot(plan)


def record_task(w: Wiring, plan: Any, published: Any, catalog: Any, snapshot: Any) -> Any:
    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def record_run(
        plan: dict[str, Any],
        published: dict[str, Any] | None,
        catalog: Any,
        snapshot: str | None,
    ) -> dict[str, Any]:
        """One JSON record of this Airflow run, locally and beside the results."""
        ctx = get_current_context()
        return stages.record_run(
            w.settings,
            _plan(plan),
            dag_id=ctx["dag"].dag_id,
            airflow_run_id=ctx["run_id"],
            stages={"publish": published, "catalog": catalog, "snapshot": snapshot},
            clients=w.clients if w.settings.orchestration.publish else None,
        )

    return record_run(plan, published, catalog, snapshot)


def build_dag(settings: Settings, kind: planning.RunKind) -> DAG:
    """One DAG (``daily`` or ``weekly``) for these settings."""
    o = settings.orchestration
    w = Wiring(settings, kind, airflow_runtime.hook_clients(o.aws_conn_id, settings.aws.region))
    with DAG(**dag_arguments(settings, kind)) as dag:
        plan = plan_task(w)
        last = plan
        if o.ingest != "kafka":
            last = wait_for_input_task(w, plan)
        if o.ingest != "none":
            ingested = ingest_task(w)
            last >> ingested
            last = ingested
        mined = mine_task(w, plan)
        last >> mined
        tail: list[Any] = []
        published = catalog = None
        if o.publish:
            published = publish_task(w, plan)
            mined >> published
            catalog, catalogued = catalog_tasks(w, plan, published)
            tail.append(catalogued)
            if o.quicksight_dataset_ids:
                tail += spice_tasks(w, catalogued)
        snapshot = None
        if o.dashboard_snapshot:
            snapshot = snapshot_task(w, plan)
            mined >> snapshot
            tail.append(snapshot)
        recorded = record_task(w, plan, published, catalog, snapshot)
        for t in [mined, *tail]:
            t >> recorded
    return dag


def build(settings: Settings) -> list[DAG]:
    return [build_dag(settings, kind) for kind in planning.KINDS]


for _dag in build(load_settings()):
    globals()[_dag.dag_id] = _dag
