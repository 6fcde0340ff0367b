"""The one typed configuration: defaults, TOML file, environment, overrides, validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from basket_core.config import Settings, load_settings
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT


def test_defaults_are_the_embedded_default() -> None:
    s = Settings()
    assert s.aws.endpoint_url is None  # real AWS unless configured
    assert s.spark.master.startswith("local")
    assert s.spark.local_ip == "127.0.0.1"


def test_example_file_loads_and_env_overrides_file(monkeypatch, tmp_path) -> None:
    cfg = tmp_path / "basket.toml"
    cfg.write_text((ROOT / "basket.example.toml").read_text() + "\n")
    cfg.write_text(cfg.read_text().replace("min_support = 0.01", "min_support = 0.05"))
    monkeypatch.setenv("BASKET_AWS__BUCKET", "from-env")
    s = load_settings(cfg)
    assert s.mining.min_support == 0.05
    assert s.aws.bucket == "from-env"
    assert s.with_overrides(**{"mining.min_support": 0.2}).mining.min_support == 0.2
    assert s.mining.min_support == 0.05  # overrides return a copy


def test_invalid_values_name_the_field(monkeypatch) -> None:
    monkeypatch.setenv("BASKET_MINING__MIN_SUPPORT", "1.5")
    with pytest.raises(ValidationError, match="min_support"):
        Settings()


def test_kms_needs_a_key_and_unknown_settings_are_rejected() -> None:
    with pytest.raises(ValidationError, match="kms_key_id"):
        Settings().with_overrides(**{"aws.sse": "aws:kms"})
    with pytest.raises(KeyError, match=r"mining\.nope"):
        Settings().with_overrides(**{"mining.nope": 1})


def test_missing_config_file_is_an_error(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("BASKET_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        Settings()


def test_blank_optional_column_unmaps_it() -> None:
    s = Settings().with_overrides(**{"columns.store": "", "cleaning.cancellation_prefix": ""})
    assert s.columns.store is None and s.cleaning.cancellation_prefix is None
