# The pipeline image: Python 3.11, a JDK 17 for Spark, and the project installed by its
# own `make setup` (pinned Python dependencies in .venv, JVM jars in .cache/jars).
# Targets: `pipeline` (ingest, Spark master/worker, dashboard, jobs) and `airflow`
# (the same plus Airflow 3 and its providers). Built by docker-compose.yml.

FROM python:3.11-bookworm AS pipeline

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    BASKET_BROWSER=0

RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven make curl procps \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 basket \
    && mkdir -p /app/output /opt/airflow \
    && chown -R basket:basket /app /opt/airflow
WORKDIR /app
USER basket

COPY --chown=basket:basket . .
RUN make setup PYTHON=python3.11 \
    && .venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python 'trino>=0.330,<1' \
    && rm -rf /home/basket/.m2 /home/basket/.cache

ENV PATH=/app/.venv/bin:$PATH \
    SPARK_LOCAL_IP=127.0.0.1
CMD ["basket", "--help"]


FROM pipeline AS airflow

# The Spark provider goes in without its dependencies, as `make setup` does: they would
# bring pyspark-client, whose files overwrite pyspark's own (tests/test_compose.py checks).
RUN .venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python -e '.[airflow]' \
    && .venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python --no-deps \
        'apache-airflow-providers-apache-spark>=6.3,<7' \
    && rm -rf /home/basket/.cache
ENV AIRFLOW_HOME=/opt/airflow
CMD ["airflow", "standalone"]
