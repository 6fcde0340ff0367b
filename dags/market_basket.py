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

Every task is one call into :mod:`basket_pipeline`. A run is keyed by its day
(``run_id = daily-2026-11-24``), so re-running a day overwrites that day's outputs and adds
no duplicate partition. Credentials only come from the Airflow connections
(``aws_default``, ``spark_default``).
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
from basket_pipeline import airflow_runtime, stages
from basket_pipeline import plan as planning

TAGS = ["market-basket"]


def _plan(d: dict[str, Any]) -> planning.RunPlan:
    return planning.RunPlan.from_dict(d)


def build_dag(settings: Settings, kind: planning.Kind) -> DAG:
    """One DAG (``daily`` or ``weekly``) for these settings."""
    o = settings.orchestration
    tz = ZoneInfo(o.timezone)
    cron = o.daily_cron if kind == "daily" else o.weekly_cron
    timetable = CronTriggerTimetable(cron, timezone=o.timezone)
    transactions = Asset(name="basket_transactions", uri=planning.transactions_asset_uri(settings))
    results = Asset(name="basket_results", uri=planning.results_asset_uri(settings))
    schedule: Any = timetable
    if kind == "daily" and o.trigger_on_new_data:
        schedule = AssetOrTimeSchedule(timetable=timetable, assets=transactions)
    spark_timeout = timedelta(seconds=o.spark_timeout_s)
    clients = airflow_runtime.hook_clients(o.aws_conn_id, settings.aws.region)
    s3_input = planning.is_s3(planning.input_uri(settings))

    with DAG(
        dag_id=f"market_basket_{kind}",
        description=(
            f"Trailing {o.trailing_days}-day window" if kind == "daily" else "Full recomputation"
        )
        + ": wait for data, mine, publish, catalog, refresh dashboards, record",
        schedule=schedule,
        start_date=datetime.combine(date.fromisoformat(o.start_date), datetime.min.time(), tz),
        catchup=o.catchup,
        max_active_runs=o.max_active_runs,
        default_args=airflow_runtime.default_args(settings),
        on_failure_callback=airflow_runtime.log_failure,
        user_defined_macros={"ingestion_id": planning.ingestion_id},
        tags=[*TAGS, kind],
        doc_md=__doc__,
    ) as dag:

        @task
        def plan_run() -> dict[str, Any]:
            """The run's day, window and run id, from its data interval."""
            plan = planning.plan_from_context(settings, kind, get_current_context())
            out: dict[str, Any] = dict(plan.as_dict())
            if s3_input:
                bucket, key = planning.input_key_pattern(settings, plan.dt)
                out["input_key"] = f"s3://{bucket}/{key}"
            return out

        plan: Any = plan_run()  # XComArg: TaskFlow resolves it to the dict at run time
        last: Any = plan

        # -- wait for / pick up new transaction data --------------------------------
        if o.ingest != "kafka":
            wait: Any
            if s3_input:
                from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

                wait = S3KeySensor(
                    task_id="wait_for_input",
                    bucket_key="{{ ti.xcom_pull(task_ids='plan_run')['input_key'] }}",
                    wildcard_match=True,
                    aws_conn_id=o.aws_conn_id,
                    deferrable=o.deferrable,
                    mode="poke" if o.deferrable else "reschedule",
                    poke_interval=o.poke_interval_s,
                    timeout=o.wait_timeout_s,
                )
            else:

                @task.sensor(
                    task_id="wait_for_input",
                    poke_interval=o.poke_interval_s,
                    timeout=o.wait_timeout_s,
                    mode="reschedule",
                )
                def wait_for_input(plan: dict[str, Any]) -> PokeReturnValue:
                    """Files for the day under the landing folder (their paths)."""
                    found = planning.find_input(settings, _plan(plan).dt)
                    return PokeReturnValue(is_done=bool(found), xcom_value=found)

                wait = wait_for_input(plan)
            plan >> wait
            last = wait

        # -- catch the ingest stream up (availableNow) --------------------------------
        spark_kwargs: dict[str, Any] = {}
        if o.spark_mode == "spark_submit":
            spark_kwargs = {
                "application": o.spark_application or str(airflow_runtime.SPARK_APP),
                "conn_id": o.spark_conn_id,
                "conf": dict(o.spark_submit_conf),
                "py_files": o.spark_py_files,
                "execution_timeout": spark_timeout,
            }
        ingest: Any = None
        if o.ingest != "none":
            if o.spark_mode == "spark_submit":
                from airflow.providers.apache.spark.operators.spark_submit import (
                    SparkSubmitOperator,
                )

                ingest = SparkSubmitOperator(
                    task_id="ingest_catch_up",
                    name=f"basket-ingest-{kind}",
                    application_args=["ingest"],
                    **spark_kwargs,
                )
            else:

                @task(task_id="ingest_catch_up", execution_timeout=spark_timeout)
                def ingest_catch_up() -> dict[str, Any]:
                    """Process what has landed into the Delta lines table, then stop."""
                    return stages.catch_up_ingest(settings)

                ingest = ingest_catch_up()
            last >> ingest
            last = ingest

        # -- mine the day's window ----------------------------------------------------
        mined: Any
        if o.spark_mode == "spark_submit":
            from airflow.providers.apache.spark.operators.spark_submit import (
                SparkSubmitOperator,
            )

            mined = SparkSubmitOperator(
                task_id="mine",
                name=f"basket-mine-{kind}",
                application_args=[
                    "mine",
                    "--kind",
                    kind,
                    "--dt",
                    "{{ ti.xcom_pull(task_ids='plan_run')['dt'] }}",
                ],
                **spark_kwargs,
            )
        else:

            @task(task_id="mine", execution_timeout=spark_timeout)
            def mine(plan: dict[str, Any]) -> dict[str, Any]:
                """FP-Growth and rules over the window; the run's local outputs."""
                return stages.mine(settings, _plan(plan))

            mined = mine(plan)
        last >> mined
        tail: list[Any] = []

        # -- publish, catalog, QuickSight ---------------------------------------------
        published: Any = None
        catalog: Any = None
        if o.publish:

            @task(outlets=[results])
            def publish(plan: dict[str, Any]) -> dict[str, Any]:
                """Upload the run to S3; emits the basket_results Asset."""
                return stages.publish(settings, _plan(plan), clients)

            published = publish(plan)
            mined >> published
            after_catalog: Any = published

            if o.catalog == "glue":

                @task
                def add_partitions(plan: dict[str, Any]) -> dict[str, Any]:
                    """The run's partition in every Glue table (existing ones kept)."""
                    return stages.add_partitions_glue(settings, _plan(plan), clients)

                catalog = add_partitions(plan)
                published >> catalog
                after_catalog = catalog
            elif o.catalog == "athena_sql":
                from airflow.providers.amazon.aws.operators.athena import AthenaOperator

                @task
                def catalog_setup() -> dict[str, Any]:
                    """CREATE ... IF NOT EXISTS database, tables and views (in order)."""
                    return stages.ensure_catalog_sql(settings, clients)

                @task
                def partition_statements(plan: dict[str, Any]) -> list[str]:
                    return stages.partition_statements(settings, _plan(plan))

                setup = catalog_setup()
                statements = partition_statements(plan)
                catalog = AthenaOperator.partial(
                    task_id="add_partitions",
                    database=settings.athena.database,
                    workgroup=settings.athena.workgroup,
                    output_location=stages.athena_output(settings),
                    aws_conn_id=o.aws_conn_id,
                    sleep_time=max(1, int(settings.athena.poll_interval_s)),
                    deferrable=o.deferrable,
                ).expand(query=statements)
                published >> setup >> catalog
                after_catalog = catalog
            tail.append(after_catalog)

            if o.quicksight_dataset_ids:
                from airflow.providers.amazon.aws.operators.quicksight import (
                    QuickSightCreateIngestionOperator,
                )
                from airflow.providers.amazon.aws.sensors.quicksight import QuickSightSensor

                for data_set_id in o.quicksight_dataset_ids:
                    name = planning.slug(data_set_id, 40)
                    refresh = QuickSightCreateIngestionOperator(
                        task_id=f"spice_refresh_{name}",
                        data_set_id=data_set_id,
                        ingestion_id=(
                            "{{ ingestion_id(ti.xcom_pull(task_ids='plan_run'), run_id, "
                            "ti.try_number) }}"
                        ),
                        wait_for_completion=False,
                        aws_conn_id=o.aws_conn_id,
                    )
                    done = QuickSightSensor(
                        task_id=f"spice_wait_{name}",
                        data_set_id=data_set_id,
                        ingestion_id=(
                            f"{{{{ ti.xcom_pull(task_ids='spice_refresh_{name}')['IngestionId'] }}}}"
                        ),
                        aws_conn_id=o.aws_conn_id,
                        mode="reschedule",
                        poke_interval=max(1, int(settings.dashboards.quicksight_poll_interval_s)),
                        timeout=int(settings.dashboards.quicksight_timeout_s),
                        deferrable=o.deferrable,
                    )
                    after_catalog >> refresh >> done
                    tail.append(done)

        # -- local dashboard snapshot -------------------------------------------------
        snapshot: Any = None
        if o.dashboard_snapshot:

            @task
            def dashboard_snapshot(plan: dict[str, Any]) -> str:
                """The local dashboard's HTML snapshot of the run."""
                path = stages.dashboard_snapshot(settings, _plan(plan))
                if path is None:
                    raise AirflowSkipException("basket_dashboard is not installed")
                return path

            snapshot = dashboard_snapshot(plan)
            mined >> snapshot
            tail.append(snapshot)

        # -- record the run -----------------------------------------------------------
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
                settings,
                _plan(plan),
                dag_id=ctx["dag"].dag_id,
                airflow_run_id=ctx["run_id"],
                stages={"publish": published, "catalog": catalog, "snapshot": snapshot},
                clients=clients if o.publish else None,
            )

        glue_catalog = catalog if o.catalog == "glue" else None
        recorded = record_run(plan, published, glue_catalog, snapshot)
        for t in [mined, *tail]:
            t >> recorded
    return dag


def build(settings: Settings) -> list[DAG]:
    return [build_dag(settings, kind) for kind in planning.KINDS]


for _dag in build(load_settings()):
    globals()[_dag.dag_id] = _dag
