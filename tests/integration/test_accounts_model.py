"""The ledger against a plain model (CONTRACT.md §8), step by step: Hypothesis draws
top-ups, withdrawals, incentives, payment applications and their steps, confirmed
statements, repeated and conflicting ids and threshold changes; after every step the
engine's balances equal the model's, no account is overdrawn where the rules forbid
it, all balances sum to zero, and every pending transfer was resolved at most once."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, assume, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from commands import accounts
from commands.bootstrap import open_engine
from commands.settings import Settings
from engine.errors import Refused
from engine.money import format_units
from schemas.account_events import PaymentPaid, PaymentRejected
from tests.accounts_support import change_statement, engine_log

CENT = 10**6  # one minor unit of CNY in 10⁻⁸
PARTNERS = st.sampled_from(["p-1", "p-2"])
IDS = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])  # few, so ids repeat and conflict
CENTS = st.integers(min_value=1, max_value=20_000)
_STEPS = {"approve": ("under_review", "approved"), "reject": ("under_review", "rejected"), "pay": ("approved", "paid")}
_ROUTES = {
    "topup": ("cloud:bank", "prepaid:{}"),
    "withdrawal": ("prepaid:{}", "cloud:bank"),
    "incentive": ("cloud:incentives", "incentive:{}"),
    "payment": ("incentive:{}", "cloud:bank"),
}


def amount_text(cents: int) -> str:
    """Amounts as a caller writes them: whole ones sometimes without decimals."""
    return str(cents // 100) if cents % 100 == 0 and cents % 300 == 0 else f"{cents // 100}.{cents % 100:02d}"


@dataclass
class Model:
    """The ledger by hand: posted balances, pending reservations, who used which id."""

    balance: Counter = field(default_factory=Counter)
    pending: Counter = field(default_factory=Counter)
    ids: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # id -> (kind, partner, cents)
    payments: dict[str, str] = field(default_factory=dict)  # id -> status
    thresholds: dict[str, int | None] = field(default_factory=dict)
    warned: dict[str, bool] = field(default_factory=dict)
    warnings: Counter = field(default_factory=Counter)  # balance.low notifications by partner
    in_arrears_allowed: set[str] = field(default_factory=set)  # partners a statement has debited
    statements: set[tuple[str, str]] = field(default_factory=set)

    def available(self, account: str) -> int:
        return self.balance[account] - self.pending[account]

    def judge_id(self, id: str, kind: str, partner: str, cents: int) -> str | None:
        """'repeat', 'id_conflict' or None (new)."""
        if id not in self.ids:
            return None
        return "repeat" if self.ids[id] == (kind, partner, cents) else "id_conflict"

    def open(self, partner: str) -> None:
        """A partner's two accounts exist from its first transfer, application or threshold."""
        for name in (f"prepaid:{partner}", f"incentive:{partner}"):
            self.balance[name] += 0

    def move(self, debit: str, credit: str, cents: int) -> None:
        self.balance[debit] -= cents
        self.balance[credit] += cents

    def after_prepaid_change(self, partner: str) -> None:
        below = self.thresholds.get(partner)
        is_below = below is not None and self.available(f"prepaid:{partner}") < below
        if is_below and not self.warned.get(partner, False):
            self.warnings[partner] += 1
        self.warned[partner] = is_below


class LedgerMachine(RuleBasedStateMachine):
    # A fresh store for each example: a SQLite file, or (`postgres_dsn`) a schema of its own.
    postgres_dsn: str | None = None
    examples = itertools.count()

    def __init__(self):
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="ledger-model-")
        url = f"sqlite:///{self.folder}/billing.db"
        if self.postgres_dsn is not None:
            import psycopg

            schema = f"model_{next(self.examples)}"
            with psycopg.connect(self.postgres_dsn, autocommit=True) as connection:
                connection.execute(f"CREATE SCHEMA {schema}")
            url = f"{self.postgres_dsn}?schema={schema}"
        self.engine = open_engine(Settings(store_url=url, now="2026-11-30T10:00:00Z"), create=True)
        self.model = Model()

    def teardown(self):
        self.engine.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _expect(self, call, expected: str | None):
        """Runs a request; `expected` is a refusal code, 'repeat', or None (recorded)."""
        try:
            outcome = call()
        except Refused as refused:
            assert refused.code == expected, f"refused {refused.code}, expected {expected}"
            return None
        assert expected in (None, "repeat"), f"recorded, expected {expected}"
        assert outcome.repeated == (expected == "repeat")
        return outcome

    @rule(kind=st.sampled_from(["topup", "withdrawal", "incentive"]), partner=PARTNERS, cents=CENTS, id=IDS)
    def transfer(self, kind, partner, cents, id):
        m = self.model
        debit, credit = (name.format(partner) for name in _ROUTES[kind])
        expected = m.judge_id(id, kind, partner, cents)
        if expected is None and kind == "withdrawal" and cents > m.available(debit):
            expected = "insufficient_funds"
        request = accounts.transfer_request(self.engine.rules, kind, partner, amount_text(cents), id)
        if self._expect(lambda: accounts.transfer(self.engine, request), expected) and expected is None:
            m.ids[id] = (kind, partner, cents)
            m.open(partner)
            m.move(debit, credit, cents)
            m.after_prepaid_change(partner)

    @rule(partner=PARTNERS, cents=CENTS, id=IDS)
    def submit(self, partner, cents, id):
        m = self.model
        expected = m.judge_id(id, "payment", partner, cents)
        if expected is None and cents > m.available(f"incentive:{partner}"):
            expected = "insufficient_funds"
        request = accounts.payment_request(self.engine.rules, partner, amount_text(cents), id)
        outcome = self._expect(lambda: accounts.submit_payment(self.engine, request), expected)
        if outcome is not None and expected is None:
            m.ids[id] = ("payment", partner, cents)
            m.payments[id] = "under_review"
            m.open(partner)
            m.pending[f"incentive:{partner}"] += cents
        if outcome is not None:
            assert outcome.value.status == "under_review" and len(outcome.value.history) == 1

    @rule(id=IDS, step=st.sampled_from(sorted(_STEPS)))
    def step(self, id, step):
        m = self.model
        status = m.payments.get(id)
        expected = "unknown_payment" if status is None else None if status == _STEPS[step][0] else "invalid_state"
        outcome = self._expect(lambda: accounts.step_payment(self.engine, id, step, "because"), expected)
        if outcome is None:
            return
        m.payments[id] = _STEPS[step][1]
        _, partner, cents = m.ids[id]
        if step in ("reject", "pay"):
            m.pending[f"incentive:{partner}"] -= cents
        if step == "pay":
            m.move(f"incentive:{partner}", "cloud:bank", cents)

    @rule(partner=PARTNERS, below=st.none() | st.integers(min_value=0, max_value=20_000))
    def warn(self, partner, below):
        accounts.warn(self.engine, partner, None if below is None else below * CENT)
        if below is None and partner not in self.model.thresholds:
            return  # turning off a warning never set records nothing: no accounts appear
        self.model.thresholds[partner] = below
        self.model.open(partner)
        self.model.after_prepaid_change(partner)

    @rule(
        partner=PARTNERS,
        period=st.sampled_from(["2026-09", "2026-10", "2026-11"]),
        cents=st.integers(min_value=-5_000, max_value=20_000),
    )
    def confirm_statement(self, partner, period, cents):
        m = self.model
        assume((partner, period) not in m.statements)
        change_statement(self.engine, partner, period, "confirmed", format_units(cents * CENT, 2))
        m.statements.add((partner, period))
        if cents:
            m.ids[f"statement:{partner}:{period}"] = ("statement", partner, abs(cents))
            m.open(partner)
            m.move(f"prepaid:{partner}", "cloud:revenue", cents)
            m.in_arrears_allowed.add(partner)
            m.after_prepaid_change(partner)

    @invariant()
    def balances_equal_the_models_and_sum_to_zero(self):
        listing = accounts.ledger(self.engine)
        assert listing.total == "0.00"
        shown = {a.account: (a.balance, a.pending) for a in listing.accounts}
        expected = {
            name: (format_units(self.model.balance[name] * CENT, 2), format_units(self.model.pending[name] * CENT, 2))
            for name in {*self.model.balance, "cloud:bank", "cloud:incentives", "cloud:revenue"}
        }
        assert shown == expected

    @invariant()
    def no_account_is_overdrawn_where_the_rules_forbid_it(self):
        for partner in ("p-1", "p-2"):
            account = accounts.account(self.engine, partner)
            assert not account.incentive.available.startswith("-")
            if partner not in self.model.in_arrears_allowed:
                assert not account.prepaid.available.startswith("-")

    @invariant()
    def each_pending_transfer_is_resolved_at_most_once(self):
        resolutions = Counter(e.id for e in engine_log(self.engine) if type(e) in (PaymentRejected, PaymentPaid))
        assert all(count == 1 for count in resolutions.values())
        statuses = {t.id: t.status for t in accounts.transfers(self.engine).transfers if t.kind == "payment"}
        for id, status in self.model.payments.items():
            assert (
                statuses[id]
                == {"under_review": "pending", "approved": "pending", "rejected": "voided", "paid": "posted"}[status]
            )

    @invariant()
    def balance_warnings_are_edge_triggered(self):
        shown = Counter(
            n.partner_id for n in accounts.notifications(self.engine).notifications if n.type == "balance.low"
        )
        assert shown == +self.model.warnings


_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
LedgerMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=30, **_SETTINGS)
TestLedgerAgainstTheModelOnSQLite = LedgerMachine.TestCase


@pytest.mark.slow
@pytest.mark.postgres
def test_the_ledger_follows_the_model_on_postgres(postgres_fresh_dsn):
    machine = type("PostgresLedgerMachine", (LedgerMachine,), {"postgres_dsn": postgres_fresh_dsn})
    run_state_machine_as_test(machine, settings=settings(max_examples=8, stateful_step_count=25, **_SETTINGS))
