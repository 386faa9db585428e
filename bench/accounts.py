"""`python -m bench.accounts`: transfers per second through the ledger (CONTRACT.md §8).

    python -m bench.accounts [--transfers N] [--batch N] [--partners N] [--cli N]
                             [--store URL] [--out bench-accounts.json]

Two figures on a fresh store: (1) the handler, `commands.accounts.transfer_batch`, in
batches of `--batch` transfers a transaction (a top-up, then withdrawals and incentive
credits spread over `--partners` partners, every one judged: id, funds, the warning's
edge, the inline projection's tables), target ≥ 20,000 transfers/s on SQLite; (2) the
command line one transfer at a time, `billing transfer topup` in a fresh process each
(interpreter start-up, opening the store and one transaction), for reference. Each is
given by the wall clock and by CPU time (on a machine shared with other work the wall
clock shows the others' load too). The table goes to stdout, the figures as JSON to
--out; the exit status is 1 when the handler's wall-clock target is missed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.child import REPO, billing
from bench.report import as_json, figure, machine, machine_line, table

HANDLER_TARGET_PER_S = 20_000


def _requests(rules, count: int, partners: int) -> list:
    """A top-up for each partner, then withdrawals and incentives (each funded)."""
    from commands import accounts

    requests = [accounts.transfer_request(rules, "topup", f"p-{p}", "1000000", f"t-{p}") for p in range(partners)]
    kinds = ("withdrawal", "incentive", "topup")
    for n in range(count - partners):
        kind = kinds[n % 3]
        requests.append(
            accounts.transfer_request(
                rules, kind, f"p-{n % partners}", "1.25", f"x-{n}", "bench" if n % 10 == 0 else None
            )
        )
    return requests


def measure_handler(store_url: str, count: int, batch: int, partners: int) -> tuple[float, float]:
    """Transfers per second through `transfer_batch`, batches of `batch`: by the wall
    clock, and by this process's CPU time (what a machine shared with other work still
    shows of the code's own cost)."""
    from commands import accounts
    from commands.bootstrap import open_engine
    from commands.settings import Settings

    with open_engine(Settings(store_url=store_url), create=True) as engine:
        accounts.warn(engine, "p-0", 100 * 10**8)  # a threshold on the way, as in life
        requests = _requests(engine.rules, count, partners)
        started, started_cpu = time.perf_counter(), time.process_time()
        refused = 0
        for start in range(0, len(requests), batch):
            results = accounts.transfer_batch(engine, requests[start : start + batch])
            refused += sum(1 for r in results if not hasattr(r, "value"))
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
        assert refused == 0, f"{refused} transfers refused"
        assert accounts.ledger(engine).total.strip("0.") == "", "the ledger is out of balance"
    return count / seconds, count / cpu_seconds


def measure_cli(store_url: str, count: int) -> tuple[float, float]:
    """Transfers per second through `billing transfer topup`, one process each: by the
    wall clock and by the children's CPU time."""
    started, children = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    for n in range(count):
        done = subprocess.run(
            billing(
                "--store", store_url, "transfer", "topup", "--partner", "p-cli", "--amount", "10", "--id", f"cli-{n}"
            ),
            cwd=REPO,
            capture_output=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode())
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = used.ru_utime + used.ru_stime - children.ru_utime - children.ru_stime
    return count / (time.perf_counter() - started), count / cpu_seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accounts", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--transfers", type=int, default=100_000, help="transfers through the handler (default 100,000)"
    )
    parser.add_argument("--batch", type=int, default=5_000, help="transfers a transaction (default 5,000)")
    parser.add_argument("--partners", type=int, default=100, help="partners the transfers spread over (default 100)")
    parser.add_argument("--cli", type=int, default=50, help="transfers through the CLI, one process each (default 50)")
    parser.add_argument("--store", help="a store URL to use (default: a fresh SQLite file in a temporary folder)")
    parser.add_argument("--out", default="bench-accounts.json", help="where to write the figures as JSON")
    args = parser.parse_args(argv)
    if min(args.transfers, args.batch, args.partners) < 1 or args.transfers < args.partners:
        parser.error("--transfers, --batch and --partners must be at least 1, --transfers at least --partners")
    with tempfile.TemporaryDirectory(prefix="bench-accounts-") as folder:
        handler_url = args.store or f"sqlite:///{Path(folder) / 'handler.db'}"
        cli_url = args.store or f"sqlite:///{Path(folder) / 'cli.db'}"
        per_s, per_cpu_s = measure_handler(handler_url, args.transfers, args.batch, args.partners)
        cli_per_s, cli_per_cpu_s = measure_cli(cli_url, args.cli) if args.cli else (None, None)
    figures = [
        figure(
            "transfers_per_s_handler",
            f"transfers through the handler, batches of {args.batch:,}",
            per_s,
            "transfers/s",
            at_least=HANDLER_TARGET_PER_S,
            target=f"≥ {HANDLER_TARGET_PER_S:,}",
        ),
        figure("transfers_per_cpu_s_handler", "  the same, by the process's CPU time", per_cpu_s, "transfers/s"),
        figure(
            "transfers_per_s_cli", "transfers through `billing transfer`, one process each", cli_per_s, "transfers/s"
        ),
        figure("transfers_per_cpu_s_cli", "  the same, by the processes' CPU time", cli_per_cpu_s, "transfers/s"),
    ]
    facts = machine()
    print(machine_line(facts))
    print(table(figures))
    Path(args.out).write_text(
        json.dumps({"machine": facts, "figures": as_json(figures), "settings": vars(args)}, indent=2) + "\n",
        encoding="utf-8",
    )
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
