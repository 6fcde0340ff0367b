"""plotly.js's *basic* bundle for the dashboard: the charts it draws in a quarter of the bytes.

Dash loads the full plotly.js (4.8 MB, every trace type) the first time a graph is on the
page; parsing it took about a third of the dashboard's first paint in Chromium on two cores.
The dashboard draws only bars and scatters, which plotly.js's basic bundle (scatter, bar,
pie: 1.2 MB) has. When the bundle is in the page as a script, ``dcc.Graph`` uses the
``window.Plotly`` it defines and never fetches the full one.

The bundle comes from the npm registry (``NPM_CONFIG_REGISTRY``, as npm reads it), at the
plotly.js version the installed plotly package ships, checked against the registry's
integrity hash, and is kept under ``<cache_dir>/dashboard-assets/plotly-<version>/``.
``make setup`` fetches it; ``basket dashboard`` fetches it on first use.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import tarfile
import tempfile
import urllib.request
from pathlib import Path

PACKAGE = "plotly.js-basic-dist-min"
FILE = "plotly-basic.min.js"
TRACE_TYPES = frozenset({"scatter", "bar", "pie"})
"""The trace types the basic bundle draws: every figure of the dashboard stays inside them
(a test checks)."""
DEFAULT_REGISTRY = "https://registry.npmjs.org"


class BundleError(RuntimeError):
    """The bundle could not be fetched or did not match its published hash."""


def plotlyjs_version() -> str:
    """The plotly.js version the installed plotly package ships (and Dash would serve)."""
    from plotly.offline import get_plotlyjs_version

    return str(get_plotlyjs_version())


def assets_dir(cache_dir: Path, version: str | None = None) -> Path:
    """The folder served as the dashboard's assets: the bundle of ``version``, alone."""
    return Path(cache_dir) / "dashboard-assets" / f"plotly-{version or plotlyjs_version()}"


def registry() -> str:
    return (os.environ.get("NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY).rstrip("/")


def _get(url: str, timeout_s: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            data: bytes = response.read()
            return data
    except OSError as exc:
        raise BundleError(f"could not fetch {url}: {exc}") from exc


def _check_integrity(data: bytes, integrity: str, url: str) -> None:
    """npm's ``dist.integrity`` (``sha512-<base64>``) against the downloaded bytes."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm not in {"sha512", "sha384", "sha256"}:
        raise BundleError(f"{url}: unsupported integrity {integrity!r}")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise BundleError(f"{url}: {algorithm} {actual} does not match the registry's {expected}")


def fetch(cache_dir: Path, version: str | None = None, timeout_s: float = 60.0) -> Path:
    """Download the basic bundle of ``version`` (default: plotly's) into its assets folder,
    checked against the registry's integrity hash, and return its path. The file appears
    whole or not at all (written beside, then renamed)."""
    version = version or plotlyjs_version()
    meta_url = f"{registry()}/{PACKAGE}/{version}"
    try:
        dist = json.loads(_get(meta_url, timeout_s))["dist"]
        tarball_url, integrity = str(dist["tarball"]), str(dist["integrity"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{meta_url}: no tarball and integrity in the answer ({exc})") from exc
    data = _get(tarball_url, timeout_s)
    _check_integrity(data, integrity, tarball_url)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile(f"package/{FILE}")
        if member is None:
            raise BundleError(f"{tarball_url}: no package/{FILE} in it")
        script = member.read()
    folder = assets_dir(cache_dir, version)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".part-", delete=False) as out:
        out.write(script)
    os.chmod(out.name, 0o644)  # a temporary file is private; a served asset is not
    os.replace(out.name, folder / FILE)
    return folder / FILE


def ensure(cache_dir: Path, timeout_s: float = 60.0) -> Path:
    """The bundle's assets folder, fetching the bundle on first use."""
    folder = assets_dir(cache_dir)
    if not (folder / FILE).is_file():
        fetch(cache_dir, timeout_s=timeout_s)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m basket_dashboard.plotly_bundle",
        description="Fetch plotly.js's basic bundle for the dashboard into the cache.",
    )
    parser.add_argument("command", choices=["fetch"])
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache"))
    args = parser.parse_args(argv)
    try:
        folder = ensure(args.cache_dir)
    except BundleError as exc:
        parser.exit(1, f"error: {exc}\n")
    size = (folder / FILE).stat().st_size
    print(f"plotly.js basic bundle {plotlyjs_version()} ({size / 1e6:.1f} MB) in {folder}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
