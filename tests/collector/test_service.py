"""Start-up refusals a new user meets: a busy port and a database file another process holds.

Each is one line on stderr that names what to change (the config key, the process holding the
file) and a non-zero exit, never a traceback; and a collector whose file is only briefly held (an
``annotrace sql --db`` finishing, a collector still stopping) waits for it instead of dying.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from tests.collector_process import Collector, start, write_config


def serve(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "annotrace.collector", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("grpc: {endpoint: ", "receivers::otlp::protocols::grpc::endpoint"),
        ("http: {endpoint: ", "receivers::otlp::protocols::http::endpoint"),
        ("web: {endpoint: ", "extensions::web::endpoint"),
    ],
)
def test_a_busy_port_is_one_line_naming_the_config_key(tmp_path: Path, busy_port: int, line: str, key: str) -> None:
    config = write_config(tmp_path)
    text = config.read_text()
    assert f'{line}"127.0.0.1:0"' in text
    text = "".join(ln for ln in text.splitlines(keepends=True) if "metrics:" not in ln)  # as shipped: no warning
    config.write_text(text.replace(f'{line}"127.0.0.1:0"', f'{line}"127.0.0.1:{busy_port}"'))
    result = serve(config, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"annotrace: {key}: cannot listen on 127.0.0.1:{busy_port}: Address already in use "
        "(is another collector running? stop it or choose another port)"
    ]


def test_a_second_collector_on_the_same_file_names_the_first_one(fresh_collector: Callable[..., Collector]) -> None:
    first = fresh_collector()
    config = first.directory / "second.yaml"
    config.write_text(
        (first.directory / "config.yaml").read_text().replace("duckdb: {path: ", "duckdb: {lock_timeout: 300ms, path: ")
    )
    result = serve(config, first.directory)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()  # the last says why; a log line before it says it waited
    assert re.fullmatch(
        rf"annotrace: {re.escape(str(first.db_path))} is in use by process {first.process.pid} \(.*python.*\) "
        r"after waiting 0\.3 s: another collector, or an `annotrace sql --db` still running",
        lines[-1],
    ), lines
    assert first.sql("SELECT count(*) AS n FROM experiments") == [{"n": 1}]  # the first one is unharmed


def test_a_collector_waits_while_a_reader_holds_the_file_then_starts(tmp_path: Path) -> None:
    """What ``annotrace sql --db`` does while a collector restarts: holds the file read-only for
    the length of its query. The collector waits (``lock_timeout``, 10 s by default), then starts."""
    directory = tmp_path / "collector"
    collector = start(directory)
    assert collector.stop() == 0
    reader = duckdb.connect(str(collector.db_path), read_only=True)
    log = directory / "collector.log"
    offset = log.stat().st_size
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "annotrace.collector",
                "serve",
                "--config",
                str(directory / "config.yaml"),
                "--ready-file",
                str(directory / "ready.json"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=directory,
        )
    try:
        while "waiting" not in log.read_text()[offset:]:  # the collector says that it waits, and for whom
            assert process.poll() is None, log.read_text()[offset:]
            time.sleep(0.05)
        assert re.search(
            r"waiting up to 10 s for process \d+ \(.*\) to let go of .*annotrace\.duckdb", log.read_text()[offset:]
        )
        assert process.poll() is None
        reader.close()
        while not (directory / "ready.json").exists():
            assert process.poll() is None, log.read_text()[offset:]
            time.sleep(0.05)
    finally:
        reader.close()
        process.terminate()
        assert process.wait(30) == 0, log.read_text()[offset:]
    assert "Traceback" not in log.read_text()[offset:]


def test_the_shipped_config_answers_metrics_and_stores_traces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the README says: no metrics pipeline, and an app exporting metrics still sees success;
    the ports move with the ANNOTRACE_*_ENDPOINT variables, the data stays under the start directory."""
    import httpx
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    shipped = (Path(__file__).resolve().parents[2] / "otel-config.yaml").read_text()
    assert "metrics:" not in shipped.split("pipelines:", 1)[1]
    for name in ("GRPC", "HTTP", "WEB"):
        monkeypatch.setenv(f"ANNOTRACE_{name}_ENDPOINT", "127.0.0.1:0")
    monkeypatch.delenv("ANNOTRACE_DB", raising=False)
    monkeypatch.delenv("ANNOTRACE_SPOOL", raising=False)
    collector = start(tmp_path, Path(__file__).resolve().parents[2] / "otel-config.yaml")
    try:
        metrics = ExportMetricsServiceRequest()
        metrics.resource_metrics.add().scope_metrics.add().metrics.add(name="requests")
        answer = httpx.post(
            f"{collector.http}/v1/metrics",
            content=metrics.SerializeToString(),
            headers={"content-type": "application/x-protobuf"},
            timeout=30,
        )
        assert answer.status_code == 200
        assert collector.sql("SELECT count(*) AS n FROM experiments") == [{"n": 1}]
    finally:
        assert collector.stop() == 0
    assert (tmp_path / "annotrace-data" / "annotrace.duckdb").exists()  # the defaults, under the start directory


def test_a_second_collector_on_the_same_spool_is_refused_before_it_touches_it(
    fresh_collector: Callable[..., Collector],
) -> None:
    """Another ANNOTRACE_DB but the same spool: it would replay, store and delete the first
    collector's records. It waits for the spool (a collector still stopping) and then says whose it is."""
    first = fresh_collector()
    config = first.directory / "second.yaml"
    text = (first.directory / "config.yaml").read_text()
    config.write_text(
        text.replace(str(first.db_path), str(first.directory / "second.duckdb")).replace(
            "duckdb: {path: ", "duckdb: {lock_timeout: 300ms, path: "
        )
    )
    segments = sorted(p.name for p in (first.directory / "spool").glob("*.seg"))
    result = serve(config, first.directory)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"annotrace: extensions::spool::directory: {first.directory / 'spool'} is in use by process "
        f"{first.process.pid} (another collector) after waiting 0.3 s: give each collector its own spool directory"
    )
    assert sorted(p.name for p in (first.directory / "spool").glob("*.seg")) == segments
    assert first.sql("SELECT count(*) AS n FROM experiments") == [{"n": 1}]
