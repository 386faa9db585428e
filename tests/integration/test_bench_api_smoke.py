"""`python -m bench.api` on a small demo store for a second: every figure is there, the
requests were all answered 200, and both endpoints were measured; then a second of
POST /transfers, with nothing lost or doubled. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_api_bench_measures_both_endpoints_with_no_failure(tmp_path):
    out = tmp_path / "api.json"
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.api",
            "--customers",
            "40",
            "--clients",
            "2",
            "--seconds",
            "1",
            "--transfer-seconds",
            "1",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:] + finished.stdout[-2000:]
    figures = json.loads(out.read_text())
    assert figures["failures"] == 0 and figures["clients"] == 2 and figures["view_cache"] is True
    assert set(figures["endpoints"]) == {"performance", "bills"}
    for values in [*figures["endpoints"].values(), figures["overall"]]:
        assert values["requests"] > 0 and 0 < values["p50_ms"] <= values["p99_ms"] <= values["max_ms"]
    assert "req/s" in finished.stdout
    writes = figures["transfers"]
    assert writes["ok"] and writes["answers"] > 0 and writes["recorded"] == writes["answered_201"] > 0
    assert (writes["lost"], writes["doubled"], writes["repeat_mismatches"]) == (0, 0, 0)
    assert writes["ledger_total"] == "0.00" and "lost 0, doubled 0" in finished.stdout
