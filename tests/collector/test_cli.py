"""The ``annotrace`` command: validate, serve refusing bad configs, and sql in every output format."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.collector_process import Collector, write_config
from tests.otlp_builders import new_span_id, new_trace_id, request, span

REPO = Path(__file__).resolve().parents[2]


def annotrace(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "annotrace.collector", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_the_shipped_config_is_valid() -> None:
    result = annotrace("validate", "--config", str(REPO / "otel-config.yaml"))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("max_backlog_mib: 256", "max_backlog_mib: 256\n    colour: blue"),
            "extensions::spool: has invalid keys: colour",
        ),
        (
            ("processors: [genai, batch]", "processors: [genai, batch/2]"),
            'service::pipelines::traces: references processor "batch/2" which is not configured',
        ),
        (("max_recv_msg_size_mib: 64", "max_recv_msg_size_mib: lots"), "max_recv_msg_size_mib"),
        (("exporters: [duckdb]\n    logs", "exporters: [nowhere]\n    logs"), "nowhere"),
        (
            ("127.0.0.1:5000}\n", "127.0.0.1:5000}\n    sql: {memory_limit_mib: 8}\n"),
            "extensions::web::sql: memory_limit_mib must be at least 32",
        ),
        (("127.0.0.1:5000}\n", "127.0.0.1:5000}\n    sql: {timeout: soon}\n"), "extensions::web::sql::timeout"),
    ],
)
def test_bad_configs_stop_start_up_with_a_message_naming_the_problem(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    text = (REPO / "otel-config.yaml").read_text()
    assert edit[0] in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(edit[0], edit[1], 1))
    for command in ("validate", "serve"):
        result = annotrace(command, "--config", str(bad), cwd=tmp_path)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert message in result.stderr
        assert "Traceback" not in result.stderr


def test_env_substitution_in_the_shipped_config(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "annotrace.collector", "validate", "--config", str(REPO / "otel-config.yaml")],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "ANNOTRACE_GRPC_ENDPOINT": "nonsense"},
    )
    assert result.returncode == 2
    assert "receivers::otlp::protocols::grpc" in result.stderr and "nonsense" in result.stderr


def _seed(collector: Collector) -> str:
    trace_id = new_trace_id()
    root = new_span_id()
    spans = [span(trace_id, root, name="cli-root"), span(trace_id, new_span_id(), parent=root, name="cli-child")]
    httpx.post(
        f"{collector.http}/v1/traces",
        content=request(spans).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    ).raise_for_status()
    tid = "tr-" + trace_id.hex()
    collector.wait_for(f"SELECT span_count FROM traces WHERE trace_id = '{tid}'", [{"span_count": 2}])
    return tid


def test_sql_against_a_running_and_then_a_stopped_collector(
    fresh_collector: Callable[..., Collector], tmp_path: Path
) -> None:
    collector = fresh_collector()
    tid = _seed(collector)
    query = f"SELECT name, span_count FROM traces WHERE trace_id = '{tid}'"

    table = annotrace("sql", query, "--url", collector.web)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["name", "|", "span_count"]
    assert "cli-root" in table.stdout and "(1 row)" in table.stdout

    as_json = annotrace("sql", query, "--url", collector.web, "--format", "json")
    assert json.loads(as_json.stdout) == [{"name": "cli-root", "span_count": 2}]

    refused = annotrace("sql", "DROP TABLE spans", "--url", collector.web)
    assert refused.returncode == 1
    assert "Only read-only queries" in refused.stderr

    assert collector.stop() == 0
    as_csv = annotrace("sql", query, "--db", str(collector.db_path), "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines() == ["name,span_count", "cli-root,2"]

    out = tmp_path / "out.parquet"
    parquet = annotrace(
        "sql",
        "SELECT name FROM spans ORDER BY name",
        "--db",
        str(collector.db_path),
        "--format",
        "parquet",
        "--output",
        str(out),
    )
    assert parquet.returncode == 0, parquet.stderr
    import pyarrow.parquet as pq

    assert pq.read_table(out).to_pydict() == {"name": ["cli-child", "cli-root"]}

    for hostile in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY spans TO '/tmp/x.csv'",
        f"ATTACH '{tmp_path / 'x.db'}'",
        "SELECT 1; SELECT 2",
        "INSTALL httpfs",
        "SET enable_external_access = true",
        "DELETE FROM spans",
    ):
        result = annotrace("sql", hostile, "--db", str(collector.db_path))
        assert result.returncode == 1, (hostile, result.stdout)
    recount = annotrace("sql", "SELECT count(*) AS n FROM spans", "--db", str(collector.db_path), "--format", "json")
    assert json.loads(recount.stdout) == [{"n": 2}]


def test_sql_uses_the_config_to_find_the_collector(fresh_collector: Callable[..., Collector]) -> None:
    collector = fresh_collector()
    _seed(collector)
    collector.stop()
    config = write_config(collector.directory)  # points at the same database file
    result = annotrace("sql", "SELECT count(*) AS n FROM spans", "--config", str(config), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": 2}]


def test_version() -> None:
    result = annotrace("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"annotrace {__import__('importlib.metadata').metadata.version('annotrace')}"


def test_sql_on_a_file_a_collector_holds_says_who_holds_it(fresh_collector: Callable[..., Collector]) -> None:
    collector = fresh_collector()
    result = annotrace("sql", "SELECT 1", "--db", str(collector.db_path))
    assert result.returncode == 1
    path = re.escape(str(collector.db_path))
    assert re.fullmatch(
        rf"annotrace: Cannot read {path}: {path} is in use by process {collector.process.pid} "
        r"\(.*python.*\): another collector, or an `annotrace sql --db` still running "
        r"\(if a collector runs, ask it: --url\)\n",
        result.stderr,
    ), result.stderr


def test_serve_outside_the_checkout_says_where_it_looked_for_the_config(tmp_path: Path) -> None:
    for command in ("serve", "validate"):
        result = annotrace(command, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr == (
            f"annotrace: no otel-config.yaml in {tmp_path}: run from the annotrace checkout "
            "(it has one) or pass --config PATH\n"
        )
