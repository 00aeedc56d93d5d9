"""Starts a real collector process on free loopback ports, for tests (STYLE habit 10).

The collector writes its bound ports to a ready file only once every listener is up and the store
is open; we wait for that file, check the process is alive, and hand out its endpoints.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CONFIG = """
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0", max_recv_msg_size_mib: {grpc_mib}}}
      http: {{endpoint: "127.0.0.1:0", max_request_body_size: {http_bytes}}}
processors:
  genai: {{}}
  batch: {{send_batch_size: 8192, timeout: 50ms}}
exporters:
  duckdb: {{path: "{db}"{store_options}{lake}}}
extensions:
  web: {{endpoint: "127.0.0.1:0"}}
  spool: {{directory: "{spool}", max_backlog_mib: {backlog_mib}}}
service:
  extensions: [web, spool]
  pipelines:
    traces: {{receivers: [otlp], processors: [genai, batch], exporters: [duckdb]}}
    logs: {{receivers: [otlp], processors: [genai, batch], exporters: [duckdb]}}
    metrics: {{receivers: [otlp], exporters: [duckdb]}}
"""


@dataclass
class Collector:
    directory: Path
    process: subprocess.Popen[bytes]
    grpc: str
    http: str
    web: str

    @property
    def db_path(self) -> Path:
        return self.directory / "annotrace.duckdb"

    @property
    def log(self) -> str:
        return (self.directory / "collector.log").read_text(errors="replace")

    def sql(self, query: str) -> list[dict[str, Any]]:
        response = httpx.post(f"{self.web}/api/v1/sql", json={"query": query}, timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        return [dict(zip(body["columns"], row)) for row in body["rows"]]

    def wait_for(self, query: str, expected: Any, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Poll ``query`` until its rows equal ``expected``; spans become queryable asynchronously."""
        deadline = time.monotonic() + timeout
        rows = self.sql(query)
        while rows != expected and time.monotonic() < deadline:
            time.sleep(0.05)
            rows = self.sql(query)
        return rows

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def write_config(
    directory: Path,
    *,
    backlog_mib: int = 256,
    grpc_mib: int = 64,
    http_bytes: int = 64 * 1024 * 1024,
    db: Path | None = None,
    spool: Path | None = None,
    lake: tuple[str, Path] | None = None,
    lake_options: str = "",
    store_options: str = "",
) -> Path:
    """``db`` and ``spool`` put the DuckDB file or the spool elsewhere (a small disk, say); ``lake``
    = (catalog DSN, data directory) stores on DuckLake instead of the file; ``store_options`` adds
    keys to the duckdb exporter (``", genai_log_events_max_age: 1ms"``), ``lake_options`` to its
    ``ducklake``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.yaml"
    lake_option = f', ducklake: {{catalog: "{lake[0]}", data_path: "{lake[1]}"{lake_options}}}' if lake else ""
    path.write_text(
        CONFIG.format(
            db=db or directory / "annotrace.duckdb",
            spool=spool or directory / "spool",
            backlog_mib=backlog_mib,
            grpc_mib=grpc_mib,
            http_bytes=http_bytes,
            lake=lake_option,
            store_options=store_options,
        )
    )
    return path


def start(
    directory: Path, config: Path | None = None, timeout: float = 30.0, python: str | None = None, **options: Any
) -> Collector:
    """``python`` runs the collector with another interpreter (the lake venv's, with duckdb 1.5)."""
    config = config or write_config(directory, **options)
    ready = directory / "ready.json"
    ready.unlink(missing_ok=True)
    log = open(directory / "collector.log", "ab")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen(
        [
            python or sys.executable,
            "-m",
            "annotrace.collector",
            "serve",
            "--config",
            str(config),
            "--ready-file",
            str(ready),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=directory,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if process.poll() is not None:
            raise RuntimeError(
                f"collector exited with {process.returncode}:\n"
                + (directory / "collector.log").read_text(errors="replace")
            )
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("collector did not become ready:\n" + (directory / "collector.log").read_text())
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    return Collector(directory, process, info["grpc"], info["http"], info["web"])
