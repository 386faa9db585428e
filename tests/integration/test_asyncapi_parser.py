"""schemas/asyncapi.json parses with the AsyncAPI initiative's own parser
(@asyncapi/parser on npm), run with node where node is on the machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PARSER = "@asyncapi/parser@3.6.0"
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "validate_asyncapi.mjs"


@pytest.fixture(scope="session")
def parser_dir(tmp_path_factory) -> Path:
    """$ASYNCAPI_PARSER_DIR (where .ci/run installed it), else installed here with npm."""
    if shutil.which("node") is None:
        pytest.skip("node is not on this machine")
    given = os.environ.get("ASYNCAPI_PARSER_DIR")
    if given:
        return Path(given)
    if shutil.which("npm") is None:
        pytest.skip("npm is not on this machine")
    folder = tmp_path_factory.mktemp("asyncapi-parser")
    installed = subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(folder), PARSER],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if installed.returncode != 0:
        pytest.skip(f"npm could not install {PARSER}: {installed.stderr[-500:]}")
    return folder


@pytest.mark.slow
def test_the_asyncapi_document_has_no_error_or_warning_for_the_asyncapi_parser(parser_dir):
    parsed = subprocess.run(
        ["node", str(SCRIPT), str(parser_dir), str(ROOT / "schemas" / "asyncapi.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert parsed.returncode == 0, parsed.stderr
    diagnostics = json.loads(parsed.stdout)
    problems = [d for d in diagnostics if d["severity"] in (0, 1)]  # 0 error, 1 warning; 2-3 hints
    assert problems == [], "\n".join(f"{'.'.join(map(str, d['path']))}: {d['message']}" for d in problems)
