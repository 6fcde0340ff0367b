"""Local service processes (Kafka broker, Trino, ...): ports, liveness, clean stop and
the small JSON state file that lets another command find and stop a server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def free_port(host: str) -> int:
    """A port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int, timeout: float) -> None:
    """SIGTERM (a clean shutdown), then SIGKILL after ``timeout`` seconds."""
    if not alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # reap it if it is our child
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        if not alive(pid):
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def read_state(path: Path, factory: Callable[..., T]) -> T | None:
    """The server recorded at ``path`` (a JSON object with a ``pid``) if its process is
    still alive; a stale file is removed."""
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    if not alive(int(data["pid"])):
        path.unlink(missing_ok=True)
        return None
    return factory(**data)


def stop_server(proc: subprocess.Popen[bytes] | None, state_file: Path, timeout: float) -> None:
    """Stop a server this process started (``proc``) or, failing that, the one recorded in
    ``state_file`` by another process; then forget its state."""
    pid = proc.pid if proc is not None else None
    if pid is None and state_file.is_file():
        data = json.loads(state_file.read_text())
        pid = int(data["pid"]) if alive(int(data["pid"])) else None
    if pid is not None:
        stop_pid(pid, timeout)
    if proc is not None:
        proc.wait()
    state_file.unlink(missing_ok=True)
