"""Group commit of POST /transfers (web.transfer_queue): transfers sent at once are
recorded in fewer transactions than requests, each judged in arrival order as a call
of its own would be, each answered with its own outcome; a failed transaction records
none of its transfers and answers each of them with the failure."""

from __future__ import annotations

import asyncio
import json
import threading

from litestar.testing import AsyncTestClient

from commands import accounts
from commands.bootstrap import open_engine
from commands.settings import Settings
from commands.tokens import create_token
from engine.errors import StoreError
from web.app import create_app
from web.transfer_queue import TransferQueue


def transfer(kind: str, amount: str, id: str) -> dict:
    return {"kind": kind, "partner_id": "p-1", "amount": amount, "id": id}


async def send_all(app, token: str, bodies: list[dict]) -> list:
    async with AsyncTestClient(app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        return await asyncio.gather(*(client.post("/api/v1/transfers", json=body, headers=headers) for body in bodies))


def test_each_transfer_posted_gets_its_own_answer(tmp_path):
    with open_engine(Settings(store_url=f"sqlite:///{tmp_path / 'billing.db'}"), create=True) as engine:
        token = create_token(engine, "partner", "p-1").token
        app = create_app(engine)
        bodies = [transfer("topup", "10.00", f"t-{n}") for n in range(40)]
        bodies += [transfer("topup", "10.00", "t-0"), transfer("topup", "99.00", "t-1")]  # a repeat, a conflict
        bodies += [transfer("withdrawal", "1000.00", "w-1")]
        answers = asyncio.run(send_all(app, token, bodies))
        statuses = [answer.status_code for answer in answers]
        assert statuses[:40] == [201] * 40
        assert statuses[40] == 200 and answers[40].json() == answers[0].json()
        assert (statuses[41], answers[41].json()["error"]["code"]) == (409, "id_conflict")
        assert (statuses[42], answers[42].json()["error"]["code"]) == (409, "insufficient_funds")
        recorded = [t.id for t in accounts.transfers(engine, "p-1").transfers]
        assert sorted(recorded) == sorted(f"t-{n}" for n in range(40))
        assert accounts.account(engine, "p-1").prepaid.balance == "400.00"


def test_transfers_waiting_together_are_recorded_in_fewer_transactions_in_arrival_order(tmp_path):
    with open_engine(Settings(store_url=f"sqlite:///{tmp_path / 'billing.db'}"), create=True) as engine:
        queue = TransferQueue(engine, threading.Lock())
        requests = [accounts.transfer_request(engine.rules, "topup", "p-1", "5.00", "t-0")]
        requests += [accounts.transfer_request(engine.rules, "withdrawal", "p-1", "5.00", f"w-{n}") for n in range(3)]
        requests += [accounts.transfer_request(engine.rules, "topup", "p-1", "1.00", f"t-{n}") for n in range(1, 60)]

        async def record_all():
            return await asyncio.gather(*(queue.record(r) for r in requests), return_exceptions=True)

        results = asyncio.run(record_all())
        assert queue.batches < len(requests) / 4
        assert [getattr(r, "code", "recorded") for r in results[:4]] == [
            "recorded",
            "recorded",
            "insufficient_funds",
            "insufficient_funds",
        ]  # w-0 took the 5.00 first
        assert [t.id for t in accounts.transfers(engine, "p-1").transfers] == [
            "t-0",
            "w-0",
            *(f"t-{n}" for n in range(1, 60)),
        ]


def test_a_failed_transaction_answers_each_of_its_transfers_and_records_none(tmp_path, monkeypatch):
    with open_engine(Settings(store_url=f"sqlite:///{tmp_path / 'billing.db'}"), create=True) as engine:
        token = create_token(engine, "partner", "p-1").token
        app = create_app(engine)

        def fail(_engine, _requests):
            raise StoreError("the disk is full")

        monkeypatch.setattr(accounts, "transfer_batch", fail)
        answers = asyncio.run(send_all(app, token, [transfer("topup", "1.00", f"t-{n}") for n in range(5)]))
        assert {(a.status_code, json.loads(a.text)["error"]["code"]) for a in answers} == {(503, "store_unavailable")}
        monkeypatch.undo()
        assert accounts.transfers(engine, "p-1").transfers == []
