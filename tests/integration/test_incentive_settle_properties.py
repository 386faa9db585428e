"""The money rules of §9's closed periods under any history (Hypothesis).

Usage in any month (late ones included), voids, customers moving between partners and
account managers, supervisors reassigned, closes in order; then every closed period's
statements confirmed and its incentives settled twice. Whatever the history:
- a closed period's `final` unscoped amounts are the partner's statement totals (zero
  without one), and the log's pass over the carried charges adds up to them;
- its account managers' amounts add up to the partner's, a supervisor's to its managers';
- its counts are `replay --period P --as-of ISSUED_AT`'s;
- settle credits each positive total once, and nothing else: the credited incentive
  transfers sum to the positive totals, settling again records nothing, and the ledger
  sums to zero.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from commands import accounts
from commands.bootstrap import open_engine
from commands.incentive_settle import settle_incentives
from commands.incentive_values import period_close, read_period
from commands.incentives import IncentiveScope, account_managers, incentive_report, indicator_values, load_policy
from commands.queries import view_settings
from commands.settings import Settings
from commands.statements import close_period, confirm_statement, get_statement, list_statements
from engine.money import format_units, parse_amount
from engine.statements.rules import following_period
from projections.replay import replay_period
from tests.builders import assigned, associated, disassociated, incentive_policy, reward, usage, voided
from tests.conftest import record

PERIODS = ("2026-08", "2026-09", "2026-10", "2026-11", "2026-12")
PARTNERS, MANAGERS, SUPERVISORS = ("p-0", "p-1"), ("am-1", "am-2", "am-3"), ("sv-1", "sv-2")
CUSTOMERS = ("c-0", "c-1", "c-2", "c-3")
NOW = "2027-06-01T00:00:00+08:00"
POLICY = incentive_policy(
    {
        "settled": "settled_amount",
        "payable": "payable_amount",
        "consuming": "consuming_customers",
        "new": "new_enterprise_customers",
    },
    [
        reward("settled", "stepped", ("0", "0.0123"), ("50", "0.1")),
        reward("payable", "whole", ("10", "0.00001")),
        reward("consuming", "whole", ("2", "3.33")),
        reward("new", "whole", ("1", "1.01")),
    ],
    policy_id="H",
    periods=PERIODS,
)
# Every association carries an account manager, so the managers' amounts add up to the partner's.
SETUP = [
    associated(
        c,
        PARTNERS[i % 2],
        customer_type=("enterprise", "individual")[i % 2],
        id=f"a-{c}",
        time="2026-08-01T00:00:00+08:00",
        data={"account_manager_id": MANAGERS[i % 3]},
    )
    for i, c in enumerate(CUSTOMERS)
]
SETUP += [
    assigned(m, SUPERVISORS[i % 2], partner=p, time="2026-07-01T00:00:00+08:00")
    for p in PARTNERS
    for i, m in enumerate(MANAGERS)
]

when = st.tuples(st.integers(0, len(PERIODS) - 1), st.integers(1, 28))
usages = st.tuples(
    st.just("usage"),
    st.integers(0, 3),
    when,
    st.integers(0, 90_000),
    st.sampled_from(["0.12345678", "1", "0.00064000"]),
)
voids = st.tuples(st.just("void"), st.integers(0, 30))
moves = st.tuples(st.just("move"), st.integers(0, 3), st.integers(0, 1), st.integers(0, 2), when)
reassignments = st.tuples(st.just("assign"), st.integers(0, 1), st.integers(0, 2), st.integers(0, 1), when)
facts = st.one_of(usages, voids, moves, reassignments)
# Rounds of facts, each followed by the next close or not: late facts land in closed months.
rounds = st.lists(st.tuples(st.lists(facts, min_size=1, max_size=6), st.booleans()), min_size=1, max_size=6)


def _time(period_index: int, day: int, hour: int = 12) -> str:
    return f"{PERIODS[period_index]}-{day:02d}T{hour:02d}:00:00+08:00"


class History:
    """One history applied to a fresh store; refused facts (a move back in time) are
    simply not there."""

    def __init__(self, engine):
        self.engine, self.usages, self.partner_of, self.closed = engine, [], {}, []
        self.partner_of = {c: PARTNERS[i % 2] for i, c in enumerate(CUSTOMERS)}

    def apply(self, op: tuple) -> None:
        if op[0] == "usage":
            _, customer, (period, day), hundredths, price = op
            self.usages.append(
                usage(
                    CUSTOMERS[customer], time=_time(period, day), quantity=f"{hundredths / 100:.2f}", unit_price=price
                )
            )
            record(self.engine, [self.usages[-1]])
        elif op[0] == "void" and self.usages:
            record(self.engine, [voided(self.usages[op[1] % len(self.usages)])])
        elif op[0] == "move":
            _, customer, partner, manager, (period, day) = op
            customer, at = CUSTOMERS[customer], _time(period, day, 10)
            counts = record(self.engine, [disassociated(customer, self.partner_of[customer], time=at)])
            if counts.accepted:
                self.partner_of[customer] = PARTNERS[partner]
                record(
                    self.engine,
                    [associated(customer, PARTNERS[partner], time=at, data={"account_manager_id": MANAGERS[manager]})],
                )
        elif op[0] == "assign":
            _, partner, manager, supervisor, (period, day) = op
            record(
                self.engine,
                [
                    assigned(
                        MANAGERS[manager], SUPERVISORS[supervisor], partner=PARTNERS[partner], time=_time(period, day)
                    )
                ],
            )

    def close(self) -> None:
        with self.engine.ledger.recorder.read_transaction() as cursor:
            earliest, _latest = self.engine.projection.view.charge_period_range_in(cursor)
        period = following_period(self.closed[-1].period) if self.closed else (earliest or PERIODS[0])
        if period <= PERIODS[-1]:
            self.closed.append(close_period(self.engine, period))


def units(text: str) -> int:
    return parse_amount("amount", text)


def _check_final_values(engine, closed) -> None:
    statements = {s.partner_id: s for s in list_statements(engine, period=closed.period).statements}
    replayed = replay_period(engine.ledger, view_settings(engine, closed.period), closed.issued_at)[0].customers
    counts = {c.partner_id: (c.consuming_customers, c.new_enterprise_customers_quarter) for c in replayed}
    for partner in PARTNERS:
        whole = indicator_values(engine, partner, closed.period, IncentiveScope())
        statement = statements.get(partner)
        expected = (
            (statement.total_settled_amount, statement.total_payable_amount) if statement else ("0.00", "0.00000000")
        )
        assert (whole.status, whole.settled_amount, whole.payable_amount) == ("final", *expected)
        carried = read_period(engine, partner, closed.period).carried
        assert carried.total() == (units(expected[1]), units(expected[0]))  # the log's pass is the statement
        assert (whole.consuming_customers, whole.new_enterprise_customers) == counts.get(partner, (0, 0))
        scoped = {
            m: indicator_values(engine, partner, closed.period, IncentiveScope(account_manager_id=m)) for m in MANAGERS
        }
        assert sum(units(v.settled_amount) for v in scoped.values()) == units(whole.settled_amount)
        assert sum(units(v.payable_amount) for v in scoped.values()) == units(whole.payable_amount)
        assert sum(v.new_enterprise_customers for v in scoped.values()) == whole.new_enterprise_customers
        for supervisor in SUPERVISORS:
            scope = IncentiveScope(supervisor_id=supervisor)
            managers = account_managers(engine, partner, closed.period, scope)
            got = indicator_values(engine, partner, closed.period, scope)
            assert units(got.settled_amount) == sum(units(scoped[m].settled_amount) for m in managers)
            assert units(got.payable_amount) == sum(units(scoped[m].payable_amount) for m in managers)


def _settle(engine, period: str) -> int:
    """Confirms the period's statements, settles twice; the sum of its positive totals."""
    for statement in list_statements(engine, period=period).statements:
        confirm_statement(engine, statement.partner_id, period)
    totals = {p: units(incentive_report(engine, p, period).total) for p in PARTNERS}
    positive = {p: total for p, total in totals.items() if total > 0}
    first = settle_incentives(engine, period)
    credited = {t.credit.removeprefix("incentive:"): units(t.amount) for t in first.value.transfers}
    assert credited == positive
    assert [t.id for t in first.value.transfers] == [f"incentive:H:{period}:{p}" for p in sorted(positive)]
    events = engine.ledger.recorder.count_events()
    again = settle_incentives(engine, period)
    assert (again.recorded, again.value, engine.ledger.recorder.count_events()) == (False, first.value, events)
    return sum(positive.values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds)
def test_final_incentives_are_the_statements_and_settle_credits_each_positive_total_once(history_rounds):
    with open_engine(Settings(store_url="memory://", now=NOW), create=True) as engine:
        record(engine, SETUP)
        load_policy(engine, json.dumps(POLICY).encode())
        history = History(engine)
        for round_facts, then_close in history_rounds:
            for fact in round_facts:
                history.apply(fact)
            if then_close:
                history.close()
        for closed in history.closed:
            _check_final_values(engine, closed)
        positive_sum = sum(_settle(engine, p) for p in PERIODS if period_close(engine, p) is not None)
        incentives = [t for t in accounts.transfers(engine).transfers if t.kind == "incentive"]
        assert sum(units(t.amount) for t in incentives) == positive_sum  # money conservation
        assert len({t.id for t in incentives}) == len(incentives)
        ledger = {a.account: a.balance for a in accounts.ledger(engine).accounts}
        assert accounts.ledger(engine).total == "0.00"
        assert ledger.get("cloud:incentives", "0.00") == format_units(-positive_sum, 2)
        event(f"closes: {min(len(history.closed), 3)}+")
        adjusted = any(
            s.total_settled_amount != get_statement(engine, s.partner_id, s.period).settled_amount
            for s in list_statements(engine).statements
        )
        event("a statement with adjustments" if adjusted else "no adjustment")
        event("credited something" if positive_sum else "credited nothing")
