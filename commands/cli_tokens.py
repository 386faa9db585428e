"""`billing token create|revoke` and `billing tokens` (CONTRACT.md §10)."""

from __future__ import annotations

import argparse

from commands import render
from commands.bootstrap import Engine, open_engine
from commands.cli_support import EXIT_OK, AddParser, Handler, Parser, UsageError, print_json, with_engine
from commands.settings import Settings
from engine.tokens import MAX_NAME_LENGTH, ROLES, scope_problem
from schemas.tokens import NewToken, TokenEntry, TokenList

_STORE_HELP = "store URL, as the global --store (default: $BILLING_STORE or sqlite:///billing.db)"


def add_commands(add_parser: AddParser) -> dict[str, Handler]:
    token = add_parser("token", help="create or revoke an API token for `billing web`")
    actions = token.add_subparsers(dest="token_command", required=True, parser_class=Parser)
    create = actions.add_parser("create", help="create a token and print it once (the store keeps only its hash)")
    create.add_argument("--role", required=True, choices=ROLES, help="what the token may do (required)")
    create.add_argument(
        "--partner", metavar="ID", help="the partner (roles partner, reseller, account_manager; default: none)"
    )
    create.add_argument(
        "--reseller", metavar="ID", help="the reseller's indirect_partner_id (role reseller; default: none)"
    )
    create.add_argument(
        "--account-manager", metavar="ID", help="the account manager (role account_manager; default: none)"
    )
    create.add_argument("--name", metavar="TEXT", help="a note saying whose token it is (default: none)")
    revoke = actions.add_parser("revoke", help="revoke a token: requests carrying it get 401 from now on")
    revoke.add_argument("--id", required=True, metavar="TOKEN_ID", help="the token's id (required)")
    for parser in (create, revoke):
        parser.add_argument("--json", action="store_true", help="print JSON (default: a readable text)")
        parser.add_argument("--store", default=argparse.SUPPRESS, help=_STORE_HELP)
    tokens = add_parser("tokens", help="list API tokens (never their secrets)")
    tokens.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    return {"token": _token, "tokens": with_engine(_tokens, _tokens_table)}


def _token(args: argparse.Namespace, settings: Settings) -> int:
    if args.token_command == "create":
        problem = scope_problem(args.role, args.partner, args.reseller, args.account_manager)
        if problem is None and args.name is not None and len(args.name) > MAX_NAME_LENGTH:
            problem = f"--name must be at most {MAX_NAME_LENGTH} characters"
        if problem is not None:
            raise UsageError(problem)
    from commands.tokens import create_token, revoke_token

    with open_engine(settings, create=args.token_command == "create") as engine:
        if args.token_command == "create":
            result: NewToken | TokenEntry = create_token(
                engine, args.role, args.partner, args.reseller, args.account_manager, args.name
            )
        else:
            result = revoke_token(engine, args.id)
    if args.json:
        print_json(result)
    elif isinstance(result, NewToken):
        print(_new_token_text(result))
    else:
        print(f"revoked: {result.token_id} (at {result.revoked_at})")
    return EXIT_OK


def _new_token_text(token: NewToken) -> str:
    lines = [f"token_id: {token.token_id}", f"role: {token.role}"]
    for label, value in (
        ("partner", token.partner_id),
        ("reseller", token.indirect_partner_id),
        ("account manager", token.account_manager_id),
        ("name", token.name),
    ):
        if value is not None:
            lines.append(f"{label}: {value}")
    lines += [f"token: {token.token}", "(shown only this once: the store keeps only its hash)"]
    return "\n".join(lines)


def _tokens(engine: Engine, args: argparse.Namespace) -> TokenList:
    from commands.tokens import list_tokens

    return list_tokens(engine)


def _tokens_table(result: TokenList) -> str:
    if not result.tokens:
        return "no tokens"
    return render.table(
        ["token_id", "role", "partner", "reseller", "account manager", "name", "created", "revoked"],
        [
            (
                t.token_id,
                t.role,
                t.partner_id,
                t.indirect_partner_id,
                t.account_manager_id,
                t.name,
                t.created_at,
                t.revoked_at,
            )
            for t in result.tokens
        ],
        numeric_from=99,
    )
