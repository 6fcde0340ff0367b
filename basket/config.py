"""The one typed configuration every stage reads.

Sources, later ones winning:

1. defaults below (the embedded default: everything local, under the project folder);
2. a TOML file: ``$BASKET_CONFIG`` if set, else ``./basket.toml`` if it exists;
3. environment variables ``BASKET_<SECTION>__<FIELD>`` (e.g. ``BASKET_AWS__BUCKET``);
4. command-line flags, applied by the CLI with :meth:`Settings.with_overrides`.

Nothing here imports Spark, boto3 or any other heavy library.
"""

from __future__ import annotations

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

    @field_validator("endpoint_url", "kms_key_id", "profile", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v


class AthenaConfig(_Section):
    database: str = "market_basket"
    workgroup: str = "primary"
    output_location: str | None = None
    poll_interval_s: float = 1.0
    timeout_s: float = 600.0


class KafkaConfig(_Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "pos-transactions"


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
    athena: AthenaConfig = Field(default_factory=AthenaConfig)
    kafka: KafkaConfig = Field(default_factory=KafkaConfig)

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
