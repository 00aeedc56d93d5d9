"""Runs the real collector as a subprocess and watches it from outside.

Why a separate module: every scenario needs the same lifecycle (fresh data directory and config
with port 0, wait for the ready file, sample RSS, count durable spans over the SQL API, SIGTERM,
measure the DuckDB file), and the bench must treat the collector as a black box exactly as a user
would: only the CLI, the ready file, the OTLP ports and `POST /api/v1/sql`.

RSS is the sum over the collector process and all its children (the collector may use worker
processes to use both cores), sampled every 100 ms by a daemon thread.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 120.0

_CONFIG = """\
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0", max_recv_msg_size_mib: 64}}
      http: {{endpoint: "127.0.0.1:0"}}
processors:
  genai: {{}}
exporters:
  duckdb: {{path: "{db}", threads: "${{env:BENCH_DUCKDB_THREADS:-0}}"{exporter_options}}}
extensions:
  web: {{endpoint: "127.0.0.1:0"}}
  spool: {{directory: "{spool}", max_backlog_mib: {backlog_mib}, decode_workers: "${{env:BENCH_DECODE_WORKERS:--1}}"}}
service:
  extensions: [web, spool]
  pipelines:
    traces: {{receivers: [otlp], processors: [genai], exporters: [duckdb]}}
    logs: {{receivers: [otlp], processors: [genai], exporters: [duckdb]}}
"""


def default_command() -> list[str]:
    """The collector's documented entry point, run by the interpreter running the bench."""
    return [sys.executable, "-m", "annotrace.collector"]


class CollectorError(RuntimeError):
    """The collector did not start, answer or stop as its contract says."""


@dataclass(slots=True)
class StopResult:
    """What we learn when the collector has exited."""

    exit_code: int | None
    stop_s: float
    db_bytes: int
    db_span_count: int | None  # counted by opening the file read-only after exit, None if that failed


@dataclass(slots=True)
class _RssSampler:
    pid: int
    interval_s: float = 0.1
    peak_bytes: int = 0
    cpu_s: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total, cpu = 0, 0.0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for p in procs:
                try:
                    total += p.memory_info().rss
                    t = p.cpu_times()
                    cpu += t.user + t.system
                except psutil.NoSuchProcess:
                    continue
            self.peak_bytes = max(self.peak_bytes, total)
            self.cpu_s = max(self.cpu_s, cpu)
            self._stop.wait(self.interval_s)


class Collector:
    """One collector subprocess with its own data directory.

    Usage: `c = Collector(dir, backlog_mib=256); c.start(); ...; c.stop()`.
    """

    def __init__(
        self, data_dir: Path, backlog_mib: int = 256, command: list[str] | None = None, exporter_options: str = ""
    ) -> None:
        """``exporter_options``: more keys of the ``duckdb`` exporter's flow mapping (``, ducklake: {...}``)."""
        self.data_dir = data_dir
        self.exporter_options = exporter_options
        self.db_path = data_dir / "annotrace.duckdb"
        self.backlog_mib = backlog_mib
        self.command = command or default_command()
        self.grpc_target = ""
        self.http_url = ""
        self.web_url = ""
        self.pid = 0
        self.log_path = data_dir / "collector.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._sampler: _RssSampler | None = None
        self._sql: httpx.Client | None = None

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "config.yaml"
        ready = self.data_dir / "ready.json"
        ready.unlink(missing_ok=True)  # an earlier collector's, on this directory: its ports are gone
        config.write_text(
            _CONFIG.format(
                db=self.db_path,
                spool=self.data_dir / "spool",
                backlog_mib=self.backlog_mib,
                exporter_options=self.exporter_options,
            )
        )
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the descriptor
            self._proc = subprocess.Popen(
                [*self.command, "serve", "--config", str(config), "--ready-file", str(ready)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready.exists() or not ready.read_text().strip():
            if self._proc.poll() is not None:
                raise CollectorError(f"collector exited with {self._proc.returncode} before ready:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self._kill()
                raise CollectorError(f"collector not ready after {READY_TIMEOUT_S:.0f}s:\n{self.log_tail()}")
            time.sleep(0.05)
        time.sleep(0.05)  # the file may be mid-write on the first non-empty read
        info = json.loads(ready.read_text())
        self.pid = int(info.get("pid") or self._proc.pid)
        self.grpc_target = str(info["grpc"]).removeprefix("http://")
        self.http_url = str(info["http"]).rstrip("/")
        self.web_url = str(info["web"]).rstrip("/")
        self._sampler = _RssSampler(self.pid)
        self._sampler.start()
        # longer than the read barrier's bound (collector/app.py READ_WAIT_S): a count waits for the store
        self._sql = httpx.Client(base_url=self.web_url, timeout=60.0)

    @property
    def peak_rss_bytes(self) -> int:
        return self._sampler.peak_bytes if self._sampler else 0

    @property
    def cpu_s(self) -> float:
        """User+system CPU seconds of the collector and its children so far (sampled)."""
        return self._sampler.cpu_s if self._sampler else 0.0

    def cpu_now(self) -> float:
        """User+system CPU seconds of the collector and its children, read now (not sampled)."""
        return _cpu_of_tree(self.pid) if self.pid else 0.0

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def sql(self, query: str) -> list[list[object]]:
        """Runs one read-only query through the public SQL API."""
        assert self._sql is not None, "collector not started"
        resp = self._sql.post("/api/v1/sql", json={"query": query})
        if resp.status_code != 200:
            raise CollectorError(f"SQL API answered {resp.status_code}: {resp.text[:300]}")
        rows: list[list[object]] = resp.json()["rows"]
        return rows

    def span_count(self) -> int:
        n = self.sql("SELECT count(*) AS n FROM spans")[0][0]
        assert isinstance(n, int)
        return n

    def wait_for_count(self, target: int, timeout_s: float, poll_s: float = 0.05) -> tuple[float | None, int]:
        """Polls `count(*)` until it reaches `target`; returns (monotonic time reached or None, last count)."""
        deadline = time.monotonic() + timeout_s
        last = -1
        while True:
            try:
                last = self.span_count()
            except (httpx.HTTPError, CollectorError):
                if not self.alive():
                    return None, last
            now = time.monotonic()
            if last >= target:
                return now, last
            if now > deadline or not self.alive():
                return None, last
            time.sleep(poll_s)

    def stop(self) -> StopResult:
        """SIGTERM (the collector flushes and exits 0), then measure the DuckDB file."""
        t0 = time.monotonic()
        if self._sql is not None:
            self._sql.close()
        code: int | None = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                code = self._proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill()
        elif self._proc is not None:
            code = self._proc.returncode
        if self._sampler is not None:
            self._sampler.stop()
        stop_s = time.monotonic() - t0
        size = sum(
            p.stat().st_size for p in (self.db_path, self.db_path.with_name(self.db_path.name + ".wal")) if p.exists()
        )
        return StopResult(code, stop_s, size, _count_in_file(self.db_path))

    def log_tail(self, n_bytes: int = 3000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-n_bytes:].decode(errors="replace")

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def _cpu_of_tree(pid: int) -> float:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def _count_in_file(path: Path) -> int | None:
    """Counts spans straight from the file, as a check on the SQL API (read-only, after exit)."""
    if not path.exists():
        return None
    try:
        import duckdb

        with duckdb.connect(str(path), read_only=True) as con:
            row = con.execute("SELECT count(*) FROM spans").fetchone()
        return int(row[0]) if row else None
    except Exception:  # any duckdb error only means "no independent count"
        return None


def data_dir_for(root: Path, scenario: str) -> Path:
    """A fresh per-scenario directory (old contents of a previous run are removed)."""
    path = root / scenario
    if path.exists():
        import shutil

        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.sync()
    return path
