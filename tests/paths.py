"""Where the checkout is, for tests that read its files (compose, IAM, docs, dags)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = REPO_ROOT / "tests"
