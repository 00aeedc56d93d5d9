"""One load scenario end to end: fresh collector, client processes, drain, SIGTERM, file size.

Why the figures are defined this way:
- *accepted* spans/s = acked spans / (last ack - first send): what the receivers admit (after the
  spool fsync, so already crash-safe);
- *durable* spans/s = acked spans / (time `count(*) FROM spans` reaches the acked count - first
  send): what a user can query, i.e. the store keeping up, which is the figure the target is about;
  if the count has not caught up within the drain timeout, it is count(*) / elapsed instead and
  flagged `durable_partial` (the store was busy with a backlog all along, so it is still its rate);
- latency is per successful Export call (send -> ack), retries after back-pressure not included;
- bytes per span = DuckDB file (+ WAL) after a clean SIGTERM / spans in the file;
- CPU per span = CPU seconds of the collector and its decode workers from the first send until
  the spans are queryable, over the spans stored: unlike spans/s it hardly moves when other work
  shares the machine, so it is what ideas are compared on; MB/s = durable spans/s x wire bytes.
Every scenario gets its own collector and data directory so figures never mix.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.clients import ClientResult, ClientSpec, run_clients
from bench.collector_proc import Collector, CollectorError, data_dir_for


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """What to run against one fresh collector."""

    name: str
    protocol: str  # "grpc" | "grpc-stub" | "http"
    clients: int
    duration_s: float
    spans_per_request: int = 512
    inflight: int = 2
    rate_spans_s: float = 0.0  # total over all clients; 0 = unlimited
    backlog_mib: int = 256
    retry_sleep_s: float = 0.05
    drain_timeout_s: float = 120.0
    shape: str = "1k"  # the spans sent: bench.trace_shapes.SHAPES ("1k" ~1.2 KB, "2k" ~2.6 KB per span)


@dataclass(slots=True)
class LoadResult:
    """Figures of one scenario; None means "not measured" (printed as n/a)."""

    config: LoadConfig
    spans_acked: int = 0
    requests_ok: int = 0
    accepted_sps: float | None = None
    durable_sps: float | None = None
    durable_s: float | None = None
    durable_partial: bool = False  # count(*) never reached the acked count; durable_sps = count / elapsed
    measured_s: float | None = None  # first send -> end of the drain wait (for the collector's CPU share)
    final_count: int | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    peak_rss_bytes: int | None = None
    db_bytes: int | None = None
    bytes_per_span: float | None = None
    wire_bytes_per_span: float | None = None
    rejected: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    abandoned_requests: int = 0
    partially_rejected_spans: int = 0
    uncertain_spans: int = 0
    collector_cpu_s: float | None = None
    client_cpu_s: float | None = None
    sending_s: float | None = None
    exit_code: int | None = None
    stop_s: float | None = None  # SIGTERM -> exit: the collector stores its backlog before exiting
    notes: list[str] = field(default_factory=list)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def cpu_us_per_span(self) -> float | None:
        """Collector CPU (its process and the decode workers, user + system) per acked span: far
        less sensitive than spans/s to other work on the machine, so ideas are compared on it."""
        stored = self.final_count if self.durable_partial else self.spans_acked
        if not self.collector_cpu_s or not stored:
            return None
        return self.collector_cpu_s / stored * 1e6

    @property
    def durable_mb_s(self) -> float | None:
        """OTLP bytes (as the clients sent them) stored per second, in MB (10^6)."""
        if self.durable_sps is None or not self.wire_bytes_per_span:
            return None
        return self.durable_sps * self.wire_bytes_per_span / 1e6


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100.0 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _merge(result: LoadResult, clients: list[ClientResult]) -> list[float]:
    latencies: list[float] = []
    for c in clients:
        if c.fatal:
            result.notes.append(f"client {c.index}: {c.fatal}")
        result.spans_acked += c.spans_acked
        result.requests_ok += c.requests_ok
        result.rejected.update(c.rejected)
        result.errors.update(c.errors)
        result.abandoned_requests += c.abandoned_requests
        result.partially_rejected_spans += c.spans_partially_rejected
        result.uncertain_spans += c.uncertain_spans
        latencies += c.latencies_ms
    result.client_cpu_s = sum(c.cpu_s for c in clients)
    wire = [c.wire_bytes_per_span for c in clients if c.wire_bytes_per_span]
    result.wire_bytes_per_span = sum(wire) / len(wire) if wire else None
    return latencies


def run_load(
    cfg: LoadConfig,
    data_root: Path,
    command: list[str] | None = None,
    during: Callable[[Collector], None] | None = None,
    prepare: Callable[[Path], None] | None = None,
) -> LoadResult:
    """Runs one scenario; never raises for a collector failure, it lands in `notes` instead.
    ``during(collector)`` runs in a thread alongside (e.g. read-your-writes probes); ``prepare(path)``
    fills the DuckDB file at ``path`` before the collector starts (e.g. a store of 5M traces)."""
    result = LoadResult(config=cfg)
    collector = Collector(data_dir_for(data_root, cfg.name), backlog_mib=cfg.backlog_mib, command=command)
    try:
        if prepare is not None:
            prepare(collector.db_path)
        collector.start()
    except CollectorError as exc:
        result.notes.append(str(exc))
        return result
    side = threading.Thread(target=during, args=(collector,), name="bench-during") if during else None
    try:
        if side is not None:
            side.start()
        _drive(cfg, collector, result)
    except Exception as exc:  # keep the other scenarios running; say what broke
        result.notes.append(f"{type(exc).__name__}: {exc}")
    finally:
        if side is not None:
            side.join()
        alive = collector.alive()
        stop = collector.stop()
        result.peak_rss_bytes = collector.peak_rss_bytes or None  # includes the shutdown
        result.exit_code, result.stop_s = stop.exit_code, stop.stop_s
        result.db_bytes = stop.db_bytes
        if not alive:
            result.notes.append("collector died during the run:\n" + collector.log_tail())
        elif stop.exit_code != 0:
            result.notes.append(f"collector exit code {stop.exit_code} after SIGTERM ({stop.stop_s:.1f}s)")
        count = stop.db_span_count if stop.db_span_count is not None else result.final_count
        if stop.db_span_count is None:
            result.notes.append("span count from the SQL API (the DuckDB file could not be opened read-only)")
        elif stop.db_span_count < result.spans_acked:
            result.notes.append(
                f"LOST SPANS: after SIGTERM the file holds {stop.db_span_count:,} spans "
                f"of {result.spans_acked:,} acknowledged"
            )
        elif result.durable_partial:
            result.notes.append(
                f"after SIGTERM the file holds all {stop.db_span_count:,} spans (the shutdown stored the backlog)"
            )
        if count:
            result.bytes_per_span = stop.db_bytes / count
    return result


def _drive(cfg: LoadConfig, collector: Collector, result: LoadResult) -> None:
    target = collector.http_url if cfg.protocol == "http" else collector.grpc_target
    per_client_rate = cfg.rate_spans_s / cfg.clients if cfg.rate_spans_s > 0 else 0.0
    specs = [
        ClientSpec(
            index=i,
            protocol=cfg.protocol,
            target=target,
            spans_per_request=cfg.spans_per_request,
            duration_s=cfg.duration_s,
            rate_spans_s=per_client_rate,
            phase=i / cfg.clients,
            inflight=cfg.inflight,
            retry_sleep_s=cfg.retry_sleep_s,
            shape=cfg.shape,
        )
        for i in range(cfg.clients)
    ]
    cpu_before = collector.cpu_now()  # start-up (imports, spawning the workers) is not the spans' cost
    clients = run_clients(specs)
    latencies = _merge(result, clients)
    result.p50_ms, result.p99_ms = percentile(latencies, 50), percentile(latencies, 99)
    result.max_ms = max(latencies) if latencies else None
    firsts = [c.first_send for c in clients if c.first_send]
    lasts = [c.last_ack for c in clients if c.last_ack]
    if not firsts or not lasts or result.spans_acked == 0:
        result.notes.append("no span was acknowledged")
        return
    first = min(firsts)
    result.sending_s = max(lasts) - first
    result.accepted_sps = result.spans_acked / result.sending_s if result.sending_s > 0 else None
    reached, count = collector.wait_for_count(result.spans_acked, cfg.drain_timeout_s)
    result.measured_s = (reached or time.monotonic()) - first
    result.collector_cpu_s = (collector.cpu_now() - cpu_before) or None
    result.final_count = count if count >= 0 else None
    if reached is None:
        result.notes.append(
            f"* count(*) reached only {max(count, 0):,} of {result.spans_acked:,} acked spans "
            f"{cfg.drain_timeout_s:.0f}s after the last ack; durable/s = count / elapsed"
        )
        if count > 0:
            result.durable_partial = True
            result.durable_sps = count / result.measured_s
        return
    result.durable_s = reached - first
    result.durable_sps = result.spans_acked / result.durable_s
    if count > result.spans_acked + result.uncertain_spans:
        result.notes.append(f"count(*) = {count} is more than the {result.spans_acked} spans acked")
