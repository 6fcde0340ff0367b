"""The dashboard in a real browser: Debian's Chromium driven by Playwright (never a
downloaded browser), over the known sample results, served by ``basket dashboard``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from basket_dashboard import plotly_bundle
from basket_devtools import sample_results
from tests.paths import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = REPO_ROOT

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


def expected_rules(run: sample_results.SampleRun) -> list[dict[str, Any]]:
    return [
        sample_results.rule_row(seg, a, c, run.counts)
        for seg, pairs in run.rules.items()
        for a, c in pairs
    ]


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("dash-results")
    sample_results.write_sample(root)
    with serve_dashboard(root, tmp_path_factory.mktemp("dash-cwd"), timeout_s=60) as url:
        yield url


@contextmanager
def serve_dashboard(root: Path, cwd: Path, *, timeout_s: float) -> Iterator[str]:
    """``basket dashboard`` over the results under ``root`` on a free 127.0.0.1 port, in a
    fresh working folder with no BASKET_* variables (no developer's basket.toml) but the
    project's cache (where ``make setup`` put plotly.js's basic bundle); its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASKET_")}
    env["BASKET_PATHS__CACHE_DIR"] = str(ROOT / ".cache")
    proc = subprocess.Popen(
        [sys.executable, "-m", "basket.cli", "dashboard", "--output", str(root), "--port", "0"],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield _wait_for_url(proc, timeout_s=timeout_s)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_for_url(proc: subprocess.Popen[str], timeout_s: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if m:
            return m.group(1)
    raise AssertionError(f"dashboard did not start: {''.join(seen)}")


@pytest.fixture(scope="module")
def errors() -> list[str]:
    """JavaScript errors and console errors the page reported."""
    return []


@pytest.fixture(scope="module")
def scripts() -> list[str]:
    """The URLs of the scripts the page loaded."""
    return []


@pytest.fixture(scope="module")
def page(dashboard_url: str, errors: list[str], scripts: list[str]) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        pg = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        pg.set_default_timeout(20_000)
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        pg.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
        pg.goto(dashboard_url)
        yield pg
        browser.close()


def _wait_rows(page: Any, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#rules-table tbody tr:has(td)').length === n", arg=n
    )


def test_headline_figures_match_the_data(page: Any) -> None:
    run = sample_results.SAMPLE_RUNS[-1]
    expected = {
        "baskets": sample_results.N_BASKETS * len(run.counts),
        "distinct_items": len({i for s in run.counts.values() for k in s for i in k}),
        "itemsets": sum(len(s) for s in run.counts.values()),
        "rules": len(expected_rules(run)),
        "rejected_rows": 10,
        "input_rows": 1000,
    }
    page.wait_for_selector("#headline-baskets .value")
    for key, value in expected.items():
        assert page.inner_text(f"#headline-{key} .value") == f"{value:,}", key
    _wait_rows(page, expected["rules"])
    assert page.inner_text("#rules-count").startswith(f"{expected['rules']} rules match")
    # the strongest rule first, as the query ranks them
    first = page.locator("#rules-table tbody tr:has(td)").first.inner_text()
    assert "eggs" in first and "milk" in first and "2.00" in first


def test_a_filter_changes_the_rules_table(
    page: Any, errors: list[str], artifacts_dir: Path
) -> None:
    rules = expected_rules(sample_results.SAMPLE_RUNS[-1])
    _wait_rows(page, len(rules))
    page.fill("#min-lift", "1.5")
    page.press("#min-lift", "Enter")
    strong = [r for r in rules if r["lift"] >= 1.5]
    assert 0 < len(strong) < len(rules)
    _wait_rows(page, len(strong))
    lifts = page.locator("#rules-table tbody td[data-dash-column=lift]").all_inner_texts()
    assert all(float(v) >= 1.5 for v in lifts)

    page.fill("#item-search", "EGG")
    page.press("#item-search", "Enter")
    eggs = [r for r in strong if "eggs" in r["antecedent"] + r["consequent"]]
    _wait_rows(page, len(eggs))

    with page.expect_download() as info:
        page.click("#download-button")
    csv_text = Path(info.value.path()).read_text()
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("segment,antecedent,consequent,support,confidence,lift")
    assert len(lines) == 1 + len(eggs)

    page.fill("#item-search", "")
    page.press("#item-search", "Enter")
    _wait_rows(page, len(strong))
    page.wait_for_selector("#network .main-svg")
    page.wait_for_selector("#changes-table")
    page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
    assert errors == []


def test_graphs_draw_with_the_basic_plotly_bundle(page: Any, scripts: list[str]) -> None:
    """The page has plotly.js's basic bundle, and the graphs never fetch the full one."""
    page.wait_for_selector("#network .main-svg")
    page.wait_for_selector("#scatter .main-svg")
    page.wait_for_selector("#itemsets-chart .main-svg")
    assert any(u.split("?")[0].endswith("/plotly-basic.min.js") for u in scripts), scripts
    assert not [u for u in scripts if u.split("?")[0].endswith("/plotly.min.js")]
    assert page.evaluate("() => Object.keys(window.Plotly.PlotSchema.get().traces).sort()") == (
        sorted(plotly_bundle.TRACE_TYPES)
    )


def test_significance_and_redundancy_filters(page: Any, errors: list[str]) -> None:
    rules = sample_results.rule_rows(sample_results.COUNTS_B, sample_results.RULES_B)
    page.fill("#min-lift", "0")
    page.press("#min-lift", "Enter")
    _wait_rows(page, len(rules))
    flags = page.locator("#rules-table tbody td[data-dash-column=redundant]").all_inner_texts()
    assert sorted(flags) == sorted("yes" if r["redundant"] else "no" for r in rules)
    page.locator("#hide-redundant input").check()
    kept = [r for r in rules if not r["redundant"]]
    assert 0 < len(kept) < len(rules)
    _wait_rows(page, len(kept))
    assert set(
        page.locator("#rules-table tbody td[data-dash-column=redundant]").all_inner_texts()
    ) == {"no"}
    page.fill("#max-p", "0.000001")
    page.press("#max-p", "Enter")
    significant = [r for r in kept if r["fisher_p_adjusted"] <= 1e-6]
    assert 0 < len(significant) < len(kept)
    _wait_rows(page, len(significant))
    # back to the state the next test starts from
    page.fill("#max-p", "1")
    page.press("#max-p", "Enter")
    page.locator("#hide-redundant input").uncheck()
    page.fill("#min-lift", "1.5")
    page.press("#min-lift", "Enter")
    _wait_rows(page, sum(1 for r in rules if r["lift"] >= 1.5))
    assert errors == []


def test_what_changed_panel(page: Any, errors: list[str]) -> None:
    run = sample_results.SAMPLE_RUNS[-1]
    changes = sample_results.rule_change_rows(sample_results.SAMPLE_RUNS[0], run)
    page.wait_for_selector("#changes-table")
    for kind in ("new", "strengthened", "weakened", "gone"):
        n = sum(1 for c in changes if c["change"] == kind)
        assert page.inner_text(f"#changes-{kind} .value") == str(n), kind
    assert page.locator("#changes-table tbody tr:has(td)").count() == len(changes)
    first = page.locator("#changes-table tbody tr:has(td)").first.inner_text()
    assert first.startswith("new") and "eggs" in first
    assert sample_results.RUN_A in page.inner_text("#changes-summary")
    assert errors == []


def test_run_picker_and_bought_together_lookup(page: Any, errors: list[str]) -> None:
    older = sample_results.SAMPLE_RUNS[0]
    page.click("#run")
    page.get_by_role("option", name=re.compile(older.run_id)).click()
    _wait_rows(page, sum(1 for r in expected_rules(older) if r["lift"] >= 1.5))
    page.wait_for_function(
        "n => document.querySelector('#headline-rules .value').innerText === String(n)",
        arg=len(expected_rules(older)),
    )
    assert "No rule changes recorded" in page.inner_text("#changes")

    page.click("#lookup-item")
    page.get_by_role("option", name="bread", exact=True).click()
    page.wait_for_selector("#lookup-table")
    text = page.inner_text("#lookup-table")
    assert "butter" in text and "milk" in text
    assert errors == []
