"""The `billing` executable as a user runs it: beside this interpreter, in an
environment without the caller's own settings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

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
