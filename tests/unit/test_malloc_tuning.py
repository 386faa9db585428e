"""The malloc threshold every `billing` process sets (commands/malloc_tuning.py)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from commands.malloc_tuning import map_large_blocks_apart


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the threshold is glibc's")
def test_glibc_takes_the_threshold_in_a_fresh_process():
    code = "from commands.malloc_tuning import map_large_blocks_apart; print(map_large_blocks_apart())"
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert ran.stdout.strip() == "True"


def test_a_threshold_the_user_chose_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "262144")
    assert map_large_blocks_apart() is False
