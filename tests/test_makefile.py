"""``make clean`` never deletes stored data; ``make clean-data`` does, and says what it deletes. The
line limit of ``make lint`` fails on a long module."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def make(target: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-f", str(REPO / "Makefile"), target], capture_output=True, text=True, cwd=cwd, timeout=60
    )


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


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_line_limit_fails_on_a_module_over_400_lines(tmp_path: Path) -> None:
    for folder in ("collector", "instrumentation", "tests", "bench"):
        (tmp_path / folder).mkdir()
    (tmp_path / "collector" / "short.py").write_text("x = 1\n" * 400)
    assert make("lint-lines", tmp_path).returncode == 0

    (tmp_path / "collector" / "long.py").write_text("x = 1\n" * 401)
    result = make("lint-lines", tmp_path)
    assert result.returncode != 0
    assert "over 400 lines: collector/long.py (401)" in result.stdout
