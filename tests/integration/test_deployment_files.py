"""The production files stay usable: compose.yaml valid against the Compose
specification's schema, the Dockerfile copying what exists, and the lock file pinning
every dependency the package declares, at the declared version."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_is_valid_against_the_compose_specification():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_the_postgresql_store_with_two_serve_workers():
    text = (ROOT / "compose.yaml").read_text()
    assert "BILLING_STORE: postgresql://" in text
    assert re.search(r"serve:\n(?:    .*\n)*?    deploy:\n      replicas: 2", text)
    assert 'command: ["project"]' in text


def test_every_dockerfile_copy_source_exists():
    sources = [
        part
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for part in line.split()[1:-1]
    ]
    assert sources and all((ROOT / source).exists() for source in sources), sources


def test_the_lock_file_pins_every_declared_dependency_at_its_declared_version():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    locked = {
        name.lower().replace("_", "-"): version
        for name, version in (
            line.split("==")
            for line in (ROOT / "requirements.lock").read_text().splitlines()
            if line and not line.startswith("#")
        )
    }
    for requirement in declared:
        name, _, version = requirement.partition("==")
        name = name.split("[")[0].lower().replace("_", "-")
        assert locked.get(name) == version, f"{requirement} is locked as {locked.get(name)}"
