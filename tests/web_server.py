"""`billing web` as a user runs it (a subprocess on a free port of the loopback, started
by the bench's own launcher, `bench.api.serve_web`), for the browser tests and the API
fuzzing, and the CLI's JSON to compare their answers with."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from bench.api import BILLING, serve_web


def billing_json(store_url: str, *args: str) -> object:
    """What `billing ARGS --json` prints."""
    result = subprocess.run([str(BILLING), "--store", store_url, *args, "--json"], capture_output=True, timeout=120,
                            env=_env())
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def make_token(store_url: str, role: str, *scope: str) -> str:
    return billing_json(store_url, "token", "create", "--role", role, *scope)["token"]


def running_web(store_url: str, log_path: Path, *options: str):
    """`billing web --port 0 OPTIONS` over the store: a context yielding its base URL."""
    return serve_web(store_url, log_path, *options)


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("BILLING_")}
