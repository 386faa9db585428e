"""Incentive policies (CONTRACT.md §9): the policy file, `whole` and `stepped` tiers,
and who supervises whom from `account_manager.assigned` events."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import Refused
from engine.incentives.policies import (
    PolicyFileError,
    Tier,
    policy_content,
    read_policy,
    reward_units,
    same_content,
    tiers_of,
)
from engine.incentives.roster import managers_of, supervisors_before
from engine.money import SCALE, parse_amount
from schemas.incentive_events import IncentivePolicyLoaded
from schemas.recorded import AccountManagerAssigned
from tests.builders import incentive_policy

CNY = 2
CONTRACT_EXAMPLE = incentive_policy()


def units(text: str) -> int:
    return parse_amount("x", text)


def tiers(*pairs: tuple[str, str]) -> list[Tier]:
    return sorted((Tier(units(f), units(r)) for f, r in pairs), key=lambda t: t.from_units)


@pytest.mark.parametrize(
    ("value", "mode", "reward"),
    [
        ("15000.00", "stepped", "350.00"),  # 10000 × 0.02 + 5000 × 0.03
        ("15000.00", "whole", "450.00"),  # 15000 × 0.03
        ("10000.00", "whole", "300.00"),  # a tier is reached at its `from`
        ("9999.99", "whole", "199.99"),  # 199.9998 truncated
        ("9999.99", "stepped", "199.99"),
        ("12345.66", "stepped", "270.36"),  # 200 + 2345.66 × 0.03 = 270.3698
        ("0.00", "stepped", "0.00"),
        ("-50.00", "whole", "0.00"),  # a negative value reaches no tier
    ],
)
def test_whole_and_stepped_rewards_of_the_contract_example(value, mode, reward):
    assert reward_units(units(value), tiers(("0", "0.02"), ("10000", "0.03")), mode, CNY) == units(reward)


def test_a_value_below_the_first_tier_earns_nothing_and_counts_use_the_same_rule():
    per_customer = tiers(("3", "100"), ("10", "150"))
    assert reward_units(2 * SCALE, per_customer, "whole", CNY) == 0
    assert reward_units(4 * SCALE, per_customer, "whole", CNY) == units("400")
    assert reward_units(12 * SCALE, per_customer, "stepped", CNY) == units("1000")  # 7 × 100 + 2 × 150


def test_each_reward_is_truncated_once_not_each_step():
    # 1 × 0.005 + 2 × 0.0025 = 0.01; truncating each step first would give 0.00 + 0.00.
    assert reward_units(units("3"), tiers(("0", "0.005"), ("1", "0.0025")), "stepped", CNY) == units("0.01")


rising_tiers = st.lists(
    st.tuples(st.integers(0, 10**6), st.integers(0, 10**9)), min_size=1, max_size=6, unique_by=lambda t: t[0]
).map(
    lambda pairs: [
        Tier(f * SCALE // 100, r) for f, r in zip(sorted(p[0] for p in pairs), sorted(p[1] for p in pairs), strict=True)
    ]
)
values = st.integers(-(10**8), 10**16)


@given(rising_tiers, values, values)
def test_with_rising_rates_stepped_never_exceeds_whole_and_both_grow_with_the_value(tiers_, v1, v2):
    low, high = sorted((v1, v2))
    for value in (low, high):
        assert 0 <= reward_units(value, tiers_, "stepped", CNY) <= reward_units(value, tiers_, "whole", CNY)
    for mode in ("whole", "stepped"):
        assert reward_units(low, tiers_, mode, CNY) <= reward_units(high, tiers_, mode, CNY)


@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**9)), min_size=1, max_size=6), values, values)
def test_stepped_grows_with_the_value_whatever_the_rates(pairs, v1, v2):
    starts = sorted({f for f, _ in pairs})
    tiers_ = [Tier(f * SCALE, r) for f, (_, r) in zip(starts, pairs, strict=False)]
    low, high = sorted((v1, v2))
    assert reward_units(low, tiers_, "stepped", CNY) <= reward_units(high, tiers_, "stepped", CNY)


def policy_bytes(**changes) -> bytes:
    return json.dumps({**CONTRACT_EXAMPLE, **changes}).encode()


def test_the_contract_example_reads_with_its_tiers_sorted():
    policy = read_policy(
        policy_bytes(
            rewards=[
                {
                    "indicator": "consumption",
                    "mode": "whole",
                    "tiers": [{"from": "10000", "rate": "0.03"}, {"from": "0", "rate": "0.02"}],
                }
            ]
        )
    )
    assert policy.policy_id == "2026Q4" and policy.periods == ["2026-10", "2026-11", "2026-12"]
    assert tiers_of(policy.rewards[0].tiers) == tiers(("0", "0.02"), ("10000", "0.03"))


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"policy_id": ""}, "policy_id"),
        ({"periods": []}, "periods"),
        ({"periods": ["2026-13"]}, "periods[0]"),
        ({"periods": ["2026-10", "2026-10"]}, "periods"),
        ({"indicators": []}, "indicators"),
        ({"indicators": [{"name": "x", "statistic": "revenue"}]}, "indicators[0].statistic"),
        ({"indicators": [{"name": "x", "statistic": "payable_amount"}] * 2}, "indicators"),
        (
            {"rewards": [{"indicator": "nope", "mode": "whole", "tiers": [{"from": "0", "rate": "1"}]}]},
            "rewards[0].indicator",
        ),
        (
            {"rewards": [{"indicator": "consumption", "mode": "flat", "tiers": [{"from": "0", "rate": "1"}]}]},
            "rewards[0].mode",
        ),
        ({"rewards": [{"indicator": "consumption", "mode": "whole", "tiers": []}]}, "rewards[0].tiers"),
        (
            {"rewards": [{"indicator": "consumption", "mode": "whole", "tiers": [{"from": 0, "rate": "1"}]}]},
            "rewards[0].tiers[0].from",
        ),
        (
            {"rewards": [{"indicator": "consumption", "mode": "whole", "tiers": [{"from": "0", "rate": "1e2"}]}]},
            "rewards[0].tiers[0].rate",
        ),
        (
            {"rewards": [{"indicator": "consumption", "mode": "whole", "tiers": [{"from": "-1", "rate": "1"}]}]},
            "rewards[0].tiers[0].from",
        ),
        (
            {"rewards": [{"indicator": "consumption", "mode": "whole", "tiers": [{"from": "0"}]}]},
            "rewards[0].tiers[0].rate",
        ),
    ],
)
def test_a_malformed_policy_names_its_field(changes, named):
    with pytest.raises(PolicyFileError) as raised:
        read_policy(policy_bytes(**changes))
    assert str(raised.value).startswith(f"{named}:"), raised.value


@pytest.mark.parametrize("text", [b"", b"not json", b"[]", b'{"policy_id": "x"'])
def test_a_file_that_is_not_a_policy_object_is_malformed(text):
    with pytest.raises(PolicyFileError):
        read_policy(text)


def test_two_tiers_with_the_same_from_are_refused_as_values():
    same_from = [{"from": "100", "rate": "0.01"}, {"from": "100.00", "rate": "0.02"}]
    with pytest.raises(Refused) as refused:
        read_policy(policy_bytes(rewards=[{"indicator": "consumption", "mode": "stepped", "tiers": same_from}]))
    assert refused.value.code == "duplicate_tier"


def test_a_policys_content_is_its_json_value_so_spacing_and_key_order_do_not_count_but_every_key_does():
    text = json.dumps(CONTRACT_EXAMPLE, indent=2).encode()
    content = policy_content(text)
    assert content == json.dumps(CONTRACT_EXAMPLE, sort_keys=True, separators=(",", ":"))
    reordered = json.dumps(dict(reversed(list(CONTRACT_EXAMPLE.items())))).encode()
    assert same_content(content, reordered)
    assert not same_content(content, policy_bytes(note="ignored by the engine, not by the comparison"))
    assert not same_content(content, policy_bytes(periods=["2026-10", "2026-11", "2026-12", "2027-01"]))


def test_a_policy_recorded_before_the_whole_file_was_kept_reads_with_empty_content():
    yesterday = {key: value for key, value in msgspec.to_builtins(loaded_policy()).items() if key != "content"}
    assert msgspec.json.decode(json.dumps(yesterday).encode(), type=IncentivePolicyLoaded).content == ""


def loaded_policy() -> IncentivePolicyLoaded:
    policy = read_policy(policy_bytes())
    return IncentivePolicyLoaded(
        originator_id="incentive_policies",
        originator_version=1,
        id="incentive_policy:2026Q4",
        recorded_at="2026-10-01T00:00:00.000000Z",
        policy_id=policy.policy_id,
        periods=policy.periods,
        indicators=policy.indicators,
        rewards=policy.rewards,
        content=policy_content(policy_bytes()),
    )


def assigned(manager: str, supervisor: str, at: str, version: int, recorded_at: str = "2026-10-01T00:00:00.000000Z"):
    return AccountManagerAssigned(
        originator_id="account_managers:p-1",
        originator_version=version,
        customer_id="",
        source="s",
        id=f"a-{version}",
        time="",
        at=at,
        recorded_at=recorded_at,
        fact=b"{}",
        partner_id="p-1",
        account_manager_id=manager,
        supervisor_id=supervisor,
    )


def test_the_latest_assignment_before_the_moment_stands():
    history = [
        assigned("am-1", "sv-1", "100", 1),
        assigned("am-2", "sv-1", "100", 2),
        assigned("am-2", "sv-2", "300", 3),  # moved at 300
        assigned("am-3", "sv-1", "500", 4),  # not yet at 500
        assigned("am-1", "sv-2", "050", 5),  # recorded late, but earlier in business time
    ]
    assert managers_of(supervisors_before(history, "300"), "sv-1") == {"am-1", "am-2"}
    assert managers_of(supervisors_before(history, "301"), "sv-1") == {"am-1"}
    assert managers_of(supervisors_before(history, "301"), "sv-2") == {"am-2"}
    assert managers_of(supervisors_before(history, "999"), "sv-9") == frozenset()


def test_at_one_instant_the_later_recorded_assignment_wins_and_a_recorded_bound_applies():
    history = [assigned("am-1", "sv-1", "100", 1), assigned("am-1", "sv-2", "100", 2, "2026-11-02T00:00:00.000000Z")]
    assert supervisors_before(history, "200") == {"am-1": "sv-2"}
    assert supervisors_before(history, "200", recorded_by="2026-11-01T00:00:00.000000Z") == {"am-1": "sv-1"}
