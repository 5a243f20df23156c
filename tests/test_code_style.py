"""The tree is ruff-clean: formatted and lint-free (the test command is what CI runs)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ruff(*arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ruff"] if shutil.which("ruff") is None else ["ruff"]
    return subprocess.run([*command, *arguments], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("check", [("format", "--check"), ("check",)], ids=["format", "lint"])
def test_the_tree_is_ruff_clean(check):
    result = ruff(*check, ".")
    assert result.returncode == 0, (
        f"`ruff {' '.join(check)} .` failed; run `ruff format .` / `ruff check --fix .`:\n"
        + result.stdout[-3000:]
        + result.stderr[-1000:]
    )
