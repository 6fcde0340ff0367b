# The two commands of the README are `make demo` and `make test`; both install
# what they need on first use (system packages, the venv, the JVM jar cache).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
JARS := .cache/jars/.complete
SYSTEM := .cache/.system-ok
PACKAGES := basket basket_core basket_dashboard basket_devtools basket_pipeline basket_publish ingest spark athena quicksight dags

export SPARK_LOCAL_IP := 127.0.0.1
export PYSPARK_PYTHON := $(abspath $(BIN)/python)
export PYSPARK_DRIVER_PYTHON := $(abspath $(BIN)/python)

.PHONY: setup demo demo-dashboard test lint typecheck unit test-slow bench bench-soak bench-ingest bench-classify bench-queries clean help

help:
	@echo "make demo       Kafka + CSV drops -> Delta -> the daily Airflow DAG -> S3/Glue/QuickSight, hop counts"
	@echo "make test       lint, type-check and run the test suite (what CI runs)"
	@echo "make test-slow  the slow soak/perf tests"
	@echo "make bench      mining benchmarks against pyfim and mlxtend (and warm on Spark Connect), then the cost of each rule option"
	@echo "make bench-soak 50 mines in a row on one Spark Connect server: time and RSS"
	@echo "make bench-ingest  Kafka -> Delta throughput and latency against the goals"
	@echo "make bench-classify  the ingest classify step per feed shape, as ratios to the synthetic feed"
	@echo "make bench-queries  every pack query at a million rules, in-process and via the CLI"
	@echo "make setup      install everything (done by the targets above on first use)"

setup: $(STAMP) $(JARS)
	@# the project's own modules as bytecode too (a no-op when up to date; see $(STAMP))
	@$(BIN)/python -m compileall -q -j 0 $(PACKAGES) > /dev/null
	@# the JVM class-data-sharing archive (faster Spark start); a no-op once it exists
	@$(BIN)/python -m basket_devtools.warmup
	@# plotly.js's basic bundle for the dashboard (from npm); a no-op once it is cached
	@$(BIN)/python -m basket_dashboard.plotly_bundle fetch --cache-dir .cache

$(SYSTEM): scripts/ensure-system.sh
	@mkdir -p .cache
	bash scripts/ensure-system.sh
	@touch $@

$(STAMP): pyproject.toml $(SYSTEM)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade uv
	@# --compile-bytecode: uv leaves no .pyc behind, and where PYTHONDONTWRITEBYTECODE is
	@# set (a common Docker default) every command, DAG task and Spark Python worker would
	@# compile pandas, pyarrow, scipy and pyspark from source again (~2.6 s per process)
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev,airflow]'
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python --no-deps 'apache-airflow-providers-apache-spark>=6.3,<7'
	@rm -f $(VENV)/.installed-*
	@touch $@

$(JARS): basket_core/maven/pom.xml $(STAMP)
	$(BIN)/python -m basket_core.jars fetch --dest .cache/jars

demo: setup
	$(BIN)/basket demo --mode stream

demo-dashboard: setup
	$(BIN)/basket demo --mode batch --serve

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -m "not slow" --durations=25 $(PYTEST_ARGS)

test: lint typecheck unit

test-slow: setup
	$(BIN)/pytest -m slow $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m benchmarks.mine_bench $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.rule_options_bench $(RULE_BENCH_ARGS)

bench-soak: setup
	$(BIN)/python -m benchmarks.mine_bench --sizes 100000 --tools mine --engines auto --no-connect --soak 50 $(BENCH_ARGS)

bench-ingest: setup
	$(BIN)/python -m benchmarks.ingest_bench $(INGEST_BENCH_ARGS)

bench-classify: setup
	$(BIN)/python -m benchmarks.classify_bench $(CLASSIFY_BENCH_ARGS)

bench-queries: setup
	$(BIN)/python -m benchmarks.query_bench $(QUERY_BENCH_ARGS)

clean:
	rm -rf output .pytest_cache .mypy_cache .ruff_cache spark-warehouse
