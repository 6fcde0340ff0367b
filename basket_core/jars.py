"""JVM jars the pipeline adds to pyspark's: Delta, the Kafka source, hadoop-aws.

``python -m basket_core.jars fetch`` (run by ``make setup``) resolves ``basket_core/maven/pom.xml``
with Maven into ``<cache>/jars`` once, keeping only jars pyspark does not already
ship (same artifact, other version, would clash on the classpath). Spark sessions
then set ``spark.jars`` from that folder and never resolve packages at start-up.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

POM = Path(__file__).resolve().parent / "maven" / "pom.xml"
COMPLETE = ".complete"
_ARTIFACT = re.compile(r"^(?P<name>.+?)-(?P<version>\d[\w.\-]*)\.jar$")


def artifact_name(jar: str) -> str:
    """``hadoop-client-api-3.4.2.jar`` -> ``hadoop-client-api``."""
    m = _ARTIFACT.match(jar)
    return m.group("name") if m else jar.removesuffix(".jar")


def pyspark_jars_dir() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent / "jars"


def fetch(dest: Path, pom: Path = POM) -> list[Path]:
    """Resolve the pom's runtime dependencies with Maven and keep the new ones in ``dest``."""
    if shutil.which("mvn") is None:
        raise RuntimeError(
            "Maven (mvn) is not installed; run `make setup` (scripts/ensure-system.sh) or "
            "apt-get install maven"
        )
    provided = {artifact_name(p.name) for p in pyspark_jars_dir().glob("*.jar")}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
        ]
        subprocess.run(cmd, check=True)
        dest.mkdir(parents=True, exist_ok=True)
        for old in dest.glob("*.jar"):
            old.unlink()
        kept = []
        for jar in sorted(Path(tmp).glob("*.jar")):
            if artifact_name(jar.name) in provided:
                continue
            target = dest / jar.name
            shutil.move(str(jar), target)
            kept.append(target)
    (dest / COMPLETE).write_text("\n".join(p.name for p in kept) + "\n")
    return kept


def cached_jars(jars_dir: Path) -> list[Path]:
    """The fetched jars; raises with the fix when the cache is missing."""
    if not (jars_dir / COMPLETE).is_file():
        raise FileNotFoundError(
            f"JVM jar cache {jars_dir} is missing or incomplete; run `make setup` "
            f"(or `python -m basket_core.jars fetch --dest {jars_dir}`)"
        )
    return sorted(jars_dir.glob("*.jar"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m basket_core.jars", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="resolve basket_core/maven/pom.xml into the jar cache")
    f.add_argument("--dest", type=Path, default=None, help="cache folder (default: config)")
    sub.add_parser("list", help="print the cached jars")
    args = parser.parse_args(argv)
    from basket_core.config import load_settings

    dest = getattr(args, "dest", None) or load_settings().paths.jars_dir
    if args.cmd == "fetch":
        kept = fetch(dest)
        size = sum(p.stat().st_size for p in kept) / 2**20
        print(f"cached {len(kept)} jars ({size:.0f} MiB) in {dest}")
    else:
        for p in cached_jars(dest):
            print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
