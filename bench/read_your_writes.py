"""Read-your-writes: what the collector's read barrier costs (``make bench`` scenario ``ryw``).

A REST, SQL or page request waits until everything acknowledged before it arrived is stored
(``collector/app.py``, ``ReadBarrier``). A probe does what a user's script does: export one trace
(3 spans, OTLP/HTTP, answered once durable in the spool) and, as soon as it is acknowledged, read
it back with ``GET /api/3.0/mlflow/traces/get``. Figures:

- *read* = the read's round trip, the barrier's wait included: what a user waits for on the line
  after the traced call;
- *visible* = export sent -> read answered with all 3 spans (export + read);
- *incomplete* = reads that did not get all 3 spans: must be 0 (the guarantee);
- under load, the same probe (one every ``interval_s``) while gRPC clients send, and that load's
  ingest rate with the probes on. Two loads: *paced* at 80% of the durable rate the ``grpc``
  scenario measured (the most the store sustains: the backlog stays small), and *saturated*, as
  fast as the collector admits (as in the ``grpc`` scenario: the backlog fills to its limit). A
  read waits for everything acknowledged before it, so behind a full backlog it waits for the
  backlog to drain, up to the barrier's bound (10 s), and then answers with what is stored: those
  reads count as incomplete.
Idle and each load get a fresh collector.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from bench.collector_proc import Collector, CollectorError, data_dir_for
from bench.scenarios import LoadConfig, LoadResult, percentile, run_load

PROBE_SPANS = 3


@dataclass(frozen=True, slots=True)
class RywConfig:
    idle_probes: int = 300
    interval_s: float = 0.1  # between probes under load: a script reading now and then, not a read storm
    loads: tuple[LoadConfig, ...] = ()


@dataclass(slots=True)
class ProbeStats:
    reads: int = 0
    incomplete: int = 0
    errors: int = 0
    read_ms: list[float] = field(default_factory=list)
    visible_ms: list[float] = field(default_factory=list)

    def p(self, which: list[float], q: float) -> float | None:
        return percentile(which, q)


@dataclass(slots=True)
class RywResult:
    config: RywConfig
    idle: ProbeStats = field(default_factory=ProbeStats)
    loaded: list[tuple[LoadResult, ProbeStats]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _probe_trace() -> tuple[str, bytes]:
    trace_id, root = os.urandom(16), os.urandom(8)
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="ryw-probe")))
    scope = resource_spans.scope_spans.add()
    now = time.time_ns()
    for index in range(PROBE_SPANS):
        span = scope.spans.add(
            trace_id=trace_id,
            span_id=root if index == 0 else os.urandom(8),
            parent_span_id=b"" if index == 0 else root,
            name=f"probe-{index}",
            start_time_unix_nano=now + index,
            end_time_unix_nano=now + 1_000_000,
        )
        span.status.code = Status.STATUS_CODE_OK
    return "tr-" + trace_id.hex(), request.SerializeToString()


def _probe(export: httpx.Client, read: httpx.Client, stats: ProbeStats) -> None:
    trace_id, body = _probe_trace()
    sent = time.perf_counter()
    try:
        acked = export.post("/v1/traces", content=body, headers={"content-type": "application/x-protobuf"})
        if acked.status_code != 200:
            stats.errors += 1  # back-pressure under load: not a read-your-writes figure
            return
        asked = time.perf_counter()
        got = read.get("/api/3.0/mlflow/traces/get", params={"trace_id": trace_id})
    except httpx.HTTPError:
        stats.errors += 1
        return
    done = time.perf_counter()
    stats.reads += 1
    spans = got.json().get("trace", {}).get("spans", []) if got.status_code == 200 else []
    if len(spans) != PROBE_SPANS:
        stats.incomplete += 1
    stats.read_ms.append((done - asked) * 1e3)
    stats.visible_ms.append((done - sent) * 1e3)


def _probe_loop(
    collector: Collector, stats: ProbeStats, *, count: int = 0, until: float = 0.0, interval_s: float = 0.0
) -> None:
    with (
        httpx.Client(base_url=collector.http_url, timeout=60) as export,
        httpx.Client(base_url=collector.web_url, timeout=60) as read,
    ):
        done = 0
        while (count and done < count) or (until and time.monotonic() < until):
            started = time.monotonic()
            _probe(export, read, stats)
            done += 1
            if interval_s:
                time.sleep(max(0.0, interval_s - (time.monotonic() - started)))


def run_read_your_writes(cfg: RywConfig, data_root: Path, command: list[str] | None = None) -> RywResult:
    result = RywResult(cfg)
    collector = Collector(data_dir_for(data_root, "ryw-idle"), command=command)
    try:
        collector.start()
        _probe_loop(collector, result.idle, count=5)  # warm-up: connections, first commit, caches
        result.idle = ProbeStats()
        _probe_loop(collector, result.idle, count=cfg.idle_probes)
    except CollectorError as exc:
        result.notes.append(f"idle: {exc}")
    finally:
        collector.stop()

    for load in cfg.loads:
        stats = ProbeStats()

        def probe_while_loaded(loaded: Collector, stats: ProbeStats = stats, seconds: float = load.duration_s) -> None:
            _probe_loop(loaded, stats, until=time.monotonic() + seconds, interval_s=cfg.interval_s)

        loaded = run_load(load, data_root, command, during=probe_while_loaded)
        # the probes' own spans are in the store too: not a surplus of the load's
        loaded.notes = [
            note
            for note in loaded.notes
            if not (
                note.startswith("count(*) = ")
                and loaded.final_count is not None
                and loaded.final_count <= loaded.spans_acked + PROBE_SPANS * (stats.reads + stats.errors)
            )
        ]
        result.loaded.append((loaded, stats))
    return result


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} ms"


def _line(label: str, stats: ProbeStats) -> str:
    return (
        f"  {label:<34} {stats.reads:>5} reads: read p50 {_ms(stats.p(stats.read_ms, 50))}, "
        f"p99 {_ms(stats.p(stats.read_ms, 99))}; export->visible p50 {_ms(stats.p(stats.visible_ms, 50))}, "
        f"p99 {_ms(stats.p(stats.visible_ms, 99))}; incomplete {stats.incomplete}"
        + (f"; refused exports {stats.errors}" if stats.errors else "")
    )


def print_read_your_writes(r: RywResult, out: TextIO, grpc: LoadResult | None = None) -> None:
    print("\n" + "=" * 100, file=out)
    print(
        f"annotrace bench: read-your-writes  |  {os.cpu_count()} cores  |  export {PROBE_SPANS} spans (OTLP/HTTP), "
        f"then GET traces/get at once; under load 1 probe / {r.config.interval_s:g}s",
        file=out,
    )
    print(_line("idle", r.idle), file=out)
    for load, stats in r.loaded:
        rate = load.config.rate_spans_s
        print(_line(f"{load.config.name} ({f'{rate:,.0f} spans/s' if rate else 'unpaced'})", stats), file=out)
        durable = (
            "n/a" if load.durable_sps is None else f"{load.durable_sps:,.0f}" + ("*" if load.durable_partial else "")
        )
        accepted = "n/a" if load.accepted_sps is None else f"{load.accepted_sps:,.0f}"
        print(
            f"  {'':<34} ingest with the probes on: accepted {accepted}/s, durable {durable}/s, "
            f"export p99 {_ms(load.p99_ms)}",
            file=out,
        )
        for note in load.notes:
            print(f"  [{load.config.name}] {note}", file=out)
    if grpc is not None and grpc.durable_sps is not None:
        print(f"  {'grpc scenario (no probes)':<34} durable {grpc.durable_sps:,.0f}/s", file=out)
    for note in r.notes:
        print(f"  [ryw] {note}", file=out)
    print("=" * 100, file=out)


def ryw_as_dict(r: RywResult) -> dict[str, object]:
    """The figures for ``--json``."""

    def stats(s: ProbeStats) -> dict[str, object]:
        return {
            "reads": s.reads,
            "incomplete": s.incomplete,
            "errors": s.errors,
            "read_p50_ms": s.p(s.read_ms, 50),
            "read_p99_ms": s.p(s.read_ms, 99),
            "visible_p50_ms": s.p(s.visible_ms, 50),
            "visible_p99_ms": s.p(s.visible_ms, 99),
        }

    return {
        "idle": stats(r.idle),
        "interval_s": r.config.interval_s,
        "notes": r.notes,
        "loads": [
            {
                "name": load.config.name,
                "rate_spans_s": load.config.rate_spans_s,
                **stats(probes),
                "accepted_sps": load.accepted_sps,
                "durable_sps": load.durable_sps,
                "durable_partial": load.durable_partial,
                "notes": load.notes,
            }
            for load, probes in r.loaded
        ],
    }
