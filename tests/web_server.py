"""`billing web` as a user runs it (`testsupport.web_server.serve_web`, the launcher the
API benchmark uses too), for the browser tests and the API fuzzing, and the CLI's JSON
to compare their answers with."""

from __future__ import annotations

import json
from pathlib import Path

from testsupport.cli_runner import billing
from testsupport.web_server import serve_web


def billing_json(store_url: str, *args: str) -> object:
    """What `billing ARGS --json` prints."""
    result = billing(None, "--store", store_url, *args, "--json", timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def make_token(store_url: str, role: str, *scope: str) -> str:
    return billing_json(store_url, "token", "create", "--role", role, *scope)["token"]


def running_web(store_url: str, log_path: Path, *options: str):
    """`billing web --port 0 OPTIONS` over the store: a context yielding its base URL."""
    return serve_web(store_url, log_path, *options)
