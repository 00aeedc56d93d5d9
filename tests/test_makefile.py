"""``make clean`` never deletes stored data; ``make clean-data`` does, and says what it deletes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def make(target: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-f", str(REPO / "Makefile"), target], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_clean_keeps_the_data_and_clean_data_says_what_it_deletes(tmp_path: Path) -> None:
    data = tmp_path / "annotrace-data"
    (data / "spool").mkdir(parents=True)
    (data / "annotrace.duckdb").write_bytes(b"every stored trace")
    (tmp_path / "build").mkdir()

    assert make("clean", tmp_path).returncode == 0
    assert not (tmp_path / "build").exists()
    assert (data / "annotrace.duckdb").read_bytes() == b"every stored trace"

    result = make("clean-data", tmp_path)
    assert result.returncode == 0
    assert "every trace" in result.stdout and "./annotrace-data" in result.stdout
    assert not data.exists()
