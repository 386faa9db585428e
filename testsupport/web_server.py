"""`billing web` as a user runs it: a subprocess on a free port of the loopback, for the
API benchmark, the browser tests and the API fuzzing."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testsupport.cli_runner import BILLING, clean_env

_SERVING = re.compile(r"serving http://([^/]+)/")


@contextmanager
def serve_web(store_url: str, log_path: Path, *options: str, startup_seconds: float = 60) -> Iterator[str]:
    """Runs `billing web --port 0 OPTIONS` over the store; yields its base URL, stops it after."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(BILLING), "--store", store_url, "web", "--port", "0", *options],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=clean_env(),
        )
    try:
        deadline = time.monotonic() + startup_seconds
        while not (found := _SERVING.search(log_path.read_text(errors="replace"))):
            if process.poll() is not None:
                raise RuntimeError(f"billing web exited: {log_path.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise RuntimeError("billing web did not start")
            time.sleep(0.05)
        yield f"http://{found.group(1)}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
