"""The built wheel carries its own data files: installed outside the checkout, the packages
find the jar pom, the broker pom, the SQL pack and the DAG file inside themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).with_name("uv")

PROBE = """
import json
import basket_core, basket_core.jars, basket_devtools.kafka_broker, basket_pipeline.airflow_runtime
from athena import pack
print(json.dumps({
    "package": basket_core.__file__,
    "pom": str(basket_core.jars.POM), "pom_ok": basket_core.jars.POM.is_file(),
    "kafka_pom": str(basket_devtools.kafka_broker.POM),
    "kafka_pom_ok": basket_devtools.kafka_broker.POM.is_file(),
    "dags": str(basket_pipeline.airflow_runtime.DAGS_FOLDER),
    "queries": sorted(pack.load(name).name for name in pack.names()),
}))
"""


def test_installed_wheel_finds_its_data_files(tmp_path: Path) -> None:
    subprocess.run(
        [str(UV), "build", "--wheel", "-q", "-o", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [str(UV), "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        cwd=tmp_path,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    found = json.loads(out.stdout)
    assert found["package"].startswith(str(target))
    assert found["pom_ok"] and found["pom"].startswith(str(target))
    assert found["kafka_pom_ok"] and found["kafka_pom"].startswith(str(target))
    assert found["dags"] == str(target / "basket_pipeline" / "dags")
    assert (Path(found["dags"]) / "market_basket.py").read_bytes() == (
        ROOT / "dags" / "market_basket.py"
    ).read_bytes()
    shipped = sorted(p.stem for p in (ROOT / "athena" / "queries").glob("*.sql"))
    assert found["queries"] == shipped
