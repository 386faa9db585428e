"""Who may read or do what (CONTRACT.md §10's role table), as pure rules.

Every endpoint names the kind of data it reads or the action it takes; these rules say
whether the request's principal may, for which partner, and under which scope. A
scoped reader's scope is forced onto its query (`view_scope`), never filtered after.

New features plug in by naming their kind here (a line each) and calling
`require_read` / `require_write` in their route.
"""

from __future__ import annotations

from engine.tokens import ACCOUNT_MANAGER, OPERATOR, PARTNER, RESELLER, Principal
from projections.queries import Scope
from web.errors import forbidden

# Kinds of data, by who may read them. A partner reads its own partner's; a reseller or
# account manager its partner's views, under its scope; operators and auditors all.
PARTNER_READS = frozenset(
    {
        "views",
        "statements",
        "account",
        "transfers",
        "payments",
        "incentives",
        "subsidies",
        "notifications",
        "resources",
        "authorizations",
    }
)
SCOPED_READS = frozenset({"views"})
# Reference data every signed-in reader may see (no partner's figures in it).
OPEN_READS = frozenset({"periods", "service_types"})
# Only operators and auditors: the whole store's data (every partner, raw inputs).
GLOBAL_READS = frozenset({"replay", "rejected", "ledger", "all_bills"})

# Actions a partner may take on its own account; operators may take every action.
PARTNER_WRITES = frozenset(
    {
        "statement_response",  # confirm or dispute its statements
        "account_transfer",  # top up, withdraw
        "warning",  # set or clear its balance warning
        "payment_submit",  # submit payment applications
        "authorization_request",  # ask a customer for authorization
    }
)
# Actions only operators take (listed so a route names a known action).
OPERATOR_WRITES = frozenset(
    {
        "close_period",
        "incentive_credit",  # a transfer of kind incentive
        "payment_review",  # approve, reject or pay a payment application
        "authorization_answer",  # approve, reject or revoke an authorization (the customer's answer)
    }
)


def require_read(who: Principal, kind: str, partner_id: str | None = None) -> None:
    """Raises 403 unless `who` may read `kind` (of `partner_id`, for partner data)."""
    if who.reads_everything or kind in OPEN_READS:
        return
    if kind in GLOBAL_READS:
        raise forbidden(f"role {who.role} may not read {kind}")
    allowed = PARTNER_READS if who.role == PARTNER else SCOPED_READS
    if kind not in allowed:
        raise forbidden(f"role {who.role} may not read {kind}")
    if partner_id is not None and partner_id != who.partner_id:
        raise forbidden(f"this token reads partner {who.partner_id}'s data only")


def own_partner(who: Principal, kind: str, requested: str | None) -> str | None:
    """The partner a listing reads: for a partner token its own (naming another is
    403), for operators and auditors the one asked for (None: every partner's)."""
    require_read(who, kind, requested if requested is not None or who.reads_everything else who.partner_id)
    return requested if who.reads_everything else who.partner_id


def require_write(who: Principal, action: str, partner_id: str | None = None) -> None:
    """Raises 403 unless `who` may take `action` (on `partner_id`'s account)."""
    assert action in PARTNER_WRITES or action in OPERATOR_WRITES, action
    if who.role == OPERATOR:
        return
    if who.role != PARTNER or action not in PARTNER_WRITES:
        raise forbidden(f"role {who.role} may not {action.replace('_', ' ')}")
    if partner_id != who.partner_id:
        raise forbidden(f"this token acts for partner {who.partner_id} only")


def view_scope(who: Principal, account_manager_id: str | None, indirect_partner_id: str | None) -> Scope:
    """The scope a view is read under: what the request asks for, narrowed by (and
    never wider than) the token's own scope. Asking for another scope is 403."""
    if who.role == RESELLER:
        if indirect_partner_id not in (None, who.indirect_partner_id):
            raise forbidden(f"this token reads reseller {who.indirect_partner_id}'s customers only")
        indirect_partner_id = who.indirect_partner_id
    elif who.role == ACCOUNT_MANAGER:
        if account_manager_id not in (None, who.account_manager_id):
            raise forbidden(f"this token reads account manager {who.account_manager_id}'s customers only")
        account_manager_id = who.account_manager_id
    return Scope(account_manager_id=account_manager_id, indirect_partner_id=indirect_partner_id)
