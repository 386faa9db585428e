"""The command-line modules print and parse; what they read of a store goes through the
handlers' named read functions (commands/*.py), so no CLI module knows the recorder."""

from __future__ import annotations

import ast
from pathlib import Path

import commands

CLI_MODULES = sorted(Path(commands.__file__).parent.glob("cli*.py"))


def recorder_uses(path: Path) -> list[int]:
    """The lines of `path` that reach an attribute named `recorder`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "recorder"]


def test_the_cli_modules_are_found():
    assert {"cli.py", "cli_chain.py", "cli_views.py", "cli_support.py"} <= {path.name for path in CLI_MODULES}


def test_no_cli_module_reaches_the_recorder():
    reaching = {path.name: lines for path in CLI_MODULES if (lines := recorder_uses(path))}
    assert reaching == {}
