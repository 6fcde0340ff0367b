"""Airflow-specific glue: AWS clients from an Airflow connection, the failure callback,
default task arguments, and the environment a local Airflow needs (connections from the
project config). Airflow itself is imported only inside the functions that need it.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from basket_core.config import Settings
from basket_pipeline.stages import ClientFactory

log = logging.getLogger("basket_pipeline")

SPARK_APP = Path(__file__).resolve().with_name("spark_app.py")
DAG_FILE = "market_basket.py"


def dags_folder() -> Path:
    """The folder of the DAG file: the copy the wheel ships inside this package, or, in
    an editable install, the source tree's ``dags/`` that this package sits beside."""
    here = Path(__file__).resolve().parent
    for folder in (here / "dags", here.parent / "dags"):
        if (folder / DAG_FILE).is_file():
            return folder
    raise FileNotFoundError(f"no {DAG_FILE} under {here / 'dags'}: reinstall basket-pipeline")


DAGS_FOLDER = dags_folder()


def load_dag_file(module_name: str) -> ModuleType:
    """The project's DAG file (``market_basket.py`` in :data:`DAGS_FOLDER`) loaded as a
    module of its own, for ``dag.test()`` runs outside the scheduler; its ``build_dag``
    builds a DAG from any settings."""
    spec = importlib.util.spec_from_file_location(module_name, DAGS_FOLDER / "market_basket.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no DAG file in {DAGS_FOLDER}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hook_clients(conn_id: str, region: str | None = None) -> ClientFactory:
    """boto3 clients from the Airflow AWS connection ``conn_id`` (credentials, region and
    ``endpoint_url`` come from the connection, never from the DAG)."""

    def make(service: str) -> Any:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=conn_id, client_type=service, region_name=region).get_conn()

    return make


def log_failure(context: Mapping[str, Any]) -> None:
    """``on_failure_callback``: one log line naming the task, the run, the try and why."""
    ti = context.get("task_instance") or context.get("ti")
    exc = context.get("exception")
    reason = f"{type(exc).__name__}: {exc}" if exc is not None else "unknown reason"
    log.error(
        "basket task failed: dag=%s task=%s run=%s try=%s: %s",
        getattr(ti, "dag_id", "?"),
        getattr(ti, "task_id", "?"),
        getattr(ti, "run_id", context.get("run_id", "?")),
        getattr(ti, "try_number", "?"),
        reason,
    )


def default_args(settings: Settings) -> dict[str, Any]:
    """Retries with exponential backoff, a timeout and the failure callback, for every task."""
    o = settings.orchestration
    return {
        "owner": "basket",
        "depends_on_past": False,
        "retries": o.retries,
        "retry_delay": timedelta(seconds=o.retry_delay_s),
        "retry_exponential_backoff": o.retry_backoff,
        "max_retry_delay": timedelta(seconds=o.max_retry_delay_s),
        "execution_timeout": timedelta(seconds=o.task_timeout_s),
        "on_failure_callback": log_failure,
    }


def aws_connection(settings: Settings) -> dict[str, Any]:
    """The ``aws_default`` connection for the configured region, endpoint and profile
    (no keys: the standard credential chain supplies them)."""
    extra: dict[str, Any] = {"region_name": settings.aws.region}
    if settings.aws.endpoint_url:
        extra["endpoint_url"] = settings.aws.endpoint_url
    if settings.aws.profile:
        extra["profile_name"] = settings.aws.profile
    return {"conn_type": "aws", "extra": extra}


def spark_connection(settings: Settings) -> dict[str, Any]:
    """``spark_default`` for SparkSubmitOperator: the configured master, client deploy mode
    (the driver writes the run where the publish task can read it)."""
    return {
        "conn_type": "spark",
        "host": settings.spark.master,
        "extra": {"deploy-mode": "client", "spark-binary": "spark-submit"},
    }


def connect_url(settings: Settings) -> str:
    """The Spark Connect server of ``orchestration.spark_mode = "connect"``:
    ``spark.remote``, or the local server of ``basket services start spark``."""
    return settings.spark.remote or f"sc://{settings.spark.local_ip}:{settings.spark.connect_port}"


def spark_connect_connection(settings: Settings) -> dict[str, Any]:
    """``spark_default`` as the Spark provider's ``spark_connect`` connection (host and
    port of :func:`connect_url`; a token or SSL go in the real connection, not here)."""
    from urllib.parse import urlparse

    url = urlparse(connect_url(settings))
    return {"conn_type": "spark_connect", "host": f"sc://{url.hostname}", "port": url.port}


def connect_settings(settings: Settings) -> Settings:
    """The settings a Spark task runs with. With ``spark_mode = "connect"``, ``spark.remote``
    comes from the Airflow connection ``spark_conn_id`` (the provider's
    ``SparkConnectHook``; credentials stay in Airflow), so the task is a thin client of
    that server; other modes start Spark themselves (the settings unchanged)."""
    o = settings.orchestration
    if o.spark_mode != "connect":
        return settings
    from airflow.providers.apache.spark.hooks.spark_connect import SparkConnectHook

    url = SparkConnectHook(o.spark_conn_id).get_connection_url()
    return settings.with_overrides(**{"spark.remote": url})


def _conn_env(conn_id: str) -> str:
    return "AIRFLOW_CONN_" + conn_id.upper()


def airflow_env(
    settings: Settings, home: Path, *, dags_folder: Path = DAGS_FOLDER
) -> dict[str, str]:
    """Environment variables for a local Airflow (standalone, ``dag.test``) on this project:
    home and DAG folder, SQLite metadata, no examples, and the connections from the
    project config."""
    o = settings.orchestration
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        _conn_env(o.aws_conn_id): json.dumps(aws_connection(settings)),
    }
    if o.spark_mode == "spark_submit":
        env[_conn_env(o.spark_conn_id)] = json.dumps(spark_connection(settings))
    elif o.spark_mode == "connect":
        env[_conn_env(o.spark_conn_id)] = json.dumps(spark_connect_connection(settings))
    config = os.environ.get("BASKET_CONFIG")
    if config:
        env["BASKET_CONFIG"] = str(Path(config).resolve())
    return env
