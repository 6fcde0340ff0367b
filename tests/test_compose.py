"""docker-compose.yml: ``docker compose config`` validation without a Docker engine, and
the structure the stack promises (health checks, start order, loopback ports, no secrets).

The validator is ``docker compose config`` when the Compose plugin is installed; otherwise
``compose/validate`` (a few lines of Go on compose-go, the library Docker Compose itself
uses to load files: interpolation, Compose Specification schema, normalization and
consistency checks), built once with the Go toolchain into ``.cache/compose-config/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from basket_core.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DEV_ENV = ROOT / "compose" / "dev.env"
VALIDATOR_SRC = ROOT / "compose" / "validate"
SERVICES = {
    "kafka",
    "kafka-init",
    "minio",
    "minio-init",
    "trino",
    "trino-init",
    "spark-master",
    "spark-worker",
    "spark-connect",
    "airflow",
    "ingest",
    "dashboard",
}
ONE_SHOT = "org.basket.one-shot"
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|ACCESS_KEY|PRIVATE_KEY|_KEY_ID)$", re.I)
REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(:?\?[^}]*)?\}$")

Config = Callable[..., dict[str, Any]]


def _docker_compose_works() -> bool:
    if shutil.which("docker") is None:
        return False
    done = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    return done.returncode == 0


def _build_validator() -> Path:
    digest = hashlib.sha1()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update((VALIDATOR_SRC / name).read_bytes())
    binary = ROOT / ".cache" / "compose-config" / f"compose-config-{digest.hexdigest()[:12]}"
    if binary.is_file():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_suffix(".tmp")
    done = subprocess.run(
        ["go", "build", "-o", str(tmp), "."],
        cwd=VALIDATOR_SRC,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"go build of the compose validator failed:\n{done.stderr}")
    tmp.rename(binary)
    return binary


@pytest.fixture(scope="module")
def compose_config() -> Config:
    """``config(*files, env_file=DEV_ENV) -> resolved project`` (raises CalledProcessError
    with the loader's message for an invalid file)."""
    if _docker_compose_works():

        def command(files: tuple[Path, ...], env_file: Path | None) -> list[str]:
            cmd = ["docker", "compose"]
            if env_file is not None:
                cmd += ["--env-file", str(env_file)]
            for f in files:
                cmd += ["-f", str(f)]
            return [*cmd, "config", "--format", "json"]

    elif shutil.which("go") is not None:
        binary = _build_validator()

        def command(files: tuple[Path, ...], env_file: Path | None) -> list[str]:
            cmd = [str(binary)]
            if env_file is not None:
                cmd += ["--env-file", str(env_file)]
            return [*cmd, *map(str, files)]

    else:
        if os.environ.get("CI"):
            pytest.fail("neither the docker compose plugin nor Go is installed")
        pytest.skip("neither the docker compose plugin nor Go is installed")

    def config(*files: Path, env_file: Path | None = DEV_ENV) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MINIO_", "BASKET_"))}
        done = subprocess.run(
            command(files or (COMPOSE,), env_file),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise subprocess.CalledProcessError(
                done.returncode, done.args, done.stdout, done.stderr
            )
        model: dict[str, Any] = json.loads(done.stdout)
        return model

    return config


@pytest.fixture(scope="module")
def project(compose_config: Config) -> dict[str, Any]:
    return compose_config()


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _one_shot(service: dict[str, Any]) -> bool:
    return (service.get("labels") or {}).get(ONE_SHOT) == "true"


def _healthchecked(service: dict[str, Any]) -> bool:
    hc = service.get("healthcheck") or {}
    test = hc.get("test") or []
    return bool(test) and test != ["NONE"] and not hc.get("disable")


def test_compose_file_is_valid_and_complete(project: dict[str, Any]) -> None:
    assert set(project["services"]) == SERVICES
    assert project["name"] == "basket"


def test_every_service_is_healthchecked_or_a_one_shot_job(project: dict[str, Any]) -> None:
    for name, svc in project["services"].items():
        if _one_shot(svc):
            assert svc.get("restart", "no") == "no", name
            assert not svc.get("ports"), f"{name}: a job publishes no port"
        else:
            assert _healthchecked(svc), f"{name} has no health check"
            assert svc.get("restart") == "unless-stopped", name


def test_start_order_waits_for_health_or_completion(project: dict[str, Any]) -> None:
    services = project["services"]
    for name, svc in services.items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            want = (
                "service_completed_successfully" if _one_shot(services[dep]) else "service_healthy"
            )
            assert spec["condition"] == want, f"{name} -> {dep}"
    # every long-running consumer of MinIO waits for the bucket
    for name in ("trino", "airflow", "ingest", "dashboard"):
        assert "minio-init" in services[name]["depends_on"], name
    assert "kafka-init" in services["ingest"]["depends_on"]
    assert services["spark-worker"]["depends_on"]["spark-master"]["condition"] == "service_healthy"


def test_published_ports_bind_to_loopback(project: dict[str, Any]) -> None:
    published = []
    for name, svc in project["services"].items():
        for port in svc.get("ports") or []:
            assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            published.append(int(port["published"]))
    assert len(published) == len(set(published)), "two services publish one host port"


def _env_items(raw: dict[str, Any]) -> list[tuple[str, str, str]]:
    items = []
    for name, svc in raw["services"].items():
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        items += [(name, str(k), str(v)) for k, v in env.items() if k != "<<"]
    anchor_env = raw["x-pipeline"]["environment"]
    items += [("x-pipeline", str(k), str(v)) for k, v in anchor_env.items()]
    return items


def test_no_secrets_inline(raw: dict[str, Any], project: dict[str, Any]) -> None:
    for name, key, value in _env_items(raw):
        if SECRET_NAME.search(key) or key.endswith("_USER"):
            assert REFERENCE.match(value), f"{name}.{key} must be a ${{VAR:?}} reference"
        if key.startswith("AIRFLOW_CONN_"):
            conn = json.loads(value)
            assert not {"login", "password"} & set(conn), f"{name}.{key} holds credentials"
            assert not {"aws_access_key_id", "aws_secret_access_key"} & set(conn.get("extra", {}))
    catalog = (ROOT / "compose" / "trino" / "catalog" / "hive.properties").read_text()
    for line in catalog.splitlines():
        key, _, value = line.partition("=")
        if "key" in key.strip():
            assert value.strip().startswith("${ENV:"), line
    # the credentials reach the containers only from the env file, at run time
    assert "basket-local-only" not in COMPOSE.read_text()
    assert "compose/dev.env" in (ROOT / ".dockerignore").read_text()


def test_credentials_are_required(compose_config: Config) -> None:
    with pytest.raises(subprocess.CalledProcessError) as err:
        compose_config(env_file=None)
    assert "MINIO_ROOT_USER" in err.value.stderr


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"depends_on": {"nowhere": {"condition": "service_healthy"}}}, "nowhere"),
        ({"healthcheck": {"test": ["CMD", "true"], "intervall": "5s"}}, "intervall"),
        ({"ports": ["127.0.0.1:99999:1"]}, ""),
    ],
)
def test_validator_rejects_broken_files(
    compose_config: Config, raw: dict[str, Any], tmp_path: Path, patch: dict[str, Any], message: str
) -> None:
    """The validator really validates: a bad reference, an unknown key, a bad port."""
    broken = {"name": "broken", "services": {"a": {"image": "busybox", **patch}}}
    path = tmp_path / "compose.yml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(subprocess.CalledProcessError) as err:
        compose_config(path, env_file=None)
    assert message in err.value.stderr


def test_bind_mounts_and_build_targets_exist(project: dict[str, Any]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    targets = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", dockerfile, re.M))
    for name, svc in project["services"].items():
        for vol in svc.get("volumes") or []:
            if vol["type"] == "bind":
                assert Path(vol["source"]).exists(), f"{name}: {vol['source']}"
        build = svc.get("build")
        if build:
            assert Path(build["context"]) == ROOT
            assert build.get("target") in targets, name
    assert re.search(r"^FROM python:3\.11", dockerfile, re.M)
    assert "openjdk-17" in dockerfile and "make setup" in dockerfile


def test_airflow_runs_the_project_dags_against_minio_and_spark(project: dict[str, Any]) -> None:
    airflow = project["services"]["airflow"]
    mounts = {v["target"]: v for v in airflow["volumes"]}
    assert Path(mounts["/app/dags"]["source"]) == ROOT / "dags"
    env = airflow["environment"]
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/app/dags"
    aws = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    assert aws["conn_type"] == "aws" and aws["extra"]["endpoint_url"] == "http://minio:9000"
    spark = json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"])
    assert spark["host"] == "spark://spark-master:7077"
    assert env["BASKET_ORCHESTRATION__SPARK_MODE"] == "spark_submit"
    Settings.model_validate({})  # the orchestration settings used by the env exist:
    fields = Settings.model_fields["orchestration"].annotation.model_fields  # type: ignore[union-attr]
    for key in env:
        if key.startswith("BASKET_ORCHESTRATION__"):
            assert key.removeprefix("BASKET_ORCHESTRATION__").lower() in fields, key
    master = project["services"]["spark-master"]["command"]
    assert master[-2:] == ["--webui-port", "8080"] and "7077" in master


def test_services_run_the_project_commands(project: dict[str, Any]) -> None:
    s = project["services"]
    assert s["ingest"]["command"][:3] == ["basket", "ingest", "kafka"]
    assert s["dashboard"]["command"][:2] == ["basket", "dashboard"]
    assert s["trino-init"]["command"][:3] == ["python", "-m", "athena.trino_ddl"]
    for name in ("ingest", "dashboard", "trino-init", "airflow", "spark-worker"):
        env = s[name]["environment"]
        assert env["BASKET_CONFIG"] == "/app/compose/basket.compose.toml", name
        assert env["BASKET_AWS__ENDPOINT_URL"] == "http://minio:9000", name
        assert env["BASKET_KAFKA__BOOTSTRAP_SERVERS"] == "kafka:29092", name


def test_spark_connect_serves_the_cluster_on_loopback(project: dict[str, Any]) -> None:
    """The warm Spark Connect server (issue 20): the project's server module in front of
    the standalone master, published on 127.0.0.1:15002 only, started after the worker."""
    svc = project["services"]["spark-connect"]
    assert svc["command"][:3] == ["python", "-m", "basket_devtools.spark_connect"]
    assert svc["command"][-2:] == ["--port", "15002"]
    env = svc["environment"]
    assert env["BASKET_SPARK__MASTER"] == "spark://spark-master:7077"
    assert env["BASKET_CONFIG"] == "/app/compose/basket.compose.toml"
    assert [(p["host_ip"], int(p["published"]), p["target"]) for p in svc["ports"]] == [
        ("127.0.0.1", 15002, 15002)
    ]
    assert svc["depends_on"]["spark-worker"]["condition"] == "service_healthy"


def test_compose_settings_switch_endpoints_only(
    project: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    default = Settings().model_dump()
    monkeypatch.setenv("BASKET_CONFIG", str(ROOT / "compose" / "basket.compose.toml"))
    stack = Settings()
    changed = {
        f"{section}.{field}"
        for section, values in stack.model_dump().items()
        for field, value in values.items()
        if default[section][field] != value
    }
    # sse: MinIO in this stack has no KMS, so SSE-S3 is off
    assert "aws.endpoint_url" in changed
    assert changed <= {"aws.endpoint_url", "aws.sse", "kafka.bootstrap_servers"}
    assert stack.aws.endpoint_url == "http://127.0.0.1:9000"
    host_ports = {int(p["published"]) for p in project["services"]["minio"]["ports"]}
    assert 9000 in host_ports
    assert stack.kafka.bootstrap_servers == "127.0.0.1:9092"
    # the bucket the stack creates is the one the settings use
    minio_init = project["services"]["minio-init"]["environment"]
    assert minio_init["BUCKET"] == stack.aws.bucket
    assert project["services"]["ingest"]["environment"]["BASKET_AWS__BUCKET"] == stack.aws.bucket


def test_image_installs_the_spark_provider_without_its_dependencies() -> None:
    """The provider's dependencies bring pyspark-client over pyspark's files: every line of
    the Dockerfile and the Makefile that installs it must say --no-deps, with the same
    version range."""
    installs = []
    for name in ("Dockerfile", "Makefile"):
        text = (ROOT / name).read_text().replace("\\\n", " ")
        for line in text.splitlines():
            for command in line.split("&&"):
                if "apache-airflow-providers-apache-spark" in command:
                    installs.append((name, command.strip()))
    assert {name for name, _ in installs} == {"Dockerfile", "Makefile"}
    for name, command in installs:
        assert "--no-deps" in command, (name, command)
        assert "'apache-airflow-providers-apache-spark>=6.3,<7'" in command, (name, command)
