"""The API bench's check of POST /transfers (bench.api_transfers): a lost, doubled or
unanswered transfer, or a balance that does not add up, fails the run."""

from __future__ import annotations

from decimal import Decimal

from bench.api_transfers import Tally, check_ledger, transfers_ok


def answered(*entries: tuple[str, str, str]) -> Tally:
    tally = Tally(run="bench-1")
    for transfer_id, kind, amount in entries:
        tally.recorded[transfer_id] = (kind, Decimal(amount))
    return tally


def store(ids: list[str], balance: str, total: str = "0.00"):
    def cli(*args: str) -> dict:
        if args[0] == "transfers":
            return {"transfers": [{"id": i} for i in ids] + [{"id": "other-run-1"}]}
        if args[0] == "account":
            return {"prepaid": {"balance": balance}}
        return {"total": total}

    return cli


TALLY = [("bench-1-0-0", "topup", "10.01"), ("bench-1-0-1", "topup", "11.01"), ("bench-1-0-2", "withdrawal", "5.25")]


def test_a_run_whose_answers_and_store_agree_is_ok():
    checked = check_ledger(answered(*TALLY), "p", store([t[0] for t in TALLY], "15.77"))
    assert transfers_ok(checked) and checked["expected_balance"] == "15.77"


def test_a_lost_a_doubled_or_an_unanswered_transfer_fails_the_run():
    lost = check_ledger(answered(*TALLY), "p", store(["bench-1-0-0", "bench-1-0-1"], "15.77"))
    doubled = check_ledger(answered(*TALLY), "p", store([t[0] for t in TALLY] + ["bench-1-0-0"], "15.77"))
    extra = check_ledger(answered(*TALLY), "p", store([t[0] for t in TALLY] + ["bench-1-9-9"], "15.77"))
    assert (lost["lost"], doubled["doubled"], extra["unanswered_but_recorded"]) == (1, 1, 1)
    assert not any(transfers_ok(checked) for checked in (lost, doubled, extra))


def test_a_balance_that_does_not_add_up_or_a_ledger_out_of_balance_fails_the_run():
    ids = [t[0] for t in TALLY]
    assert not transfers_ok(check_ledger(answered(*TALLY), "p", store(ids, "26.02")))
    assert not transfers_ok(check_ledger(answered(*TALLY), "p", store(ids, "15.77", total="0.01")))
