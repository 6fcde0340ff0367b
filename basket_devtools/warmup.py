"""Create the JVM class-data-sharing (CDS) archive that makes Spark start faster.

A Spark driver loads ~15,000 classes before its first query finishes; reading and
verifying them from the jars is a large part of the JVM start and of the first queries.
A dynamic CDS archive (JDK 13+, ``-XX:ArchiveClassesAtExit``) holds those classes
pre-parsed; later JVMs map it (``-XX:SharedArchiveFile``, see
:func:`spark.session.archive_java_options`) and skip that work: measured here, session
start 4.1 s -> 3.1 s and the first query 1.6 s -> 1.0 s.

The archive is made by a training run in a fresh JVM: a small generated dataset is mined
end to end (long CSV with dirty rows, and basket format), which loads the classes the
real jobs load. It is written next to the jar cache (``<cache_dir>/jvm``) under a name
carrying the JDK, the Spark version and its jars (:func:`spark.session.class_archive`),
so a different JDK or pyspark simply gets a new archive; the JVM ignores an archive that
does not fit (``-Xshare:auto``), so a stale one costs nothing but the lost speed-up.

    python -m basket_devtools.warmup            # create it unless it exists (the install step)
    python -m basket_devtools.warmup --force    # re-create it
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from basket_core.config import Settings, load_settings

log = logging.getLogger(__name__)

_TRAIN = "--train"


def train(settings: Settings, archive: Path, work: Path) -> None:
    """The training run (in the process whose JVM writes ``archive`` at exit)."""
    from basket_devtools.generate import GeneratorConfig, generate
    from spark.job import MineRequest, run_mine
    from spark.session import ARCHIVE_OPTIONS, DRIVER_JAVA_OPTIONS, get_spark

    options = " ".join((f"-XX:ArchiveClassesAtExit={archive}", *ARCHIVE_OPTIONS))
    trained = settings.with_overrides(
        **{
            "spark.class_archive": False,
            "spark.conf": {**settings.spark.conf, DRIVER_JAVA_OPTIONS: options},
            "paths.output_dir": str(work / "output"),
            "mining.min_support": 0.01,
        }
    )
    long_csv, baskets = work / "long.csv", work / "baskets.txt"
    config = GeneratorConfig(transactions=3_000, items=200, days=3, dirty_share=0.03)
    generate(config, long_csv)
    generate(config, baskets, fmt="basket")
    spark = get_spark(trained)
    run_mine(trained, MineRequest(inputs=(str(long_csv),)), spark=spark)
    basket_settings = trained.with_overrides(**{"input.format": "basket"})
    run_mine(basket_settings, MineRequest(inputs=(str(baskets),)), spark=spark)
    gateway = spark.sparkContext._gateway
    spark.stop()
    # The JVM writes the archive as it exits, which it does when its stdin closes; wait
    # for it, or the parent would look for the file before it is there.
    proc = getattr(gateway, "proc", None) if gateway is not None else None
    if proc is not None and proc.stdin is not None:
        proc.stdin.close()
        proc.wait(timeout=300)


def create(settings: Settings, *, force: bool = False) -> Path | None:
    """Create the archive unless it exists; returns its path (None: no ``java`` found)."""
    from spark.session import class_archive, java_executable

    target = class_archive(settings).resolve()
    if target.is_file() and not force:
        log.debug("class archive exists: %s", target)
        return target
    if java_executable() is None:
        log.warning("no java found: no class archive (Spark will not start either)")
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # beside the target: the final rename stays on one file system
    with tempfile.TemporaryDirectory(prefix=".warmup-", dir=target.parent) as tmp:
        partial = Path(tmp) / target.name
        env = {**os.environ, "SPARK_LOCAL_IP": settings.spark.local_ip}
        subprocess.run(
            [sys.executable, "-m", "basket_devtools.warmup", _TRAIN, str(partial), tmp],
            check=True,
            env=env,
        )
        if not partial.is_file():
            raise RuntimeError(f"the training run wrote no class archive ({partial})")
        os.replace(partial, target)
    for old in target.parent.glob("spark-*.jsa"):
        if old != target:
            old.unlink(missing_ok=True)
    log.info(
        "class archive %s: %.0f MB in %.1fs",
        target,
        target.stat().st_size / 2**20,
        time.perf_counter() - started,
    )
    return target


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--force", is_flag=True, help="Re-create the archive even if it exists.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None)
def main(force: bool, config_file: str | None) -> None:
    """Create the JVM class-data-sharing archive of the Spark classes (faster start)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = load_settings(config_file or os.environ.get("BASKET_CONFIG"))
    create(settings, force=force)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == _TRAIN:
        logging.basicConfig(level=logging.WARNING)
        train(load_settings(os.environ.get("BASKET_CONFIG")), Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
