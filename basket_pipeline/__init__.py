"""The pipeline's one wiring of the stages, shared by the CLI, the demo and the DAGs.

- :mod:`~basket_pipeline.stages`: each stage (ingest, mine, publish, catalog, QuickSight
  refresh, dashboard snapshot, run record) built from the settings and returning a typed
  result;
- :mod:`~basket_pipeline.planning`: which day and window a scheduled run covers, its run id,
  where new transactions land (pure);
- :mod:`~basket_pipeline.airflow_runtime`: Airflow-specific pieces (AWS clients from a
  connection, failure callback, default task arguments, local Airflow environment);
- :mod:`~basket_pipeline.spark_app`: the application ``spark-submit`` runs.

Nothing here imports Airflow, Spark or boto3 at import time, so the DAG file stays light.
"""

from basket_pipeline.planning import (
    KINDS,
    RunKind,
    RunPlan,
    plan_for,
    plan_from_context,
    run_id_for,
)

__all__ = ["KINDS", "RunKind", "RunPlan", "plan_for", "plan_from_context", "run_id_for"]
