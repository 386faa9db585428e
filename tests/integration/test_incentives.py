"""Incentive policies and indicators on real stores (CONTRACT.md §9): indicator values
equal the views they come from, scoped and unscoped; supervisors' account managers
come from `account_manager.assigned`; policies are recorded once and never overlap."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands import incentives as incentive_handlers
from commands.demo import generate_month
from commands.incentives import IncentiveScope, dashboard, incentive_report, indicator_values, load_policy
from commands.queries import customer_counts, performance, period_views
from commands.statements import close_period
from engine.errors import Refused
from engine.incentives.policies import PolicyFileError
from engine.money import format_units, parse_amount
from projections.queries import Scope
from tests.builders import assigned, associated, disassociated, incentive_policy, reward, usage
from tests.conftest import record

ALL_STATISTICS = incentive_policy(
    {
        "consumption": "settled_amount",
        "payable": "payable_amount",
        "consuming": "consuming_customers",
        "new_enterprise": "new_enterprise_customers",
    },
    [
        reward("consumption", "stepped", ("0", "0.02"), ("10000", "0.03")),
        reward("new_enterprise", "whole", ("1", "100"), ("3", "150")),
    ],
)
REPORT_KEYS = ["partner_id", "period", "policy_id", "status", "indicators", "rewards", "total"]


def policy(**changes) -> bytes:
    return json.dumps({**ALL_STATISTICS, **changes}).encode()


def accept(engine, events) -> None:
    counts = record(engine, events)
    assert (counts.rejected, counts.accepted) == (0, len(events)), engine.ledger.recorder.select_rejections()


def values(engine, partner, period="2026-10", **scope):
    return indicator_values(engine, partner, period, IncentiveScope(**scope))


# --- account_manager.assigned -----------------------------------------------------------


def test_assignments_are_recorded_in_the_roster_and_change_no_view(store):
    accept(
        store, [associated("c-1", data={"account_manager_id": "am-1"}), usage("c-1", time="2026-10-05T10:00:00+08:00")]
    )
    before = period_views(store, "2026-10")
    counts = record(
        store,
        [
            assigned("am-1", "sv-1", id="a-1"),
            assigned("am-1", "sv-1", id="a-1"),
            assigned("am-1", "sv-2", id="a-1"),
            assigned("am-1", data={"supervisor_id": ""}, id="a-2"),
        ],
    )
    assert (counts.accepted, counts.duplicates, counts.rejected) == (1, 1, 2)
    reasons = [(row.id, row.reason) for row in store.ledger.recorder.select_rejections()]
    assert reasons == [("a-1", "conflicting_duplicate"), ("a-2", "invalid_data")]
    assert period_views(store, "2026-10") == before


def test_a_supervisor_has_the_managers_whose_latest_assignment_before_the_end_names_it(store):
    accept(
        store,
        [
            assigned("am-1", "sv-1", time="2026-09-01T00:00:00+08:00"),
            assigned("am-2", "sv-1", time="2026-09-01T00:00:00+08:00"),
            assigned("am-2", "sv-2", time="2026-10-16T00:00:00+08:00"),  # moved during October
            assigned("am-3", "sv-1", time="2026-11-01T00:00:00+08:00"),  # at October's end: too late
            assigned("am-9", "sv-1", partner="p-2", time="2026-09-01T00:00:00+08:00"),  # another partner's
        ],
    )
    october = IncentiveScope(supervisor_id="sv-1")
    assert incentive_handlers.account_managers(store, "p-1", "2026-10", october) == {"am-1"}
    assert incentive_handlers.account_managers(store, "p-1", "2026-09", october) == {"am-1", "am-2"}
    assert incentive_handlers.account_managers(store, "p-1", "2026-11", october) == {"am-1", "am-3"}


# --- indicator values equal their views ---------------------------------------------------


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    from commands.bootstrap import open_engine
    from commands.settings import Settings

    path = tmp_path_factory.mktemp("demo") / "billing.db"
    engine = open_engine(Settings(store_url=f"sqlite:///{path}"), create=True)
    record(engine, list(generate_month(customers=150, seed=11)))
    load_policy(engine, policy())
    yield engine
    engine.close()


DEMO_MANAGERS = {
    "dist-huabei": ["am-zhao", "am-qian"],
    "dist-huadong": ["am-li", "am-zhou"],
    "sp-yunzhi": ["am-wu", "am-zheng"],
    "sp-shujuqiao": ["am-wang"],
    "sp-anxin": ["am-feng"],
}


@pytest.mark.parametrize("partner", sorted(DEMO_MANAGERS))
def test_unscoped_values_are_the_partners_performance_and_customer_counts(demo_store, partner):
    shown, counts = performance(demo_store, partner, "2026-10"), customer_counts(demo_store, partner, "2026-10")
    got = values(demo_store, partner)
    assert got.status == "estimated"
    assert (got.settled_amount, got.payable_amount) == (shown.settled_amount, shown.payable_amount)
    assert (got.consuming_customers, got.new_enterprise_customers) == (
        counts.consuming_customers,
        counts.new_enterprise_customers_quarter,
    )
    assert parse_amount("s", shown.settled_amount) > 0


@pytest.mark.parametrize(("partner", "manager"), [(p, m) for p, ms in sorted(DEMO_MANAGERS.items()) for m in ms])
def test_an_account_managers_values_are_its_scoped_views(demo_store, partner, manager):
    tally = next(
        t for t in performance(demo_store, partner, "2026-10").by_account_manager if t.account_manager_id == manager
    )
    counts = customer_counts(demo_store, partner, "2026-10", Scope(account_manager_id=manager))
    got = values(demo_store, partner, account_manager_id=manager)
    assert got.consuming_customers > 0
    assert (got.settled_amount, got.payable_amount) == (tally.settled_amount, tally.payable_amount)
    assert (got.consuming_customers, got.new_enterprise_customers) == (
        counts.consuming_customers,
        counts.new_enterprise_customers_quarter,
    )


# October's supervisors in the demo: am-qian moves from sv-sun to sv-ma on the 16th.
DEMO_SUPERVISED = [
    ("dist-huabei", "sv-sun", ["am-zhao"]),
    ("dist-huabei", "sv-ma", ["am-qian"]),
    ("dist-huadong", "sv-ma", ["am-li", "am-zhou"]),
    ("sp-yunzhi", "sv-chen", ["am-wu", "am-zheng"]),
    ("sp-anxin", "sv-chen", ["am-feng"]),
]


@pytest.mark.parametrize(("partner", "supervisor", "managers"), DEMO_SUPERVISED)
def test_a_supervisors_values_add_up_its_account_managers_views(demo_store, partner, supervisor, managers):
    got = values(demo_store, partner, supervisor_id=supervisor)
    tallies = [
        t for t in performance(demo_store, partner, "2026-10").by_account_manager if t.account_manager_id in managers
    ]
    settled = sum(parse_amount("s", t.settled_amount) for t in tallies)
    payable = sum(parse_amount("p", t.payable_amount) for t in tallies)
    assert (got.settled_amount, got.payable_amount) == (format_units(settled, 2), format_units(payable))
    scoped = [customer_counts(demo_store, partner, "2026-10", Scope(account_manager_id=m)) for m in managers]
    # Each customer's first association carries one manager: new customers add up.
    assert got.new_enterprise_customers == sum(c.new_enterprise_customers_quarter for c in scoped)
    # A customer charged under two of the managers counts once.
    assert (
        max(c.consuming_customers for c in scoped)
        <= got.consuming_customers
        <= sum(c.consuming_customers for c in scoped)
    )
    if len(managers) == 1:
        assert got == values(demo_store, partner, account_manager_id=managers[0])


def test_a_customer_charged_under_two_of_a_supervisors_managers_consumes_once(store):
    accept(
        store,
        [
            assigned("am-1", "sv-1", time="2026-09-01T00:00:00+08:00"),
            assigned("am-2", "sv-1", time="2026-09-01T00:00:00+08:00"),
            associated("c-1", data={"account_manager_id": "am-1"}, time="2026-10-01T00:00:00+08:00"),
            usage("c-1", quantity="100", unit_price="1", time="2026-10-02T00:00:00+08:00"),
            disassociated("c-1", time="2026-10-10T00:00:00+08:00"),
            associated("c-1", data={"account_manager_id": "am-2"}, time="2026-10-11T00:00:00+08:00"),
            usage("c-1", quantity="50", unit_price="1", time="2026-10-12T00:00:00+08:00"),
        ],
    )
    got = values(store, "p-1", supervisor_id="sv-1")
    assert (got.settled_amount, got.consuming_customers, got.new_enterprise_customers) == ("150.00", 1, 1)
    assert values(store, "p-1", account_manager_id="am-2").new_enterprise_customers == 0  # not its first association


# --- reports and policies -------------------------------------------------------------------


def test_the_report_applies_each_reward_to_its_indicator(store):
    accept(
        store,
        [associated(f"c-{i}", data={"account_manager_id": "am-1"}) for i in range(4)]
        + [usage("c-0", quantity="12345.66", unit_price="1", time="2026-10-05T00:00:00+08:00")],
    )
    load_policy(store, policy())
    report = incentive_report(store, "p-1", "2026-10")
    assert list(report.__struct_fields__) == REPORT_KEYS
    assert [(i.name, i.value) for i in report.indicators] == [
        ("consumption", "12345.66"),
        ("payable", "12345.66000000"),
        ("consuming", 1),
        ("new_enterprise", 4),
    ]
    # stepped: 10000 × 0.02 + 2345.66 × 0.03 = 270.3698; whole: 4 ≥ 3, so 4 × 150
    assert [(r.indicator, r.amount) for r in report.rewards] == [
        ("consumption", "270.36"),
        ("new_enterprise", "600.00"),
    ]
    assert (report.status, report.policy_id, report.total) == ("estimated", "2026Q4", "870.36")
    assert incentive_report(store, "p-1", "2026-10", IncentiveScope(account_manager_id="am-9")).total == "0.00"


def test_no_policy_for_the_period_is_refused(store):
    load_policy(store, policy())
    with pytest.raises(Refused) as refused:
        incentive_report(store, "p-1", "2027-01")
    assert refused.value.code == "no_policy"


def test_a_policy_is_recorded_once_and_the_same_again_changes_nothing(store):
    first = load_policy(store, policy())
    events = store.ledger.recorder.count_events()
    reordered = json.dumps(dict(reversed(list(ALL_STATISTICS.items())))).encode()
    again = load_policy(store, reordered)
    assert (first.recorded, again.recorded) == (True, False)
    assert (again.value.policy_id, again.value.periods) == ("2026Q4", ["2026-10", "2026-11", "2026-12"])
    assert store.ledger.recorder.count_events() == events


def test_other_content_under_the_id_is_a_conflict_judged_before_an_overlap(store):
    load_policy(store, policy())
    events = store.ledger.recorder.count_events()
    for changed, code in [
        (policy(periods=["2026-10", "2026-11"]), "id_conflict"),
        (policy(rewards=[]), "id_conflict"),
        (policy(policy_id="other", periods=["2026-12", "2027-01"]), "policy_overlap"),
    ]:
        with pytest.raises(Refused) as refused:
            load_policy(store, changed)
        assert refused.value.code == code
    assert store.ledger.recorder.count_events() == events
    assert load_policy(store, policy(policy_id="2027Q1", periods=["2027-01"])).recorded


def test_a_policy_file_adding_only_keys_the_engine_ignores_is_other_content_an_id_conflict(store):
    # CONTRACT.md §9: equal content means equal as JSON values, not equal once decoded.
    load_policy(store, policy())
    events = store.ledger.recorder.count_events()
    tier_with_a_note = [{"from": "0", "rate": "0.02", "note": "base"}, {"from": "10000", "rate": "0.03"}]
    for changed in (
        policy(note="the same rules, annotated"),
        policy(rewards=[{**ALL_STATISTICS["rewards"][0], "tiers": tier_with_a_note}, ALL_STATISTICS["rewards"][1]]),
    ):
        with pytest.raises(Refused) as refused:
            load_policy(store, changed)
        assert refused.value.code == "id_conflict"
    assert store.ledger.recorder.count_events() == events
    spaced = json.dumps(ALL_STATISTICS, indent=2).encode()  # other bytes, the same JSON value
    assert not load_policy(store, spaced).recorded


def test_a_malformed_policy_or_duplicate_tiers_record_nothing(store):
    with pytest.raises(PolicyFileError):
        load_policy(store, policy(periods="2026-10"))
    tiers = [{"from": "5", "rate": "1"}, {"from": "5.0", "rate": "2"}]
    with pytest.raises(Refused) as refused:
        load_policy(store, policy(rewards=[{"indicator": "consuming", "mode": "whole", "tiers": tiers}]))
    assert refused.value.code == "duplicate_tier"
    assert store.ledger.recorder.count_events() == 0


def test_a_period_is_final_once_the_statements_feature_closes_it(open_store):
    engine = open_store(now="2026-11-05T10:00:00+08:00")
    accept(engine, [associated("c-1"), usage("c-1", time="2026-10-05T10:00:00+08:00")])
    load_policy(engine, policy())
    assert (incentive_handlers.period_closed_at(engine, "2026-10"), values(engine, "p-1").status) == (None, "estimated")
    closed = close_period(engine, "2026-10")
    assert incentive_handlers.period_closed_at(engine, "2026-10") == closed.issued_at
    assert values(engine, "p-1").status == "final"


def test_the_dashboard_breaks_a_partner_down_by_supervisor_and_a_supervisor_by_manager(demo_store):
    partner = dashboard(demo_store, "dist-huabei", "2026-10", IncentiveScope())
    assert partner.breakdown_by == "supervisor" and [label for label, _ in partner.breakdown] == ["sv-ma", "sv-sun"]
    supervisor = dashboard(demo_store, "dist-huadong", "2026-10", IncentiveScope(supervisor_id="sv-ma"))
    assert supervisor.managers == {"am-li", "am-zhou"}
    assert [label for label, _ in supervisor.breakdown] == ["am-li", "am-zhou"]
    assert supervisor.breakdown[0][1] == incentive_report(
        demo_store, "dist-huadong", "2026-10", IncentiveScope(account_manager_id="am-li")
    )
    assert dashboard(demo_store, "sp-anxin", "2026-10", IncentiveScope(account_manager_id="am-feng")).breakdown == []


# --- any history: the values are the views -------------------------------------------------

MANAGERS = ["am-1", "am-2", "am-3", None]
history_steps = st.lists(
    st.tuples(
        st.sampled_from(["c-1", "c-2", "c-3", "c-4"]),
        st.sampled_from(MANAGERS),
        st.sampled_from(["enterprise", "individual"]),
        st.integers(0, 40),
        st.sampled_from(["0", "0.004", "7.5", "12000"]),
    ),
    min_size=1,
    max_size=8,
)
assignments = st.lists(
    st.tuples(st.sampled_from(MANAGERS[:3]), st.sampled_from(["sv-1", "sv-2"]), st.integers(0, 40)), max_size=5
)


def _events(steps, moves):
    """Associations (each step associates, or re-associates after leaving) and usage on
    day N from September 22, and assignments on their days."""
    day = lambda n: f"2026-{9 + (n + 21) // 30:02d}-{(n + 21) % 30 + 1:02d}T12:00:00+08:00"
    events, open_ = [], {}
    for n, (customer, manager, kind, offset, quantity) in enumerate(steps):
        at = day(offset)
        if customer in open_ and open_[customer] < at:
            events.append(disassociated(customer, time=day(offset).replace("12:00", "11:00")))
            open_.pop(customer)
        if customer not in open_:
            extra = {"account_manager_id": manager} if manager else {}
            events.append(associated(customer, customer_type=kind, data=extra, time=at.replace("12:00", "11:30")))
            open_[customer] = at
        events.append(usage(customer, quantity=quantity, unit_price="1.23456789", resource_id=f"r-{n}", time=at))
    events += [assigned(m, s, time=day(offset)) for m, s, offset in moves]
    return events


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history_steps, assignments)
def test_for_any_history_the_values_equal_the_views(open_store, steps, moves):
    engine = open_store(memory=True)
    record(engine, _events(steps, moves))  # rejected lines (e.g. out of order) are simply not there
    for period in ("2026-09", "2026-10"):
        shown, counts = performance(engine, "p-1", period), customer_counts(engine, "p-1", period)
        got = values(engine, "p-1", period)
        assert (got.settled_amount, got.payable_amount, got.consuming_customers, got.new_enterprise_customers) == (
            shown.settled_amount,
            shown.payable_amount,
            counts.consuming_customers,
            counts.new_enterprise_customers_quarter,
        )
        for manager in MANAGERS[:3]:
            tally = [t for t in shown.by_account_manager if t.account_manager_id == manager]
            scoped = customer_counts(engine, "p-1", period, Scope(account_manager_id=manager))
            got = values(engine, "p-1", period, account_manager_id=manager)
            assert (got.settled_amount, got.payable_amount) == (
                (tally[0].settled_amount, tally[0].payable_amount) if tally else ("0.00", "0.00000000")
            )
            assert (got.consuming_customers, got.new_enterprise_customers) == (
                scoped.consuming_customers,
                scoped.new_enterprise_customers_quarter,
            )


@pytest.mark.postgres
def test_policies_rosters_and_reports_on_postgresql(open_url, postgres_fresh_dsn):
    engine = open_url(postgres_fresh_dsn)
    accept(
        engine,
        [
            assigned("am-1", "sv-1", time="2026-09-01T00:00:00+08:00"),
            associated("c-1", data={"account_manager_id": "am-1"}),
            usage("c-1", quantity="20000", unit_price="1", time="2026-10-05T00:00:00+08:00"),
        ],
    )
    load_policy(engine, policy())
    with pytest.raises(Refused) as refused:
        load_policy(engine, policy(policy_id="other", periods=["2026-11"]))
    assert refused.value.code == "policy_overlap"
    report = incentive_report(
        open_url(postgres_fresh_dsn, create=False), "p-1", "2026-10", IncentiveScope(supervisor_id="sv-1")
    )
    # 10000 × 0.02 + 10000 × 0.03; one new enterprise customer: 1 × 100
    assert [(r.indicator, r.amount) for r in report.rewards] == [
        ("consumption", "500.00"),
        ("new_enterprise", "100.00"),
    ]
