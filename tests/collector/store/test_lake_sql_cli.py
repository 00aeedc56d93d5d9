"""``annotrace sql --db <config>`` on a DuckLake store: the CLI reads the lake the configuration names
(its PostgreSQL catalog and data directory) directly, with or without a collector running."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable

from tests.collector.store.lake_support import LAKE_PYTHON, Lake, needs_lake, span_provider
from tests.collector_process import Collector

pytestmark = needs_lake


def _annotrace(*argv: str) -> subprocess.CompletedProcess[str]:
    """The ``annotrace`` command of the lake's environment (duckdb 1.5 with the DuckLake extensions)."""
    return subprocess.run(
        [str(LAKE_PYTHON), "-m", "annotrace.collector", *argv], capture_output=True, text=True, timeout=120
    )


def test_sql_reads_the_lake_a_config_names_while_its_collector_runs_and_after(
    lake: Lake, lake_collector: Callable[..., Collector]
) -> None:
    collector = lake_collector("a", lake)
    provider = span_provider(collector, f"svc-{uuid.uuid4().hex[:6]}")
    with provider.get_tracer("t").start_as_current_span("cli-root"):
        pass
    provider.shutdown()
    assert collector.sql("SELECT name FROM traces") == [{"name": "cli-root"}]  # stored (the read barrier)
    config = str(collector.directory / "config.yaml")
    query = "SELECT t.name, t.span_count, (SELECT count(*) FROM spans) AS spans FROM traces t"

    running = _annotrace("sql", query, "--db", config, "--format", "json")
    assert running.returncode == 0, running.stderr
    assert json.loads(running.stdout) == [{"name": "cli-root", "span_count": 1, "spans": 1}]

    assert collector.stop() == 0
    stopped = _annotrace("sql", query, "--db", config, "--format", "csv")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.splitlines() == ["name,span_count,spans", "cli-root,1,1"]
    for hostile in ("DELETE FROM spans", "SELECT * FROM read_csv('/etc/passwd')", "ATTACH 'x.db'"):
        refused = _annotrace("sql", hostile, "--db", config)
        assert refused.returncode == 1, (hostile, refused.stdout)
    assert json.loads(
        _annotrace("sql", "SELECT count(*) AS n FROM spans", "--db", config, "--format", "json").stdout
    ) == [{"n": 1}]
