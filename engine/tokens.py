"""API tokens and the roles they carry (CONTRACT.md §10): the rules, no I/O.

A token is a high-entropy random secret shown once; the store keeps only its SHA-256
(a secret of 256 random bits needs no slow hash: nothing can be guessed from it), so
a leaked store reveals no usable token. Tokens are access settings, not facts of the
business: they live in their own table and are not in the log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

OPERATOR, AUDITOR, PARTNER, RESELLER, ACCOUNT_MANAGER = "operator", "auditor", "partner", "reseller", "account_manager"
ROLES = (OPERATOR, AUDITOR, PARTNER, RESELLER, ACCOUNT_MANAGER)
# Which of (--partner, --reseller, --account-manager) each role needs; it takes no other.
ROLE_SCOPE = {
    OPERATOR: (False, False, False),
    AUDITOR: (False, False, False),
    PARTNER: (True, False, False),
    RESELLER: (True, True, False),
    ACCOUNT_MANAGER: (True, False, True),
}
TOKEN_PREFIX = "bt_"
MAX_TOKEN_LENGTH = 128  # longer input is no token of ours: refused before hashing
MAX_NAME_LENGTH = 256

TOKENS_DDL = [
    # seq: creation order (created_at is the store's clock, which BILLING_NOW may fix).
    "CREATE TABLE IF NOT EXISTS {t}api_tokens ("
    "seq {serial}, token_id {key} NOT NULL UNIQUE, token_hash {key} NOT NULL UNIQUE, role {text} NOT NULL, "
    "partner_id {key}, indirect_partner_id {key}, account_manager_id {key}, name {text}, "
    "created_at {text} NOT NULL, revoked_at {text})",
]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request speaks for: a token's role and scope."""

    token_id: str
    role: str
    partner_id: str | None = None
    indirect_partner_id: str | None = None
    account_manager_id: str | None = None

    @property
    def reads_everything(self) -> bool:
        return self.role in (OPERATOR, AUDITOR)

    @property
    def is_scoped(self) -> bool:
        """A reseller or account manager: sees only what carries its id."""
        return self.role in (RESELLER, ACCOUNT_MANAGER)


def scope_problem(
    role: str, partner_id: str | None, indirect_partner_id: str | None, account_manager_id: str | None
) -> str | None:
    """Why a role cannot take this scope (None: it can), naming the option at fault."""
    if role not in ROLE_SCOPE:
        return f"--role must be one of {', '.join(ROLES)}, not {role!r}"
    given = (partner_id, indirect_partner_id, account_manager_id)
    for option, needed, value in zip(
        ("--partner", "--reseller", "--account-manager"), ROLE_SCOPE[role], given, strict=True
    ):
        if needed and value is None:
            return f"role {role} needs {option}"
        if not needed and value is not None:
            return f"{option} does not apply to role {role}"
        if value is not None and not 1 <= len(value) <= 64:
            return f"{option} must be 1..64 characters"
    return None


def token_hash(secret: str) -> str:
    """The stored form of a token: hex SHA-256 of its UTF-8 text."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def looks_like_token(secret: str) -> bool:
    """Cheap check before any look-up: our tokens are short printable ASCII."""
    return (
        secret.startswith(TOKEN_PREFIX)
        and len(secret) <= MAX_TOKEN_LENGTH
        and secret.isascii()
        and secret.isprintable()
    )
