"""Fetching plotly.js's basic bundle: from a registry (here a local one on 127.0.0.1 that
answers as npm's does), checked against the published integrity hash, written whole."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from basket_dashboard import plotly_bundle

VERSION = "9.9.9"
SCRIPT = b"/* plotly.js (basic - minified) */ window.Plotly = {};\n"


def _tarball(script: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(f"package/{plotly_bundle.FILE}")
        info.size = len(script)
        tar.addfile(info, io.BytesIO(script))
    return buf.getvalue()


class Registry:
    """Serves ``/<package>/<version>`` (the metadata) and the tarball it names."""

    def __init__(self) -> None:
        self.tarball = _tarball(SCRIPT)
        self.integrity = (
            "sha512-" + base64.b64encode(hashlib.sha512(self.tarball).digest()).decode()
        )
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                base = registry.url
                if self.path == f"/{plotly_bundle.PACKAGE}/{VERSION}":
                    body = json.dumps(
                        {"dist": {"tarball": f"{base}/pkg.tgz", "integrity": registry.integrity}}
                    ).encode()
                elif self.path == "/pkg.tgz":
                    body = registry.tarball
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    reg = Registry()
    thread = threading.Thread(target=reg.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", reg.url + "/")
    yield reg
    reg.server.shutdown()
    reg.server.server_close()


def test_fetch_writes_the_checked_bundle(registry: Registry, tmp_path: Path) -> None:
    path = plotly_bundle.fetch(tmp_path, VERSION)
    assert path == tmp_path / "dashboard-assets" / f"plotly-{VERSION}" / plotly_bundle.FILE
    assert path.read_bytes() == SCRIPT
    assert sorted(p.name for p in path.parent.iterdir()) == [plotly_bundle.FILE]


def test_a_tampered_tarball_is_refused_and_nothing_is_written(
    registry: Registry, tmp_path: Path
) -> None:
    registry.tarball = _tarball(SCRIPT + b"alert('tampered')\n")  # integrity unchanged
    with pytest.raises(plotly_bundle.BundleError, match="does not match the registry"):
        plotly_bundle.fetch(tmp_path, VERSION)
    assert not (tmp_path / "dashboard-assets" / f"plotly-{VERSION}" / plotly_bundle.FILE).exists()


def test_an_unknown_version_is_one_clear_error(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(plotly_bundle.BundleError, match=r"could not fetch .*/0\.0\.0"):
        plotly_bundle.fetch(tmp_path, "0.0.0")


def test_the_command_line_fetch_exits_non_zero_with_one_line(
    registry: Registry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(plotly_bundle, "plotlyjs_version", lambda: "0.0.0")
    with pytest.raises(SystemExit) as exit_info:
        plotly_bundle.main(["fetch", "--cache-dir", str(tmp_path)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: could not fetch")
