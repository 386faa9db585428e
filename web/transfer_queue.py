"""Group commit of POST /transfers: the transfers that arrive while one write
transaction is being committed are recorded together in the next one.

A transfer is one small decision, and its transaction's commit (a sync to disk on
SQLite, a round trip and a table lock on PostgreSQL) costs far more than deciding it.
Clients sending at once would each wait for the others' commits; instead the waiting
ones are recorded by `commands.accounts.transfer_batch` in one transaction, judged one
after the other in arrival order exactly as separate calls would be (a repeated id is
a repeat, a refusal refuses only its own transfer). Each request is answered with its
own outcome once the transaction has committed; if the transaction fails, every
transfer in it is answered with that failure and none is recorded.
"""

from __future__ import annotations

import asyncio
import threading

import anyio.to_thread

from commands import accounts
from commands.accounts import Outcome, TransferRequest
from commands.bootstrap import Engine
from engine.errors import Refused

MAX_BATCH = 500


class TransferQueue:
    """Transfers waiting for the next write transaction; used from the event loop only."""

    def __init__(self, engine: Engine, write_lock: threading.Lock):
        self._engine, self._lock = engine, write_lock
        self._waiting: list[tuple[TransferRequest, asyncio.Future]] = []
        self._recorder: asyncio.Task | None = None
        self.batches = 0  # transactions committed (for tests and the bench)

    async def record(self, request: TransferRequest) -> Outcome:
        """The transfer's outcome once recorded (raises its `Refused`)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if self._recorder is None or self._recorder.done():
            # A task of its own: a client that goes away never leaves the others waiting.
            self._recorder = asyncio.create_task(self._record_waiting())
        return await future

    async def _record_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                results = await anyio.to_thread.run_sync(self._commit, [request for request, _ in batch])
            except Exception as error:  # the transaction failed: nothing of it is recorded
                results = [error] * len(batch)
            self.batches += 1
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # its client went away
                    continue
                if isinstance(result, (Refused, Exception)):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _commit(self, requests: list[TransferRequest]) -> list[Outcome | Refused]:
        with self._lock:
            return accounts.transfer_batch(self._engine, requests)
