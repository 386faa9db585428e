"""`billing web` as a user runs it: a subprocess on a free port of the loopback, for the
browser tests, the API fuzzing and the bench."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BILLING = Path(sys.executable).with_name("billing")
_SERVING = re.compile(r"serving http://([^/]+)/")


def billing_json(store_url: str, *args: str) -> object:
    """What `billing ARGS --json` prints."""
    result = subprocess.run([str(BILLING), "--store", store_url, *args, "--json"], capture_output=True, timeout=120,
                            env=_env())
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def make_token(store_url: str, role: str, *scope: str) -> str:
    return billing_json(store_url, "token", "create", "--role", role, *scope)["token"]


@contextmanager
def running_web(store_url: str, log_path: Path, startup_seconds: float = 60) -> Iterator[str]:
    """Starts `billing web --port 0` and yields its base URL; stops it after."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(BILLING), "--store", store_url, "web", "--port", "0"], stdout=log,
                                   stderr=subprocess.STDOUT, env=_env())
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            found = _SERVING.search(log_path.read_text(errors="replace"))
            if found:
                break
            assert process.poll() is None, f"billing web exited: {log_path.read_text(errors='replace')}"
            assert time.monotonic() < deadline, "billing web did not start"
            time.sleep(0.05)
        yield f"http://{found.group(1)}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("BILLING_")}
