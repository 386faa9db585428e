"""Token handlers (CONTRACT.md §10): create, revoke, list, and authenticate a request.

Tokens are written in one write transaction of the ledger (`record_decision`) that
appends no event: a token is an access setting, not a business fact, and is not logged.
"""

from __future__ import annotations

import secrets

from commands.bootstrap import Engine
from engine.errors import Refused
from engine.recording import Decision
from engine.tokens import TOKEN_PREFIX, Principal, looks_like_token, token_hash
from schemas.tokens import NewToken, TokenEntry, TokenList

_COLUMNS = "token_id, role, partner_id, indirect_partner_id, account_manager_id, name, created_at, revoked_at"


def create_token(
    engine: Engine,
    role: str,
    partner_id: str | None = None,
    indirect_partner_id: str | None = None,
    account_manager_id: str | None = None,
    name: str | None = None,
) -> NewToken:
    """Records a new token (the caller has checked the role's scope); returns its
    secret, which is never stored."""
    token_id = "tok_" + secrets.token_hex(8)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)

    def decide(decision: Decision) -> NewToken:
        decision.execute(
            "INSERT INTO {t}api_tokens (token_id, token_hash, role, partner_id, indirect_partner_id, "
            "account_manager_id, name, created_at, revoked_at) VALUES (?,?,?,?,?,?,?,?,NULL)",
            (
                token_id,
                token_hash(secret),
                role,
                partner_id,
                indirect_partner_id,
                account_manager_id,
                name,
                decision.recorded_at,
            ),
        )
        return NewToken(
            token_id, secret, role, partner_id, indirect_partner_id, account_manager_id, name, decision.recorded_at
        )

    return engine.ledger.record_decision(decide)


def revoke_token(engine: Engine, token_id: str) -> TokenEntry:
    """Revokes a token from now on; revoking it again changes nothing (the first
    revocation's time stays). An unknown id is refused (`unknown_token`)."""

    def decide(decision: Decision) -> TokenEntry:
        rows = decision.rows(f"SELECT {_COLUMNS} FROM {{t}}api_tokens WHERE token_id=?", (token_id,))
        if not rows:
            raise Refused("unknown_token", f"no token with id {token_id!r}")
        entry = TokenEntry(*rows[0])
        if entry.revoked_at is None:
            decision.execute("UPDATE {t}api_tokens SET revoked_at=? WHERE token_id=?", (decision.recorded_at, token_id))
            entry.revoked_at = decision.recorded_at
        return entry

    return engine.ledger.record_decision(decide)


def list_tokens(engine: Engine) -> TokenList:
    """Every token, oldest first, without secrets (none in a store older than tokens)."""
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as c:
        if not recorder.has_table(c, "api_tokens"):
            return TokenList(tokens=[])
        rows = recorder.rows(c, f"SELECT {_COLUMNS} FROM {{t}}api_tokens ORDER BY seq")
    return TokenList(tokens=[TokenEntry(*row) for row in rows])


def authenticate(engine: Engine, secret: str) -> Principal | None:
    """The principal of a live (not revoked) token, or None."""
    if not looks_like_token(secret):
        return None
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as c:
        rows = recorder.rows(
            c,
            "SELECT token_id, role, partner_id, indirect_partner_id, account_manager_id FROM {t}api_tokens "
            "WHERE token_hash=? AND revoked_at IS NULL",
            (token_hash(secret),),
        )
    return Principal(*rows[0]) if rows else None
