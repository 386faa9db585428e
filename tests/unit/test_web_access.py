"""Who may read or do what (CONTRACT.md §10), tokens' rules, and the console's helpers."""

from __future__ import annotations

import pytest

from engine.tokens import Principal, looks_like_token, scope_problem, token_hash
from projections.queries import Scope
from web.access import (
    OPERATOR_WRITES,
    PARTNER_WRITES,
    own_partner,
    require_read,
    require_write,
    view_scope,
)
from web.charts import bar_chart
from web.errors import ApiError
from web.i18n import LABELS, choose_language

OPERATOR = Principal("t-1", "operator")
AUDITOR = Principal("t-2", "auditor")
PARTNER = Principal("t-3", "partner", "p-1")
RESELLER = Principal("t-4", "reseller", "p-1", indirect_partner_id="r-1")
MANAGER = Principal("t-5", "account_manager", "p-1", account_manager_id="a-1")


def allowed(check, *args) -> bool:
    try:
        check(*args)
    except ApiError as error:
        assert error.status_code == 403 and error.code == "forbidden"
        return False
    return True


@pytest.mark.parametrize("who", [OPERATOR, AUDITOR])
def test_operators_and_auditors_read_everything_replay_included(who):
    assert all(allowed(require_read, who, kind, "p-9") for kind in ("views", "replay", "rejected", "statements"))


def test_a_partner_reads_its_own_partners_data_and_nothing_global():
    assert allowed(require_read, PARTNER, "views", "p-1") and allowed(require_read, PARTNER, "payments", "p-1")
    assert not allowed(require_read, PARTNER, "views", "p-2")
    assert not allowed(require_read, PARTNER, "replay") and not allowed(require_read, PARTNER, "rejected")


@pytest.mark.parametrize("who", [RESELLER, MANAGER])
def test_scoped_readers_read_only_their_partners_views(who):
    assert allowed(require_read, who, "views", "p-1")
    assert not allowed(require_read, who, "views", "p-2")
    assert not allowed(require_read, who, "statements", "p-1") and not allowed(require_read, who, "account", "p-1")


def test_only_operators_write_everything_and_partners_write_their_own_account():
    assert allowed(require_write, OPERATOR, "close_period") and allowed(
        require_write, OPERATOR, "account_transfer", "p-9"
    )
    assert allowed(require_write, PARTNER, "statement_response", "p-1")
    assert not allowed(require_write, PARTNER, "statement_response", "p-2")
    assert not allowed(require_write, PARTNER, "close_period")
    assert not any(allowed(require_write, who, "account_transfer", "p-1") for who in (AUDITOR, RESELLER, MANAGER))


def test_a_partner_listing_reads_the_tokens_own_partner_and_naming_another_is_403():
    assert own_partner(PARTNER, "statements", None) == "p-1"
    assert own_partner(PARTNER, "payments", "p-1") == "p-1"
    assert not allowed(own_partner, PARTNER, "payments", "p-2")
    assert own_partner(OPERATOR, "statements", None) is None and own_partner(AUDITOR, "transfers", "p-9") == "p-9"
    assert not any(allowed(own_partner, who, "statements", None) for who in (RESELLER, MANAGER))


@pytest.mark.parametrize("action", sorted(OPERATOR_WRITES))
def test_closing_crediting_incentives_and_answering_for_customers_or_reviews_are_the_operators(action):
    assert allowed(require_write, OPERATOR, action, "p-1")
    assert not any(allowed(require_write, who, action, "p-1") for who in (AUDITOR, PARTNER, RESELLER, MANAGER))


@pytest.mark.parametrize("action", sorted(PARTNER_WRITES))
def test_a_partner_takes_its_own_actions_only_and_an_auditor_none(action):
    assert allowed(require_write, PARTNER, action, "p-1") and not allowed(require_write, PARTNER, action, "p-2")
    assert not allowed(require_write, AUDITOR, action, "p-1")


def test_a_scoped_token_always_reads_under_its_own_scope_and_may_narrow_it():
    assert view_scope(RESELLER, None, None) == Scope(indirect_partner_id="r-1")
    assert view_scope(RESELLER, "a-7", "r-1") == Scope(account_manager_id="a-7", indirect_partner_id="r-1")
    assert view_scope(MANAGER, None, "r-3") == Scope(account_manager_id="a-1", indirect_partner_id="r-3")
    assert view_scope(PARTNER, "a-2", None) == Scope(account_manager_id="a-2")
    assert not allowed(view_scope, RESELLER, None, "r-2") and not allowed(view_scope, MANAGER, "a-2", None)


@pytest.mark.parametrize(
    "role, partner, reseller, manager, problem",
    [
        ("operator", None, None, None, None),
        ("partner", "p-1", None, None, None),
        ("reseller", "p-1", "r-1", None, None),
        ("account_manager", "p-1", None, "a-1", None),
        ("partner", None, None, None, "needs --partner"),
        ("reseller", "p-1", None, None, "needs --reseller"),
        ("account_manager", "p-1", None, None, "needs --account-manager"),
        ("operator", "p-1", None, None, "--partner does not apply"),
        ("partner", "p-1", "r-1", None, "--reseller does not apply"),
        ("partner", "x" * 65, None, None, "1..64"),
        ("owner", None, None, None, "--role must be one of"),
    ],
)
def test_each_role_takes_exactly_its_scope(role, partner, reseller, manager, problem):
    found = scope_problem(role, partner, reseller, manager)
    assert found == problem if problem is None else problem in found


def test_a_token_is_stored_as_its_sha256_and_only_our_shape_is_looked_up():
    assert (
        token_hash("bt_abc") == "e837438f58fa9b8eee13cb51cdb67282b7f0d9e563a68721ef02a5c24433f601"
    )  # sha256 of the UTF-8 text
    assert looks_like_token("bt_" + "a" * 43)
    assert not looks_like_token("a" * 43) and not looks_like_token("bt_" + "a" * 200) and not looks_like_token("bt_é")


def test_every_label_has_chinese_and_english_and_the_language_follows_cookie_then_browser():
    assert all((zh and en and zh != en) or key in ("none",) for key, (zh, en) in LABELS.items())
    assert choose_language("en", "zh-CN") == "en"
    assert choose_language(None, "en-US,en;q=0.9") == "en"
    assert choose_language(None, "zh-CN,zh;q=0.9") == "zh" and choose_language("xx", None) == "zh"


def test_the_chart_draws_a_bar_per_period_with_its_exact_amount_and_marks_the_chosen_one():
    svg = bar_chart([("2026-09", "10.00"), ("2026-10", "-2.50"), ("2026-11", "30.25")], "settled", "2026-10")
    assert svg.startswith("<svg") and svg.count("<rect") == 3
    assert 'data-amount="-2.50"' in svg and 'class="bar current" data-period="2026-10"' in svg
    assert bar_chart([], "settled") == ""
