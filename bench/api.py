"""`python -m bench.api`: the HTTP API under load (CONTRACT.md §10).

    python -m bench.api [--store URL] [--clients 16] [--seconds 20] [--transfer-seconds 20] [--out bench-api.json]

`billing web` serves the demo store (`billing demo`, made in a temporary folder unless
--store names one) in its own process; this process runs --clients concurrent clients,
each on one keep-alive HTTP/1.1 connection, each sending its next request as soon as the
last answer is read, for --seconds after a 2 s warm-up. They read as a partner would
(a partner token): its performance, and one of its customers' bills, in turn. Prints
requests/s and latency percentiles per endpoint and overall; the figures go to --out.
Targets: ≥ 1,000 requests/s overall with p99 ≤ 50 ms.

Then, for --transfer-seconds, the same clients POST transfers (`bench.api_transfers`):
top-ups and withdrawals of one partner, some sent twice under one id; the store is
checked afterwards for lost or doubled transfers and a balance that adds up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.api_transfers import check_ledger, run_transfers, transfers_ok
from testsupport.cli_runner import BILLING, clean_env
from testsupport.web_server import serve_web

TARGET_REQUESTS_PER_S, TARGET_P99_MS = 1_000, 50
WARM_UP_SECONDS = 2.0


def cli_json(store_url: str, *args: str) -> dict:
    result = subprocess.run(
        [str(BILLING), "--store", store_url, *args, "--json"], capture_output=True, check=True, env=clean_env()
    )
    return json.loads(result.stdout)


async def _client(
    host: str,
    port: int,
    requests: list[tuple[str, bytes]],
    stop_at: float,
    warm_until: float,
    latencies: dict[str, list[float]],
    failures: list[str],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    index = 0
    try:
        while (now := time.perf_counter()) < stop_at:
            name, request = requests[index % len(requests)]
            index += 1
            writer.write(request)
            status, _body = await _read_response(reader)
            took = time.perf_counter() - now
            if status != 200:
                failures.append(f"{name}: {status}")
            elif now >= warm_until:
                latencies[name].append(took)
    finally:
        writer.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(b":", 1)[1]) for line in lines[1:] if line.lower().startswith(b"content-length:"))
    return status, await reader.readexactly(length)


def _requests(host: str, token: str, partner: str, period: str, customers: list[str]) -> list[tuple[str, bytes]]:
    def get(path: str) -> bytes:
        return (
            f"GET /api/v1/{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: application/json\r\n\r\n"
        ).encode()

    requests = []
    for customer in customers:
        requests.append(("performance", get(f"performance?partner={partner}&period={period}")))
        requests.append(("bills", get(f"bills?period={period}&customer={customer}")))
    return requests


def run_load(base: str, requests: list[tuple[str, bytes]], clients: int, seconds: float) -> dict:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    latencies: dict[str, list[float]] = {name: [] for name, _ in requests}
    failures: list[str] = []

    async def run() -> None:
        start = time.perf_counter()
        warm_until, stop_at = start + WARM_UP_SECONDS, start + WARM_UP_SECONDS + seconds
        await asyncio.gather(
            *(
                _client(
                    host.strip("[]"), int(port), requests[i:] + requests[:i], stop_at, warm_until, latencies, failures
                )
                for i in range(clients)
            )
        )

    asyncio.run(run())
    return _figures(latencies, failures, seconds, clients)


def _figures(latencies: dict[str, list[float]], failures: list[str], seconds: float, clients: int) -> dict:
    def summary(values: list[float]) -> dict:
        ordered = sorted(values)

        def pick(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2) if ordered else 0.0

        return {
            "requests": len(ordered),
            "requests_per_s": round(len(ordered) / seconds, 1),
            "p50_ms": pick(0.50),
            "p90_ms": pick(0.90),
            "p99_ms": pick(0.99),
            "max_ms": pick(1.0),
        }

    every = [value for values in latencies.values() for value in values]
    overall = summary(every)
    return {
        "clients": clients,
        "seconds": seconds,
        "failures": len(failures),
        "failure_examples": failures[:5],
        "overall": overall,
        "endpoints": {name: summary(values) for name, values in latencies.items()},
        "targets": {
            "requests_per_s": TARGET_REQUESTS_PER_S,
            "p99_ms": TARGET_P99_MS,
            "met": overall["requests_per_s"] >= TARGET_REQUESTS_PER_S and overall["p99_ms"] <= TARGET_P99_MS,
        },
    }


def demo_store(folder: Path, customers: int) -> str:
    url = f"sqlite:///{folder / 'billing.db'}"
    subprocess.run(
        [str(BILLING), "--store", url, "demo", "--customers", str(customers), "--out", str(folder / "demo.jsonl")],
        capture_output=True,
        check=True,
        env=clean_env(),
    )
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", help="an existing store URL (default: a fresh demo store)")
    parser.add_argument("--partner", default="dist-huabei", help="the partner whose token reads (default %(default)s)")
    parser.add_argument("--period", default="2026-10", help="the period read (default %(default)s)")
    parser.add_argument("--customers", type=int, default=300, help="customers of the demo store (default %(default)s)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds (default %(default)s)")
    parser.add_argument("--out", default="bench-api.json", help="where the figures go (default %(default)s)")
    parser.add_argument(
        "--transfer-seconds",
        type=float,
        default=20,
        help="seconds of POST /transfers after the reads; 0 skips them (default %(default)s)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="serve with `billing web --no-cache` "
        "(every answer computed afresh; default: answers kept while the log stands still)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as temporary:
        folder = Path(temporary)
        url = args.store or demo_store(folder, args.customers)
        token = cli_json(url, "token", "create", "--role", "partner", "--partner", args.partner, "--name", "bench.api")[
            "token"
        ]
        details = cli_json(url, "performance", "--partner", args.partner, "--period", args.period)["details"]
        customers = [row["customer_id"] for row in details] or ["nobody"]
        with serve_web(url, folder / "web.log", *(["--no-cache"] if args.no_cache else [])) as base:
            host = base.removeprefix("http://")
            figures = run_load(
                base, _requests(host, token, args.partner, args.period, customers), args.clients, args.seconds
            )
            if args.transfer_seconds > 0:
                figures["transfers"] = _transfers(base, url, args.clients, args.transfer_seconds)
    figures |= {
        "store": "demo" if args.store is None else "given",
        "partner": args.partner,
        "period": args.period,
        "view_cache": not args.no_cache,
    }
    Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    print(_table(figures))
    writes_ok = "transfers" not in figures or figures["transfers"]["ok"]
    return 0 if figures["failures"] == 0 and writes_ok else 1


def _transfers(base: str, url: str, clients: int, seconds: float) -> dict:
    """POST /transfers from the clients, then the ledger checked (`bench.api_transfers`)."""
    partner = f"bench-transfers-{int(time.time())}"
    token = cli_json(url, "token", "create", "--role", "partner", "--partner", partner, "--name", "bench.api")["token"]
    tally = run_transfers(base, token, partner, clients, seconds, _read_response)
    checked = check_ledger(tally, partner, lambda *args: cli_json(url, *args))
    answered = len(tally.latencies)
    summary = _figures({"transfers": tally.latencies}, tally.failures, seconds, clients)["overall"]
    return {
        **summary,
        "seconds": seconds,
        "answers": answered,
        "failures": len(tally.failures),
        "failure_examples": tally.failures[:5],
        "partner": partner,
        **checked,
        "ok": transfers_ok(checked) and not tally.failures,
    }


def _table(figures: dict) -> str:
    rows = [("endpoint", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms")]
    for name, values in [*figures["endpoints"].items(), ("overall", figures["overall"])]:
        rows.append(
            (
                name,
                values["requests"],
                values["requests_per_s"],
                values["p50_ms"],
                values["p90_ms"],
                values["p99_ms"],
                values["max_ms"],
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    target = figures["targets"]
    if "transfers" in figures:
        w = figures["transfers"]
        lines.append(
            f"POST /transfers: {w['answers']} answers in {w['seconds']} s ({w['requests_per_s']} req/s, "
            f"p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms); "
            f"recorded {w['recorded']} of {w['answered_201']} answered 201, lost {w['lost']}, "
            f"doubled {w['doubled']}, repeats {w['repeats']} (mismatched {w['repeat_mismatches']}), "
            f"refused {w['refused']}; balance {w['balance']} (expected {w['expected_balance']}), "
            f"ledger total {w['ledger_total']}: {'OK' if w['ok'] else 'FAILED'}"
        )
    cache = "on" if figures["view_cache"] else "off"
    lines.append(
        f"{figures['clients']} clients, {figures['seconds']} s, view cache {cache}, "
        f"failures {figures['failures']}; "
        f"target >= {target['requests_per_s']} req/s with p99 <= {target['p99_ms']} ms: "
        f"{'met' if target['met'] else 'NOT met'}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
