"""The ``basket`` console script ends without the interpreter's teardown
(:func:`basket.cli.leave`), and loses nothing an ordinary exit would keep: its exit
status, its output down a pipe, the ``atexit`` functions, logging's buffers, the work of
threads still running, and what sits in the buffers of files left open."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

# stdout block-buffered, as a command's is down a pipe, whatever this shell sets
ENV = {
    k: v for k, v in os.environ.items() if not k.startswith("BASKET_") and k != "PYTHONUNBUFFERED"
} | {"PYTHONPATH": str(REPO_ROOT)}

EXITS = """
import atexit, logging, sys, threading, time
from pathlib import Path
from basket.cli import leave

out = Path(sys.argv[1])
logging.basicConfig(filename=out / "log.txt", level=logging.INFO)
logging.getLogger("probe").info("logged before the exit")
atexit.register(lambda: (out / "atexit.txt").write_text("ran"))

def late_writer():
    time.sleep(0.5)
    (out / "thread.txt").write_text("finished")

threading.Thread(target=late_writer).start()

from concurrent.futures import ThreadPoolExecutor
pool = ThreadPoolExecutor(2)  # left open, its workers idle: an exit wakes and joins them
assert pool.submit(lambda: 41 + 1).result() == 42

left_open = open(out / "open.txt", "w")  # never closed: teardown would flush it
left_open.write("still buffered")
print("x" * 200_000)
leave(sys.argv[2] if not sys.argv[2].isdigit() else int(sys.argv[2]))
"""


@pytest.mark.parametrize(("code", "status"), [("0", 0), ("3", 3), ("no such thing", 1)])
def test_leave_keeps_what_an_exit_keeps(tmp_path: Path, code: str, status: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EXITS, str(tmp_path), code],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == status, done.stderr
    assert done.stdout == "x" * 200_000 + "\n"  # all of it, flushed down the pipe
    assert (tmp_path / "thread.txt").read_text() == "finished"
    assert (tmp_path / "atexit.txt").read_text() == "ran"
    assert "logged before the exit" in (tmp_path / "log.txt").read_text()
    assert (tmp_path / "open.txt").read_text() == "still buffered"
    if status == 1:
        assert done.stderr.strip() == code  # SystemExit's message, as Python prints it


def test_the_console_script_exits_with_the_command_status(tmp_path: Path) -> None:
    """``python -m basket.cli`` runs :func:`basket.cli.console`: help on stdout and 0, a
    mistyped flag one usage line and 2, as click says."""
    command = [sys.executable, "-m", "basket.cli"]
    shown = subprocess.run(
        [*command, "--help"], env=ENV, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "Usage: basket" in shown.stdout
    wrong = subprocess.run(
        [*command, "mine", "--min-suport", "0.1"],
        env=ENV,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 2
    assert "No such option '--min-suport'" in wrong.stderr and "Traceback" not in wrong.stderr


def test_output_cut_off_by_a_closed_pipe_is_not_an_error() -> None:
    """``basket ... | head``: the reader has gone when the last output is flushed; the
    command neither tracebacks nor reports Python's 'Exception ignored' on its way out."""
    script = "from basket.cli import leave\nprint('y' * 1000)\nleave(0)\n"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=ENV,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
