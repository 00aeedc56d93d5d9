"""Decode workers' shared-memory tables do not outlive the workers that wrote them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from annotrace.collector.pipeline.workers import remove_stale_tables


def test_tables_of_dead_workers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid = int(gone.stdout)
    left = tmp_path / f"annotrace-{dead_pid}-7.arrow"  # a collector was killed before mapping it
    live = tmp_path / f"annotrace-{os.getpid()}-1.arrow"
    other = tmp_path / "somebody-else.arrow"
    for path in (left, live, other):
        path.write_bytes(b"x")
    assert remove_stale_tables(str(tmp_path)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])
