"""The demo's "Try next" lines run as printed, in the same folder, without activating
the venv (issue 12: they said `billing`, which was not on PATH)."""

from __future__ import annotations

import os
import shlex
import subprocess

from testsupport.cli_runner import BILLING, clean_env


def test_the_try_next_lines_of_the_demo_run_as_printed(tmp_path):
    env = clean_env(PATH="/usr/bin:/bin")  # the venv not activated: `billing` is not on PATH
    relative = os.path.relpath(BILLING, tmp_path)
    demo = subprocess.run(
        [relative, "demo", "--customers", "20"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert demo.returncode == 0, demo.stderr
    hints = [line.split("#")[0].strip() for line in demo.stdout.split("Try next:")[1].splitlines() if line.strip()]
    assert len(hints) >= 5
    for hint in hints:
        ran = subprocess.run(shlex.split(hint), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert ran.returncode == 0 and ran.stdout, (hint, ran.stderr)
