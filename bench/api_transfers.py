"""The write half of `python -m bench.api`: POST /api/v1/transfers from concurrent
clients (CONTRACT.md §8, §10), then the ledger is checked for lost or doubled transfers.

Each client, on its own keep-alive connection, sends top-ups and withdrawals of one
partner's prepaid account (a partner token, as the console sends them), each under a
fresh id, and every tenth request again with the same id and content, as a client
retrying after a lost answer would. Withdrawals race the top-ups and each other, so
some are refused (409 `insufficient_funds`). Afterwards, from what the CLI reads:
- every id answered 201 is recorded exactly once, and no other id of the run is;
- every repeat was answered 200 with the first answer's body, and recorded nothing;
- the partner's balance is the answered top-ups less the answered withdrawals, never
  below zero was allowed, and the ledger's accounts sum to zero.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal

RETRY_EVERY = 10


@dataclass
class Tally:
    """What the clients were answered."""

    recorded: dict[str, tuple[str, Decimal]] = field(default_factory=dict)  # id -> (kind, amount)
    refused: dict[str, int] = field(default_factory=dict)  # refusal code -> count
    repeats: int = 0
    repeat_mismatches: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    run: str = ""  # the prefix of this run's ids


def _request(host: str, token: str, body: bytes) -> bytes:
    return (
        f"POST /api/v1/transfers HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _transfer(run: str, client: int, number: int, partner: str) -> dict:
    """Two top-ups, then a withdrawal larger than both on average: the account runs near
    empty and withdrawals racing each other are refused often."""
    kind = "withdrawal" if number % 3 == 2 else "topup"
    spread = (client * 7 + number) % 50
    amount = Decimal(60 + spread) + Decimal("0.25") if kind == "withdrawal" else Decimal(10 + spread) + Decimal("0.01")
    return {"kind": kind, "partner_id": partner, "amount": str(amount), "id": f"{run}-{client}-{number}"}


async def _client(
    host: str, port: int, token: str, run: str, client: int, partner: str, stop_at: float, tally: Tally, read_response
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    number = 0
    try:
        while time.perf_counter() < stop_at:
            transfer = _transfer(run, client, number, partner)
            body = json.dumps(transfer).encode()
            start = time.perf_counter()
            writer.write(_request(host, token, body))
            status, answer = await read_response(reader)
            tally.latencies.append(time.perf_counter() - start)
            if status == 201:
                tally.recorded[transfer["id"]] = (transfer["kind"], Decimal(transfer["amount"]))
            elif status == 409:
                code = json.loads(answer)["error"]["code"]
                tally.refused[code] = tally.refused.get(code, 0) + 1
            else:
                tally.failures.append(f"{transfer['id']}: {status} {answer[:200]!r}")
            if status == 201 and number % RETRY_EVERY == 0:
                writer.write(_request(host, token, body))
                again_status, again = await read_response(reader)
                tally.repeats += 1
                if (again_status, json.loads(again)) != (200, json.loads(answer)):
                    tally.repeat_mismatches.append(f"{transfer['id']}: {again_status}")
            number += 1
    finally:
        writer.close()


def run_transfers(base: str, token: str, partner: str, clients: int, seconds: float, read_response) -> Tally:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    run = f"bench-{int(time.time())}"
    tally = Tally(run=run)

    async def run_all() -> None:
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(
            *(
                _client(host.strip("[]"), int(port), token, run, i, partner, stop_at, tally, read_response)
                for i in range(clients)
            )
        )

    asyncio.run(run_all())
    return tally


def check_ledger(tally: Tally, partner: str, cli_json) -> dict:
    """Compares what the clients were answered with what the store holds."""
    recorded = [
        t for t in cli_json("transfers", "--partner", partner)["transfers"] if t["id"].startswith(tally.run + "-")
    ]
    ids = [t["id"] for t in recorded]
    answered = set(tally.recorded)
    expected_balance = sum(
        (amount if kind == "topup" else -amount for kind, amount in tally.recorded.values()), Decimal(0)
    )
    account = cli_json("account", "--partner", partner)
    ledger = cli_json("ledger")
    return {
        "answered_201": len(answered),
        "recorded": len(ids),
        "lost": len(answered - set(ids)),
        "unanswered_but_recorded": len(set(ids) - answered),
        "doubled": len(ids) - len(set(ids)),
        "repeats": tally.repeats,
        "repeat_mismatches": len(tally.repeat_mismatches),
        "refused": tally.refused,
        "balance": account["prepaid"]["balance"],
        "expected_balance": f"{expected_balance:.2f}",
        "balance_matches": Decimal(account["prepaid"]["balance"]) == expected_balance,
        "ledger_total": ledger["total"],
    }


def transfers_ok(checked: dict) -> bool:
    return (
        checked["lost"] == checked["unanswered_but_recorded"] == checked["doubled"] == 0
        and checked["repeat_mismatches"] == 0
        and checked["balance_matches"]
        and Decimal(checked["ledger_total"]) == 0
        and Decimal(checked["balance"]) >= 0
    )
