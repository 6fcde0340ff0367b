"""Orchestration glue for the Airflow DAGs (``dags/market_basket.py``).

- :mod:`~basket_pipeline.plan`: which day and window a run covers, its run id, where
  new transactions land (pure);
- :mod:`~basket_pipeline.stages`: the stages for one planned run (ingest, mine,
  publish, catalog, dashboard snapshot, run record), each a call into the stage packages;
- :mod:`~basket_pipeline.airflow_runtime`: Airflow-specific pieces (AWS clients from a
  connection, failure callback, default task arguments, local Airflow environment);
- :mod:`~basket_pipeline.spark_app`: the application ``spark-submit`` runs.

Nothing here imports Airflow, Spark or boto3 at import time, so the DAG file stays light.
"""

from basket_pipeline.plan import KINDS, Kind, RunPlan, plan_for, plan_from_context, run_id_for

__all__ = ["KINDS", "Kind", "RunPlan", "plan_for", "plan_from_context", "run_id_for"]
