"""The local KRaft broker helper (real Kafka from the Maven jars)."""

from __future__ import annotations

from pathlib import Path

import pytest

from basket_core.config import load_settings
from basket_devtools import kafka_broker
from basket_devtools.kafka_broker import KafkaBroker
from basket_devtools.processes import port_open


def test_cluster_id_starting_with_a_dash_formats_and_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a URL-safe base64 id starts with "-" one time in 64: the storage tool must not read
    # it as an option, or formatting fails with "expected one argument"
    monkeypatch.setattr(kafka_broker, "cluster_id", lambda: "-" + "A" * 21)
    cache = load_settings().paths.cache_dir / "kafka"
    broker = KafkaBroker(tmp_path / "kafka", cache, host="127.0.0.1")
    broker.start()
    try:
        host, port = broker.bootstrap_servers.rsplit(":", 1)
        assert host == "127.0.0.1" and port_open(host, int(port))
        meta = (tmp_path / "kafka" / "data" / "meta.properties").read_text()
        assert "cluster.id=-AAAAAAAAAAAAAAAAAAAAA" in meta
    finally:
        broker.stop()
    assert not port_open(host, int(port))
