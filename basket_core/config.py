"""The one typed configuration every stage reads.

Sources, later ones winning:

1. defaults below (the embedded default: everything local, under the project folder);
2. a TOML file: ``$BASKET_CONFIG`` if set, else ``./basket.toml`` if it exists;
3. environment variables ``BASKET_<SECTION>__<FIELD>`` (e.g. ``BASKET_AWS__BUCKET``);
4. command-line flags, applied by the CLI with :meth:`Settings.with_overrides`.

Nothing here imports Spark, boto3 or any other heavy library.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "BASKET_CONFIG"
DEFAULT_CONFIG_FILE = Path("basket.toml")


class _Section(BaseModel):
    model_config = {"extra": "forbid", "validate_assignment": True}


class PathsConfig(_Section):
    """Where local files live. Relative paths are relative to the working directory."""

    data_dir: Path = Path("data")
    output_dir: Path = Path("output")
    cache_dir: Path = Path(".cache")
    checkpoint_dir: Path = Path("output/_checkpoints")
    delta_dir: Path = Path("output/delta")

    @property
    def jars_dir(self) -> Path:
        return self.cache_dir / "jars"


class ColumnsConfig(_Section):
    """Mapping of the input's columns (long format) to the pipeline's fields.

    A name is a header name; with a header-less file use the 0-based position
    (``"0"``, ``"3"``). An empty optional mapping means the column is absent.
    """

    transaction: str = "InvoiceNo"
    item: str = "Description"
    quantity: str | None = "Quantity"
    price: str | None = "UnitPrice"
    timestamp: str | None = "InvoiceDate"
    customer: str | None = "CustomerID"
    store: str | None = "StoreID"

    @field_validator("quantity", "price", "timestamp", "customer", "store", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v


DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "\\x09": "\t"}


class InputConfig(_Section):
    """How input files are read."""

    format: Literal["long", "basket"] = "long"
    delimiter: str = ","
    basket_sep: str = ","
    header: Literal["auto", "yes", "no"] = "auto"
    encoding: str = "UTF-8"
    timestamp_formats: list[str] = Field(
        default_factory=lambda: [
            "yyyy-MM-dd HH:mm:ss",
            "yyyy-MM-dd'T'HH:mm:ss",
            "yyyy-MM-dd'T'HH:mm:ssXXX",
            "yyyy-MM-dd HH:mm",
            "M/d/yyyy H:mm",
            "yyyy-MM-dd",
        ]
    )

    @field_validator("delimiter", "basket_sep", mode="before")
    @classmethod
    def _named_tab(cls, v: Any) -> Any:
        """``\\t`` (as typed in a shell) and ``tab`` mean the tab character."""
        return DELIMITER_NAMES.get(v.lower(), v) if isinstance(v, str) else v

    @field_validator("basket_sep")
    @classmethod
    def _separates(cls, v: str) -> str:
        if not v or any(c in v for c in "\r\n"):
            raise ValueError(f"must be a non-empty text without line breaks, got {v!r}")
        return v

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, v: str) -> str:
        if len(v) != 1:
            raise ValueError(f"must be one character (or \\t, tab), got {v!r}")
        return v

    @field_validator("encoding")
    @classmethod
    def _line_readable(cls, v: str) -> str:
        """Spark splits CSV into lines before decoding, so only encodings in which a line
        end and the delimiters are their ASCII bytes can be read (UTF-8, Latin-1, cp1252...)."""
        try:
            name = codecs.lookup(v).name
        except LookupError:
            raise ValueError(f"unknown encoding {v!r} (try UTF-8, latin-1 or cp1252)") from None
        if name != "utf-8-sig" and "\n,;|\t".encode(name, errors="replace") != b"\n,;|\t":
            raise ValueError(
                f"{v!r} cannot be read line by line by Spark; convert the files to UTF-8 "
                f"first, e.g. `iconv -f {v} -t UTF-8 in.csv > out.csv`"
            )
        return v


class CleaningConfig(_Section):
    """Cleaning rules. Every rejected row goes to quarantine with its reason."""

    trim: bool = True
    casefold: bool = False
    collapse_whitespace: bool = False
    cancellation_prefix: str | None = "C"
    reject_non_positive_quantity: bool = True
    reject_non_positive_price: bool = True
    reject_bad_encoding: bool = True
    deduplicate: bool = True
    max_item_length: int = Field(default=1000, ge=1)
    """Characters an item may have after trimming; a longer one is ``value_too_long``
    (a real product name is far shorter: a longer one is a broken line, e.g. a missing
    quote that swallowed the following rows)."""
    max_id_length: int = Field(default=200, ge=1)
    """Characters a transaction, customer or store id may have after trimming."""

    @field_validator("cancellation_prefix", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v


class MiningConfig(_Section):
    """FP-Growth and rule thresholds."""

    min_support: float = 0.01
    min_confidence: float = 0.2
    max_size: int | None = None
    partitions: int | None = None
    basket_by: Literal["transaction", "customer-day"] = "transaction"
    max_segments: int = 50
    # Mining engine (spark.engine): auto = PFP with one group when the encoded baskets
    # fit comfortably in group_memory_mb, more groups otherwise; pfp = always several
    # groups; mllib = Spark MLlib FPGrowth (the reference; uses `partitions`).
    engine: Literal["auto", "pfp", "mllib"] = "auto"
    # PFP groups per segment (None: from the cores and group_memory_mb).
    groups: int | None = Field(default=None, ge=1)
    # Estimated memory one PFP group may use in a Python worker; larger groups are split.
    group_memory_mb: int = Field(default=2048, ge=1)
    # A run sure to find more itemsets than this is refused before mining (spark.explosion).
    max_itemsets: int = Field(default=5_000_000, ge=1)
    # Itemsets, rules, changes and edges of up to this many rows are collected once and
    # read as local relations by the later steps, not cached on the cluster (spark.held);
    # 0: always cache.
    held_rows: int = Field(default=100_000, ge=0)
    # Largest consequent of a rule (1: rules A -> c, as Spark MLlib; more: as mlxtend).
    max_consequent: int = Field(default=1, ge=1)
    # Which itemsets the itemsets dataset keeps: every frequent one, or only the closed
    # (no superset with the same count) or maximal (no frequent superset) ones. Rules
    # always come from every frequent itemset.
    itemsets: Literal["all", "closed", "maximal"] = "all"
    # Multiple-testing correction of each rule's Fisher p-value over the run's rules
    # (fdr = Benjamini-Hochberg). Bonferroni is what arules' is.significant uses.
    p_adjust: Literal["bonferroni", "holm", "fdr", "none"] = "bonferroni"
    # Keep only rules whose adjusted Fisher p-value is at most this (None: keep all).
    max_p: float | None = Field(default=None, gt=0.0, le=1.0)
    # Drop rules with improvement <= 0 (a more general rule is at least as confident).
    prune_redundant: bool = False
    # rule_changes: a rule strengthened/weakened when its lift changed by this factor
    # or more (after >= before * f, or after <= before / f) ...
    change_lift_ratio: float = Field(default=1.25, gt=1.0)
    # ... or its confidence by this much (absolute) or more.
    change_confidence_delta: float = Field(default=0.1, gt=0.0, le=1.0)

    @field_validator("min_support", "min_confidence")
    @classmethod
    def _fraction(cls, v: float) -> float:
        if not 0.0 < v <= 1.0:
            raise ValueError(f"must be a fraction in (0, 1], got {v}")
        return v

    @field_validator("max_size")
    @classmethod
    def _max_size(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError(f"max_size must be >= 1, got {v}")
        return v


class SparkConfig(_Section):
    """How the Spark session is built."""

    master: str = "local[*]"
    app_name: str = "basket"
    driver_memory: str = "4g"
    shuffle_partitions: int = 8
    local_ip: str = "127.0.0.1"
    log_level: str = "WARN"
    conf: dict[str, str] = Field(default_factory=dict)
    # hadoop-aws + the AWS SDK bundle (~690 MB) on spark.jars: auto = only when S3 is in
    # use (an s3a/s3 path or URI in the settings or on the command line, an AWS endpoint,
    # fs.s3a conf, or a non-local master); always / never force it.
    s3_jars: Literal["auto", "always", "never"] = "auto"
    # The driver JVM maps a class-data-sharing archive of the Spark classes (written by
    # `python -m basket_devtools.warmup` in the install step, under <cache_dir>/jvm) when it exists:
    # ~1.5 s less JVM start and faster first queries. False: never use it.
    class_archive: bool = True
    # A Spark Connect server to run on instead of starting a JVM here (`basket services
    # start spark` runs one on sc://127.0.0.1:15002); None: an in-process session.
    remote: str | None = None
    # Port of `basket services start spark` (the local Spark Connect server).
    connect_port: int = Field(default=15002, ge=1, le=65535)
    # How long a Spark Connect client retries a server that stopped answering before the
    # command fails (the client library's own default is over 10 minutes, in silence).
    connect_retry_s: float = Field(default=30.0, gt=0)
    # Mines of a small generated data set the local Spark Connect server runs on itself
    # before it reports ready (basket_devtools.connect_warmup): its JIT then compiles the
    # code real mines use, and the first of them runs at the speed of the fifth, not
    # 2-3x slower. 0: none (a faster start; tests).
    connect_warmup_mines: int = Field(default=6, ge=0)

    @field_validator("remote", mode="before")
    @classmethod
    def _remote_url(cls, v: Any) -> Any:
        if isinstance(v, str) and not v.strip():
            return None
        if isinstance(v, str) and not v.startswith("sc://"):
            raise ValueError(f"must be a Spark Connect URL sc://host:port, got {v!r}")
        return v


class AwsConfig(_Section):
    """AWS access. With ``endpoint_url`` unset, boto3 talks to real AWS using the
    standard credential chain; set it to use a moto server, MinIO or LocalStack."""

    region: str = "us-east-1"
    endpoint_url: str | None = None
    bucket: str = "basket-results"
    prefix: str = "market-basket"
    sse: Literal["AES256", "aws:kms", "none"] = "AES256"
    kms_key_id: str | None = None
    profile: str | None = None
    retry_mode: Literal["standard", "adaptive"] = "standard"
    """botocore's retry mode on every client (the only retry layer of AWS calls made
    through :mod:`basket_core.aws.session`; Athena's PyAthena connection has no other)."""
    max_attempts: int = Field(default=5, ge=1)
    """Attempts per AWS call, the first included (botocore's ``total_max_attempts``)."""

    @field_validator("endpoint_url", "kms_key_id", "profile", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v


class PublishConfig(_Section):
    """Attempts and their clean-up. Every mine and every publish of a run writes a new
    attempt and then switches the run to it (:mod:`basket_core.layout`); the attempts it
    superseded are deleted right after the switch, except the newest
    ``retain_attempts`` of them, kept so a query that started before the switch can still
    read its files (and so an Athena catalog updated by a later task still points at
    files). The S3 lifecycle rule of ``basket publish --setup-bucket`` tags those kept ones
    away after ``superseded_expire_days`` and aborts multipart uploads left open by a
    killed publisher after ``abort_multipart_days``."""

    retain_attempts: int = Field(default=1, ge=0)
    orphan_grace_s: float = Field(default=3600.0, ge=0)
    """An attempt no pointer ever named (a killed publish) and an open multipart upload
    are deleted only once older than this, so a concurrent publisher is left alone."""
    abort_multipart_days: int = Field(default=1, ge=1)
    superseded_expire_days: int = Field(default=7, ge=1)


class AthenaConfig(_Section):
    database: str = "market_basket"
    workgroup: str = "primary"
    output_location: str | None = None
    poll_interval_s: float = 1.0
    timeout_s: float = 600.0


class KafkaConfig(_Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "pos-transactions"
    # `basket ingest kafka` defaults (flags override them)
    max_event_bytes: int = Field(default=16 * 1024, ge=1)  # larger events are quarantined
    starting_offsets: str = "earliest"  # earliest | latest | Spark's per-partition JSON
    trigger_seconds: float = Field(default=1.0, gt=0)  # micro-batch interval (continuous)
    # Events per micro-batch while catching up (a live feed's batches hold what arrived
    # since the last one, far fewer); each batch pays ~3 s of fixed costs, so a backlog
    # drains faster in larger ones (docs/ingest-performance.md). None: no limit
    max_offsets_per_trigger: int | None = Field(default=500_000, ge=1)
    max_partition_fetch_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)  # consumer fetch


class DashboardsConfig(_Section):
    """The local dashboard, QuickSight and Power BI. The local dashboard reads through the
    analyst query pack (``backend``: DuckDB over the local results, or Athena)."""

    backend: Literal["local", "athena"] = "local"
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=0, le=65535)
    # DuckDB threads per query of the local dashboard: a page runs its panels' queries at
    # once, so one thread each (two each on two cores made the first paint ~25% slower)
    query_threads: int = Field(default=1, ge=1)
    quicksight_account_id: str | None = None  # None: the caller's account (STS)
    quicksight_namespace: str = "default"
    quicksight_principal_arn: str | None = None  # user/group given owner rights
    quicksight_id_prefix: str = "basket"
    quicksight_import_mode: Literal["SPICE", "DIRECT_QUERY"] = "SPICE"
    quicksight_poll_interval_s: float = 10.0
    quicksight_timeout_s: float = 1800.0
    powerbi_dsn: str = "basket-athena"

    @field_validator("quicksight_account_id", "quicksight_principal_arn", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("quicksight_id_prefix")
    @classmethod
    def _id_prefix(cls, v: str) -> str:
        if not v or not all(ch.isalnum() or ch in "-_" for ch in v) or len(v) > 40:
            raise ValueError(f"quicksight_id_prefix: 1-40 letters, digits, - or _; got {v!r}")
        return v


class MaintenanceConfig(_Section):
    """Small files of the ingest Delta tables (:mod:`ingest.maintenance`): compaction
    (OPTIMIZE) and VACUUM, by ``basket ingest maintain`` and after each scheduled
    catch-up."""

    after_catch_up: bool = True
    # Unreferenced files younger than this are kept (readers of older versions, time
    # travel). Under Delta's 168 h default the retention check is lifted, with a warning.
    vacuum_retention_hours: float = Field(default=168.0, ge=0.0)


class OrchestrationConfig(_Section):
    """The Airflow DAGs (``dags/market_basket.py``, :mod:`basket_pipeline`): schedules,
    the mined window, where new transactions land, how Spark runs, optional stages."""

    daily_cron: str = "30 2 * * *"  # daily run: trailing window ending the day before
    weekly_cron: str = "0 4 * * 1"  # weekly run: full recomputation up to the day before
    timezone: str = "UTC"
    start_date: str = "2026-01-01"  # first schedulable day (ISO date)
    catchup: bool = False
    trailing_days: int = 28
    max_active_runs: int = 1
    trigger_on_new_data: bool = True  # the daily DAG also runs on transaction Asset events
    input_uri: str | None = None  # folder or s3://bucket/prefix; None: <data_dir>/incoming
    input_glob: str = "*.csv*"  # under input_uri; may use {dt} and {dt_nodash}
    wait_timeout_s: int = 6 * 3600
    poke_interval_s: int = 300
    deferrable: bool = False
    ingest: Literal["none", "files", "kafka"] = "none"  # catch the stream up, mine Delta
    # in_process: tasks start Spark themselves; spark_submit: SparkSubmitOperator;
    # connect: tasks are Spark Connect clients of spark.remote (the provider's
    # spark_connect connection, spark_conn_id)
    spark_mode: Literal["in_process", "spark_submit", "connect"] = "in_process"
    spark_conn_id: str = "spark_default"
    spark_application: str | None = None  # None: basket_pipeline/spark_app.py
    spark_submit_conf: dict[str, str] = Field(default_factory=dict)
    spark_py_files: str | None = None
    publish: bool = True
    catalog: Literal["glue", "athena_sql", "none"] = "glue"
    quicksight_dataset_ids: list[str] = Field(default_factory=list)
    dashboard_snapshot: bool = True
    aws_conn_id: str = "aws_default"
    retries: int = 3
    retry_delay_s: int = 60
    retry_backoff: float = 2.0
    max_retry_delay_s: int = 1800
    task_timeout_s: int = 1800
    spark_timeout_s: int = 4 * 3600

    @field_validator("daily_cron", "weekly_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        if not (v.startswith("@") or len(v.split()) == 5):
            raise ValueError(f"expected a 5-field cron expression or @preset, got {v!r}")
        return v

    @field_validator("start_date")
    @classmethod
    def _iso_date(cls, v: str) -> str:
        from datetime import date

        date.fromisoformat(v)
        return v

    @field_validator("trailing_days", "max_active_runs", "poke_interval_s", "task_timeout_s")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"must be >= 1, got {v}")
        return v

    @field_validator("retries", "retry_delay_s", "max_retry_delay_s")
    @classmethod
    def _not_negative(cls, v: int) -> int:
        if v < 0:
            raise ValueError(f"must be >= 0, got {v}")
        return v

    @field_validator("input_uri", "spark_application", "spark_py_files", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v


class Settings(BaseSettings):
    """All configuration, one object."""

    model_config = SettingsConfigDict(
        env_prefix="BASKET_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    paths: PathsConfig = Field(default_factory=PathsConfig)
    columns: ColumnsConfig = Field(default_factory=ColumnsConfig)
    input: InputConfig = Field(default_factory=InputConfig)
    cleaning: CleaningConfig = Field(default_factory=CleaningConfig)
    mining: MiningConfig = Field(default_factory=MiningConfig)
    spark: SparkConfig = Field(default_factory=SparkConfig)
    aws: AwsConfig = Field(default_factory=AwsConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    athena: AthenaConfig = Field(default_factory=AthenaConfig)
    kafka: KafkaConfig = Field(default_factory=KafkaConfig)
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)
    dashboards: DashboardsConfig = Field(default_factory=DashboardsConfig)
    orchestration: OrchestrationConfig = Field(default_factory=OrchestrationConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _EXPLICIT_FILE[0] or _config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @model_validator(mode="after")
    def _kms_needs_key(self) -> Settings:
        if self.aws.sse == "aws:kms" and not self.aws.kms_key_id:
            raise ValueError("aws.sse = 'aws:kms' needs aws.kms_key_id")
        return self

    def with_overrides(self, **dotted: Any) -> Settings:
        """A copy with ``section.field`` overrides applied (``None`` values are ignored)."""
        data = self.model_dump()
        for key, value in dotted.items():
            if value is None:
                continue
            section, _, field = key.partition(".")
            if not field or section not in data or field not in data[section]:
                raise KeyError(f"unknown setting {key!r}")
            data[section][field] = value
        return type(self).model_validate(data)


def _config_file() -> Path | None:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f"{CONFIG_ENV}={explicit} does not exist")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


_EXPLICIT_FILE: list[Path | None] = [None]


def load_settings(config_file: str | Path | None = None) -> Settings:
    """Load settings from defaults, the TOML file (``config_file`` if given), and the
    environment."""
    if config_file is None:
        return Settings()
    path = Path(config_file)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    _EXPLICIT_FILE[0] = path
    try:
        return Settings()
    finally:
        _EXPLICIT_FILE[0] = None
