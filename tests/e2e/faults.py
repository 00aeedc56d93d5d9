"""Tools of the fault-injection tests: a small disk that can be filled and freed, a sender that
counts what the collector acknowledged, and the check that all of it is stored exactly once.

The small disk is a tmpfs mounted in the test's directory (``mount -t tmpfs -o size=64m``; CI
runs as root on a fresh Debian machine, and so do we here). Where mounting is not permitted (an
unprivileged container), it is a plain directory and "full" is RLIMIT_FSIZE, set on the running
collector with prlimit(2): past the limit the kernel writes what fits and then refuses the rest
(EFBIG; Python ignores SIGXFSZ), as a full disk does with ENOSPC; "room again" lifts the limit.
``ANNOTRACE_TEST_NO_MOUNT=1`` forces the fallback, to test it where mounting works.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from tests.collector_process import Collector
from tests.otlp_builders import new_span_id, new_trace_id, request, span

DISK_MIB = 64
CHUNK = 1024 * 1024


class SmallDisk:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.mounted = False
        if not os.environ.get("ANNOTRACE_TEST_NO_MOUNT"):
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={DISK_MIB}m", "tmpfs", str(path)],
                capture_output=True,
                check=False,
            )
            self.mounted = done.returncode == 0
        self._filler = path / "filler"
        self._taker: threading.Thread | None = None
        self._full = threading.Event()
        self._stop = threading.Event()

    @property
    def how(self) -> str:
        return "tmpfs" if self.mounted else "RLIMIT_FSIZE"

    def fill(self, collector: Collector) -> None:
        """Leave no room, and keep it so: whatever the collector frees (a stored segment it
        deletes) is taken again at once, as by another program writing to the same disk."""
        if not self.mounted:
            log_size = (collector.directory / "collector.log").stat().st_size
            limit = log_size + CHUNK  # the log (not on the small disk) keeps some room
            resource.prlimit(collector.process.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
            return
        self._full.clear()
        self._taker = threading.Thread(target=self._take_room, daemon=True)
        self._taker.start()
        self._full.wait()

    def _take_room(self) -> None:
        with open(self._filler, "ab", buffering=0) as handle:
            while not self._stop.is_set():
                for size in (CHUNK, 4096, 1):
                    with contextlib.suppress(OSError):
                        while handle.write(b"\0" * size) == size:
                            pass
                self._full.set()
                self._stop.wait(0.01)

    def free(self, collector: Collector) -> None:
        if not self.mounted:
            resource.prlimit(collector.process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
            return
        self._stop.set()
        if self._taker is not None:
            self._taker.join()
        self._stop.clear()
        self._filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        self._stop.set()
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False)


class Sender:
    """Threads that export traces over gRPC as fast as the collector answers; ``acked`` maps each
    acknowledged trace to its span count, ``refused`` counts answers by status code."""

    def __init__(
        self, collector: Collector, *, threads: int = 2, traces_per_export: int = 20, spans_per_trace: int = 5
    ) -> None:
        self.collector = collector
        self.acked: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self.exports = 0
        self._shape = (traces_per_export, spans_per_trace)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Sender:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def acked_spans(self) -> int:
        with self._lock:
            return sum(self.acked.values())

    def refusals(self, code: str = "UNAVAILABLE") -> int:
        with self._lock:
            return self.refused.get(code, 0)

    def _run(self) -> None:
        channel = grpc.insecure_channel(self.collector.grpc)
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        traces, spans_per_trace = self._shape
        while not self._stop.is_set():
            batch = [trace(spans_per_trace) for _ in range(traces)]
            try:
                stub.Export(request([s for _, spans in batch for s in spans]), timeout=10)
            except grpc.RpcError as exc:
                with self._lock:
                    name = exc.code().name  # type: ignore[attr-defined]
                    self.refused[name] = self.refused.get(name, 0) + 1
                if self.collector.process.poll() is not None:
                    break  # gone (kill -9): this export was never acknowledged
                time.sleep(0.05)  # as an exporter backs off
                continue
            with self._lock:
                self.acked.update((trace_id, len(spans)) for trace_id, spans in batch)
                self.exports += 1
        channel.close()


def trace(n_spans: int) -> tuple[str, list[Any]]:
    trace_id = new_trace_id()
    root = new_span_id()
    start = time.time_ns()
    spans = [span(trace_id, root, name="root", start=start, duration_ns=5_000_000, attributes={"payload": "x" * 300})]
    spans += [
        span(
            trace_id,
            new_span_id(),
            parent=root,
            name=f"child-{i}",
            start=start + i,
            attributes={"i": i, "payload": "y" * 300},
        )
        for i in range(n_spans - 1)
    ]
    return "tr-" + trace_id.hex(), spans


def health(collector: Collector) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{collector.web}/api/v1/health", timeout=10)
    return response.status_code, response.json()


def wait_for_health(collector: Collector, status: str, timeout: float = 60.0) -> dict[str, Any]:
    """What an operator's monitor does: watch ``/api/v1/health`` until it says ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        code, body = health(collector)
        if body["status"] == status:
            assert code == (200 if status == "ok" else 503)
            return body
        assert time.monotonic() < deadline, f"health never became {status}: {body}"
        time.sleep(0.1)


def wait_until_stored(collector: Collector, timeout: float = 180.0) -> None:
    """Watch health until nothing acknowledged waits in the spool (the backlog of a load test can
    take longer than a read waits for it on a busy machine)."""
    deadline = time.monotonic() + timeout
    while (body := health(collector)[1])["unstored_records"]:
        assert time.monotonic() < deadline, f"acknowledged records never stored: {body}"
        time.sleep(0.1)


def assert_stored_exactly(collector: Collector, acked: dict[str, int], *, missing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Every acknowledged trace (but ``missing``) is stored with all its spans, and nothing twice."""
    response = httpx.post(
        f"{collector.web}/api/v1/sql",
        timeout=60,
        json={"query": "SELECT trace_id, count(*) AS n FROM spans GROUP BY trace_id", "max_rows": 1_000_000},
    )
    assert response.status_code == 200, response.text
    stored = dict(response.json()["rows"])
    lost = {t: n for t, n in acked.items() if t not in missing and stored.get(t) != n}
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged traces are not stored whole"
    assert collector.sql("SELECT count(*) - count(DISTINCT (trace_id, span_id)) AS d FROM spans") == [{"d": 0}]


def children(pid: int) -> list[int]:
    """The collector's child processes (its decode workers)."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out
