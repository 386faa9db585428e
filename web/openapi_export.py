"""`python -m web.openapi_export [--check]`: writes the API's OpenAPI document to
`schemas/openapi.json` (the same bytes /api/v1/openapi.json serves); `--check` writes
nothing and exits 1 when the checked-in copy differs from what the routes give."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from web.app import create_app, document_json

CHECKED_IN = Path(__file__).resolve().parent.parent / "schemas" / "openapi.json"


def generate() -> bytes:
    return document_json(create_app(None))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.openapi_export", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    parser.add_argument("--path", type=Path, default=CHECKED_IN, help="where the document lives (default: %(default)s)")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        if not args.path.is_file() or args.path.read_bytes() != text:
            print(f"{args.path} differs from the API's routes: run python -m web.openapi_export", file=sys.stderr)
            return 1
        return 0
    args.path.write_bytes(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
