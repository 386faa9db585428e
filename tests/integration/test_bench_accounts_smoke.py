"""`python -m bench.accounts` on a few transfers: every figure is there and positive.
No timing is asserted (the target is the full run's, on a quiet machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_ledger_bench_measures_every_figure(tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.accounts",
            "--transfers",
            "400",
            "--batch",
            "150",
            "--partners",
            "7",
            "--cli",
            "1",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: the wall-clock target missed, not a failure here
    figures = json.loads(out.read_text())["figures"]
    assert set(figures) == {
        "transfers_per_s_handler",
        "transfers_per_cpu_s_handler",
        "transfers_per_s_cli",
        "transfers_per_cpu_s_cli",
    }
    assert all(figure["value"] > 0 for figure in figures.values())
    assert "transfers through the handler" in done.stdout
