"""Shared fixtures: one local Spark session for the whole run, settings isolated in
a temporary folder, and the service fixtures (moto server, Kafka) from tests/fixtures."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"

# every module in tests/fixtures/ is a fixture plugin (moto server, Kafka broker, ...)
pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}"
    for p in (Path(__file__).parent / "fixtures").glob("*.py")
    if not p.name.startswith("_")
)


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read a developer's basket.toml or BASKET_* environment."""
    for key in list(os.environ):
        if key.startswith("BASKET_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr("basket_core.config.DEFAULT_CONFIG_FILE", ROOT / ".no-such-basket.toml")


@pytest.fixture(scope="session")
def spark_settings(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from basket_core.config import Settings

    base = tmp_path_factory.mktemp("spark")
    settings = Settings()
    return settings.with_overrides(
        **{
            "paths.cache_dir": ROOT / ".cache",
            "paths.output_dir": base / "output",
            "spark.master": "local[2]",
            "spark.shuffle_partitions": 2,
            "spark.driver_memory": "2g",
            # a test server starts cold; tests/spark/test_connect_warmup.py warms one
            "spark.connect_warmup_mines": 0,
        }
    )


@pytest.fixture(scope="session")
def spark(spark_settings):  # type: ignore[no-untyped-def]
    from spark.session import get_spark

    session = get_spark(spark_settings)
    yield session
    session.stop()


@pytest.fixture(scope="module", autouse=True)
def _spark_garbage_collected() -> Iterator[None]:
    """After each module, a JVM GC, so the Spark context cleaner drops the module's dead
    broadcasts and shuffles. The one session serves every module; without this, a module
    inherits hundreds of MB of dead broadcast relations from the ones before it (seen
    as "Not enough memory to build and broadcast" in CI), which a fresh driver never
    carries."""
    yield
    if "pyspark.sql" not in sys.modules:
        return
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    context = getattr(active, "sparkContext", None)  # None over Spark Connect
    if context is not None and context._jvm is not None:
        context._jvm.System.gc()


@pytest.fixture
def settings(spark_settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Per-test settings writing under the test's own tmp folder."""
    return spark_settings.with_overrides(
        **{
            "paths.output_dir": tmp_path / "output",
            "paths.data_dir": tmp_path / "data",
            "paths.checkpoint_dir": tmp_path / "checkpoints",
            "paths.delta_dir": tmp_path / "delta",
        }
    )


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def artifacts_dir() -> Iterator[Path]:
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    yield out
