"""The application SparkSubmitOperator runs (``orchestration.spark_mode = "spark_submit"``):

    spark-submit .../basket_pipeline/spark_app.py mine --kind daily --dt 2026-11-24
    spark-submit .../basket_pipeline/spark_app.py ingest

It loads the same settings (``BASKET_CONFIG`` / ``BASKET_*``), plans the same run and
calls the same stage functions as the in-process tasks. Run it in client deploy mode:
the driver writes the run under ``paths.output_dir`` where the publish task reads it.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spark_app", description=__doc__)
    sub = parser.add_subparsers(dest="stage", required=True)
    m = sub.add_parser("mine", help="mine one day's window")
    m.add_argument("--kind", required=True, choices=["daily", "weekly"])
    m.add_argument("--dt", required=True, type=date.fromisoformat, help="the run's day")
    sub.add_parser("ingest", help="catch the ingest stream up (availableNow)")
    args = parser.parse_args(argv)

    from basket_core.config import load_settings
    from basket_pipeline import stages
    from basket_pipeline.planning import plan_for

    settings = load_settings()
    if args.stage == "mine":
        out = stages.mine_planned(settings, plan_for(settings, args.kind, args.dt)).summary()
    else:
        out = stages.jsonable(stages.catch_up_ingest(settings))
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
