"""API tokens (CONTRACT.md §10) as `billing token create`, `billing tokens` and
`billing token revoke` print them with `--json`. Only `NewToken` ever holds the secret."""

from __future__ import annotations

from msgspec import Struct


class NewToken(Struct):
    """A token just created: the secret is shown this once and never stored."""

    token_id: str
    token: str
    role: str
    partner_id: str | None
    indirect_partner_id: str | None
    account_manager_id: str | None
    name: str | None
    created_at: str


class TokenEntry(Struct):
    """A token as listed: who it speaks for, never its secret."""

    token_id: str
    role: str
    partner_id: str | None
    indirect_partner_id: str | None
    account_manager_id: str | None
    name: str | None
    created_at: str
    revoked_at: str | None


class TokenList(Struct):
    """What `billing tokens --json` prints: every token, oldest first."""

    tokens: list[TokenEntry]
