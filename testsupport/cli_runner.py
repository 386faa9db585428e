"""The `billing` executable as a user runs it: beside this interpreter, in an
environment without the caller's own settings; and what a user reads of a run (its
output, its JSON, a refusal, a usage error), checked as CONTRACT.md §5 says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

BILLING = Path(sys.executable).with_name("billing")
TIMEOUT_SECONDS = 60
# The variables `Settings.from_environment` reads: a developer's own must not leak in.
_SETTING_PREFIXES = ("BILLING_", "POSTGRES_")


def clean_env(**settings: str) -> dict[str, str]:
    """The caller's environment without any BILLING_* or POSTGRES_* variable, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_SETTING_PREFIXES)}
    env.update(settings)
    return env


def billing(
    cwd: Path | None,
    *args: str,
    stdin: bytes | str | None = None,
    text: bool = False,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
    **settings: str,
) -> subprocess.CompletedProcess:
    """Runs `billing ARGS` in `cwd` to its end, output captured. `env` is the whole
    environment (default: `clean_env()`), `settings` extra variables on top of it;
    stdin is `stdin`, or empty."""
    assert BILLING.is_file(), f"no `billing` executable beside {sys.executable}: install the package"
    environment = dict(clean_env() if env is None else env) | settings
    if stdin is None:
        stdin = "" if text else b""
    return subprocess.run(
        [str(BILLING), *args], cwd=cwd, env=environment, input=stdin, capture_output=True, text=text, timeout=timeout
    )


def clocked(now: str) -> Callable[..., subprocess.CompletedProcess]:
    """`billing` with the store's clock fixed at `now` (BILLING_NOW): the returned
    runner takes `billing`'s arguments, and `now=` (or BILLING_NOW=) for another instant."""

    def run(cwd: Path | None, *args: str, now: str = now, **options: Any) -> subprocess.CompletedProcess:
        return billing(cwd, *args, **({"BILLING_NOW": now} | options))

    return run


# --- what a user reads of a run (output as bytes: `text=False`) ------------------------


def out(result: subprocess.CompletedProcess) -> str:
    """What the command printed on stdout."""
    return result.stdout.decode("utf-8")


def loads(result: subprocess.CompletedProcess) -> Any:
    """The JSON a command printed, which must be one line."""
    text = out(result)
    assert text.endswith("\n") and text.count("\n") == 1, text
    return json.loads(text)


def succeeded(result: subprocess.CompletedProcess) -> Any:
    """The JSON (one line) of a command that must exit 0."""
    assert result.returncode == 0, (result.args[1:], result.returncode, result.stderr.decode("utf-8"))
    return loads(result)


def assert_refused(result: subprocess.CompletedProcess, code: str, *words: str) -> str:
    """A refusal: exit 1, nothing on stdout, one line on stderr beginning with its code
    (and holding each of `words`); returns that line."""
    error = result.stderr.decode("utf-8")
    assert result.returncode == 1, (result.returncode, out(result), error)
    assert result.stdout == b"", out(result)
    assert error.startswith(f"{code}: ") and error.endswith("\n") and error.count("\n") == 1, error
    for word in words:
        assert word in error, error
    return error


def assert_usage_failure(result: subprocess.CompletedProcess, *words: str) -> str:
    """A usage error: exit 2, nothing on stdout, exactly one line on stderr (holding each
    of `words`), no traceback; returns that line."""
    error = result.stderr.decode("utf-8")
    assert result.returncode == 2, (result.returncode, out(result), error)
    assert result.stdout == b""
    assert error.endswith("\n") and error.count("\n") == 1, error
    assert "Traceback" not in error
    for word in words:
        assert word in error, error
    return error
