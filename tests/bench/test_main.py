"""``python -m bench --smoke``: every scenario of ``make bench`` at a toy size (``bench/options.py``),
so a change that breaks one (a renamed column, a moved function, a collector that no longer starts)
fails here instead of in the next person's benchmark run.

Marked ``slow`` by ``tests/conftest.py``: it starts some twenty collectors (4 minutes at load
average 6 on 2 cores, 21 at load average 20). It checks that each scenario printed its figures, never what they are:
speed is the bench's business, not the tests'. The lake scenario needs Debian's PostgreSQL and
``.venv-lake`` (both from ``make install``); without them the bench says it skipped the lake, and
this test checks only that.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.lake import LAKE_PYTHON
from tests.postgres import binaries

REPO = Path(__file__).resolve().parents[2]
N = r"[\d,.]+"
FIGURES = {
    "decode": rf"= spans -> rows ceiling\s+{N} spans/s",
    "writer": rf"KB\s+{N}\s+16,384\s+{N}\s+{N}\s+{N}\n",
    "grpc, grpc2k, stub, http, half, half2k, overload": rf"accepted {N}/s, durable {N}\*?/s",
    "ryw": rf"ingest with the probes on: accepted {N}/s, durable {N}\*?/s",
    "assessments": rf"log_feedback round trip \(SDK\), sequential\s+{N}",
    "agreement": rf"agreement report, 200 items .*: {N} ms",
    "auth": rf"cost of a bearer token on ingest: median [+-]{N}%",
    "sqlrows": rf"count spans\s+admin {N} ms",
    "growth": rf"peak RSS 10k / 1k <= 1.10\s+{N}",
}
LOAD_SCENARIOS = 7
"""Summary lines of the OTLP load scenarios (grpc, grpc2k, stub, http, half, half2k, overload)."""
LAKE_FIGURES = (
    rf"lake, 1 collector\(s\): durable {N} spans/s",
    rf"2 vs 1 lake collectors: x{N}",
    rf"1 lake collector vs the embedded file: x{N}",
    r"at 8,000 spans \(bulk-loaded\)",
    rf"GROUP BY over spans \(model, span type\)\s+{N} / {N}\s+{N} / {N}",
    rf"open one trace \(GetTrace: row \+ spans\)\s+{N} / {N}\s+{N} / {N}",
    rf"bytes per span .*\s{N}\s+{N}\n",
)


def test_every_scenario_prints_its_figures(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--data-dir", str(tmp_path / "bench-data")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,  # a hung collector must not hang the suite; not a speed figure
    )
    assert run.returncode == 0, f"{run.stdout[-5000:]}\n{run.stderr[-5000:]}"
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-5000:]
    for scenario, pattern in FIGURES.items():
        assert re.search(pattern, run.stdout), f"{scenario}: no {pattern!r} in the report:\n{run.stdout}"
    assert len(re.findall(FIGURES["grpc, grpc2k, stub, http, half, half2k, overload"], run.stdout)) >= LOAD_SCENARIOS
    if binaries() is None or not LAKE_PYTHON.exists():
        assert "skipped: needs Debian postgresql and .venv-lake" in run.stdout
        return
    for pattern in LAKE_FIGURES:
        assert re.search(pattern, run.stdout), f"lake: no {pattern!r} in the report:\n{run.stdout}"
    assert "bulk load failed" not in run.stdout
