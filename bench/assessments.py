"""The `assessments` scenario: feedback round trip, feedback-filtered search, assessment aggregates.

Three figures against the targets of the assessments issue, all on one real collector:
1. `annotrace.log_feedback` round trip (SDK -> REST -> writer -> answer), p50/p99 over sequential
   calls, measured on a store already holding the bulk traces (target p50 <= 20 ms);
2. SearchTracesV3 with a `feedback.quality >= 4` filter over N traces, first page of 100 (target
   p50 <= 200 ms); traces arrive over OTLP gRPC (bench traffic generator, 4 spans per trace), a
   subset gets feedback through `POST /api/3.0/mlflow/traces/{id}/assessments`;
3. `SELECT assessment_name, count(*) FROM assessments GROUP BY assessment_name` through the SQL API
   over 1,000,000 assessments (target p50 <= 500 ms). A million REST calls would take far too long,
   so the collector is stopped, the rows are BULK-LOADED straight into the DuckDB file in one Arrow
   insert (valid rows shaped as the writer would store them, on existing trace ids), and the
   collector is started again on the same file.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx

from bench.collector_proc import Collector, CollectorError, data_dir_for
from bench.scenarios import percentile
from bench.traffic import SPANS_PER_TRACE, RequestFactory

TARGET_FEEDBACK_P50_MS = 20.0
TARGET_SEARCH_MS = 200.0
TARGET_GROUP_BY_MS = 500.0
FEEDBACK_NAMES = ("quality", "relevance", "correctness", "safety", "groundedness", "helpfulness", "tone", "style")
_GROUP_BY = "SELECT assessment_name, count(*) FROM assessments GROUP BY assessment_name"
_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@dataclass(frozen=True, slots=True)
class AssessmentsConfig:
    traces: int = 100_000  # traces ingested over OTLP gRPC (rounded up to whole requests)
    feedback_traces: int = 2_000  # traces given a `quality` feedback over REST before the search
    feedback_calls: int = 300  # timed sequential log_feedback calls
    search_runs: int = 20
    rows: int = 1_000_000  # assessments in the table for the GROUP BY (bulk-loaded)
    sql_runs: int = 10
    spans_per_request: int = 512
    senders: int = 2  # gRPC sender threads
    drain_timeout_s: float = 120.0
    quick: bool = False


@dataclass(slots=True)
class AssessmentsResult:
    config: AssessmentsConfig
    traces: int | None = None  # traces queryable before the figures
    ingest_s: float | None = None
    feedback_p50_ms: float | None = None
    feedback_p99_ms: float | None = None
    feedback_n: int = 0
    feedback_posted: int = 0
    feedback_post_s: float | None = None
    search_p50_ms: float | None = None
    search_p99_ms: float | None = None
    search_hits: int | None = None
    search_matching: int | None = None
    bulk_rows: int = 0
    bulk_s: float | None = None
    assessments_total: int | None = None
    group_by_p50_ms: float | None = None
    group_by_max_ms: float | None = None
    group_by_groups: int | None = None
    notes: list[str] = field(default_factory=list)


def run_assessments(cfg: AssessmentsConfig, data_root: Path, command: list[str] | None = None) -> AssessmentsResult:
    """Runs the scenario; collector failures land in `notes`, never raise."""
    result = AssessmentsResult(config=cfg)
    data_dir = data_dir_for(data_root, "assessments")
    collector = Collector(data_dir, command=command)
    try:
        collector.start()
        _ingest(cfg, collector, result)
        experiment_id = _experiment_id(collector)
        _feedback_round_trip(cfg, collector, result)
        _search(cfg, collector, result, experiment_id)
        stop = collector.stop()
        if stop.exit_code != 0:
            result.notes.append(f"collector exit code {stop.exit_code} after SIGTERM")
        _bulk_load(cfg, collector.db_path, result)
        (data_dir / "ready.json").unlink(missing_ok=True)
        collector = Collector(data_dir, command=command)
        collector.start()
        _group_by(cfg, collector, result)
    except Exception as exc:  # keep other scenarios running; say what broke
        result.notes.append(f"{type(exc).__name__}: {exc}")
        if not collector.alive():
            result.notes.append("collector log tail:\n" + collector.log_tail())
    finally:
        if collector.alive():
            collector.stop()
    return result


def _ingest(cfg: AssessmentsConfig, collector: Collector, result: AssessmentsResult) -> None:
    """Sends `cfg.traces` traces (4 spans each) over gRPC, then waits until all are queryable."""
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as pb

    traces_per_request = cfg.spans_per_request // SPANS_PER_TRACE
    requests = math.ceil(cfg.traces / traces_per_request)
    channel = grpc.insecure_channel(
        collector.grpc_target,
        options=[("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)],
    )
    grpc.channel_ready_future(channel).result(timeout=30)
    export = channel.unary_unary(
        _EXPORT, request_serializer=None, response_deserializer=pb.ExportTraceServiceResponse.FromString
    )
    lock = threading.Lock()
    remaining = [requests]
    errors: list[str] = []
    retry = {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE}

    def sender(index: int) -> None:
        factory = RequestFactory(cfg.spans_per_request, seed=5000 + index, templates=4)
        while True:
            with lock:
                if remaining[0] <= 0 or errors:
                    return
                remaining[0] -= 1
            payload = factory.next()
            while True:
                try:
                    export(payload, timeout=60)
                    break
                except grpc.RpcError as exc:
                    if exc.code() in retry:
                        time.sleep(0.05)
                        continue
                    with lock:
                        errors.append(f"gRPC export failed: {exc.code().name}")
                    return

    t0 = time.monotonic()
    threads = [threading.Thread(target=sender, args=(i,), name=f"ingest-{i}") for i in range(cfg.senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    channel.close()
    if errors:
        raise CollectorError(errors[0])
    spans = requests * cfg.spans_per_request
    reached, count = collector.wait_for_count(spans, cfg.drain_timeout_s, poll_s=0.5)
    if reached is None:
        raise CollectorError(f"only {count:,} of {spans:,} spans queryable after {cfg.drain_timeout_s:.0f}s")
    result.ingest_s = reached - t0
    result.traces = _count(collector, "SELECT count(*) FROM traces")
    if result.traces < requests * traces_per_request:
        result.notes.append(f"traces table holds {result.traces:,} of {requests * traces_per_request:,} sent")


def _count(collector: Collector, query: str) -> int:
    return int(str(collector.sql(query)[0][0]))


def _experiment_id(collector: Collector) -> str:
    rows = collector.sql("SELECT experiment_id FROM experiments WHERE name = 'bench'")
    if not rows:
        raise CollectorError("no experiment named 'bench' after ingest")
    return str(rows[0][0])


def _feedback_round_trip(cfg: AssessmentsConfig, collector: Collector, result: AssessmentsResult) -> None:
    import annotrace
    from annotrace.entities import AssessmentSource

    annotrace.set_tracking_uri(collector.web_url)
    n = cfg.feedback_calls
    ids = [str(r[0]) for r in collector.sql(f"SELECT trace_id FROM traces ORDER BY trace_id LIMIT {n + 5}")]
    source = AssessmentSource(source_type="HUMAN", source_id="bench")
    for trace_id in ids[n:]:  # warm-up (connection, first writer job), not timed
        annotrace.log_feedback(trace_id=trace_id, name="quality", value=4, source=source)
    latencies: list[float] = []
    for trace_id in ids[:n]:
        t0 = time.perf_counter()
        annotrace.log_feedback(trace_id=trace_id, name="quality", value=4, source=source)
        latencies.append((time.perf_counter() - t0) * 1000.0)
    result.feedback_n = len(latencies)
    result.feedback_p50_ms, result.feedback_p99_ms = percentile(latencies, 50), percentile(latencies, 99)


def _search(cfg: AssessmentsConfig, collector: Collector, result: AssessmentsResult, experiment_id: str) -> None:
    skip = cfg.feedback_calls + 5  # traces that already got quality = 4 above
    ids = [
        str(r[0])
        for r in collector.sql(
            f"SELECT trace_id FROM traces ORDER BY trace_id LIMIT {cfg.feedback_traces} OFFSET {skip}"
        )
    ]
    with httpx.Client(base_url=collector.web_url, timeout=60.0) as http:

        def post(chunk: list[tuple[int, str]]) -> None:
            with httpx.Client(base_url=collector.web_url, timeout=60.0) as own:
                for i, trace_id in chunk:
                    body = {
                        "assessment": {
                            "assessment_name": "quality",
                            "trace_id": trace_id,
                            "source": {"source_type": "LLM_JUDGE", "source_id": "bench-judge"},
                            "feedback": {"value": 1 + i % 5},
                        }
                    }
                    resp = own.post(f"/api/3.0/mlflow/traces/{trace_id}/assessments", json=body)
                    if resp.status_code != 200:
                        raise CollectorError(f"create assessment answered {resp.status_code}: {resp.text[:200]}")

        t0 = time.monotonic()
        indexed = list(enumerate(ids))
        workers = [threading.Thread(target=post, args=(indexed[k::4],)) for k in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        result.feedback_post_s = time.monotonic() - t0
        result.feedback_posted = len(ids)
        result.search_matching = _count(
            collector,
            "SELECT count(DISTINCT trace_id) FROM assessments "
            "WHERE assessment_name = 'quality' AND valid AND value_number >= 4",
        )
        body = {
            "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}],
            "filter": "feedback.quality >= 4",
            "max_results": 100,
        }
        latencies: list[float] = []
        for run in range(cfg.search_runs + 1):  # the first run is a warm-up, not timed
            t0p = time.perf_counter()
            resp = http.post("/api/3.0/mlflow/traces/search", json=body)
            ms = (time.perf_counter() - t0p) * 1000.0
            if resp.status_code != 200:
                raise CollectorError(f"search answered {resp.status_code}: {resp.text[:300]}")
            if run:
                latencies.append(ms)
            result.search_hits = len(resp.json().get("traces", []))
    result.search_p50_ms, result.search_p99_ms = percentile(latencies, 50), percentile(latencies, 99)


def _bulk_load(cfg: AssessmentsConfig, db_path: Path, result: AssessmentsResult) -> None:
    """One Arrow batch insert of synthetic, valid feedback rows on existing traces (collector stopped)."""
    import duckdb
    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped]

    with duckdb.connect(str(db_path)) as con:
        existing = int(con.execute("SELECT count(*) FROM assessments").fetchone()[0])  # type: ignore[index]
        n = max(0, cfg.rows - existing)
        trace_ids = [r[0] for r in con.execute("SELECT trace_id FROM traces").fetchall()]
        rng = np.random.default_rng(7)
        values = rng.integers(1, 6, n)
        tids = np.array(trace_ids, dtype=object)[rng.integers(0, len(trace_ids), n)]
        names = np.array(FEEDBACK_NAMES, dtype=object)[rng.integers(0, len(FEEDBACK_NAMES), n)]
        now = np.datetime64(int(time.time() * 1000), "ms")
        hexes = os.urandom(16 * n).hex()
        stamps = pa.array(np.full(n, now), type=pa.timestamp("ms"))
        table = pa.table(
            {
                "assessment_id": pa.array(["a-" + hexes[32 * i : 32 * i + 32] for i in range(n)]),
                "trace_id": pa.array(tids, type=pa.string()),
                "assessment_name": pa.array(names, type=pa.string()),
                "value": pa.array(values.astype(str).astype(object), type=pa.string()),
                "value_label": pa.array(values.astype(str).astype(object), type=pa.string()),
                "value_number": pa.array(values.astype(np.float64)),
                "create_time": stamps,
            }
        )
        t0 = time.monotonic()
        con.register("bulk_assessments", table)
        con.execute("""
            INSERT INTO assessments (assessment_id, trace_id, span_id, assessment_name, kind, value, value_label,
                value_number, rationale, source_type, source_id, metadata, create_time, last_update_time,
                overrides, valid, version, trace_key)
            SELECT assessment_id, trace_id, NULL, assessment_name, 'feedback', CAST(value AS JSON), value_label,
                value_number, NULL, 'LLM_JUDGE', 'bench-bulk', '{}', create_time, create_time, NULL, true, 1,
                coalesce(try_cast('0x' || right(trace_id, 16) AS UBIGINT), 0)
            FROM bulk_assessments""")
        con.unregister("bulk_assessments")
        con.execute("CHECKPOINT")
        result.bulk_s = time.monotonic() - t0
        result.bulk_rows = n


def _group_by(cfg: AssessmentsConfig, collector: Collector, result: AssessmentsResult) -> None:
    result.assessments_total = _count(collector, "SELECT count(*) FROM assessments")
    latencies: list[float] = []
    with httpx.Client(base_url=collector.web_url, timeout=60.0) as http:
        for run in range(cfg.sql_runs + 1):  # the first run is a warm-up, not timed
            t0 = time.perf_counter()
            resp = http.post("/api/v1/sql", json={"query": _GROUP_BY})
            ms = (time.perf_counter() - t0) * 1000.0
            if resp.status_code != 200:
                raise CollectorError(f"SQL API answered {resp.status_code}: {resp.text[:300]}")
            if run:
                latencies.append(ms)
            result.group_by_groups = len(resp.json()["rows"])
    result.group_by_p50_ms = percentile(latencies, 50)
    result.group_by_max_ms = max(latencies)


def _num(value: float | int | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _verdict(value: float | None, limit: float) -> str:
    return "n/a" if value is None else ("PASS" if value <= limit else "FAIL")


def print_assessments(r: AssessmentsResult, out: TextIO) -> None:
    """Same layout as bench.report: a figure block, the targets with PASS/FAIL, then notes."""
    cfg = r.config
    print("\n" + "=" * 100, file=out)
    print(
        f"annotrace bench: assessments  |  {os.cpu_count()} cores"
        + ("  |  --quick: fewer traces than the 100,000 of the target" if cfg.quick else ""),
        file=out,
    )
    print(
        f"  {'traces in the store (OTLP gRPC, 4 spans each)':<48}{_num(r.traces):>14}"
        + (f"  (queryable after {r.ingest_s:.1f}s)" if r.ingest_s else ""),
        file=out,
    )
    print(
        f"  {'log_feedback round trip (SDK), sequential':<48}{_num(r.feedback_n):>14} calls, "
        f"p50 {_num(r.feedback_p50_ms, 1)} ms, p99 {_num(r.feedback_p99_ms, 1)} ms",
        file=out,
    )
    print(
        f"  {'feedback added over REST before the search':<48}{_num(r.feedback_posted):>14}"
        + (f"  ({r.feedback_post_s:.1f}s, 4 threads)" if r.feedback_post_s else "")
        + f"; traces matching feedback.quality >= 4: {_num(r.search_matching)}",
        file=out,
    )
    print(
        f"  {'search_traces feedback.quality >= 4, page 100':<48}{_num(cfg.search_runs):>14} runs, "
        f"p50 {_num(r.search_p50_ms, 1)} ms, p99 {_num(r.search_p99_ms, 1)} ms, {_num(r.search_hits)} traces",
        file=out,
    )
    print(
        f"  {'assessments BULK-LOADED (one Arrow insert)':<48}{_num(r.bulk_rows):>14}"
        + (f"  ({r.bulk_s:.1f}s, collector stopped)" if r.bulk_s else "")
        + f"; table total {_num(r.assessments_total)}",
        file=out,
    )
    print(
        f"  {'GROUP BY assessment_name via /api/v1/sql':<48}{_num(cfg.sql_runs):>14} runs, "
        f"p50 {_num(r.group_by_p50_ms, 1)} ms, max {_num(r.group_by_max_ms, 1)} ms, "
        f"{_num(r.group_by_groups)} groups",
        file=out,
    )
    print("\nTargets", file=out)
    for label, value, limit in _targets(r):
        print(
            f"  {label:<48}{(_num(value, 1) + ' ms') if value is not None else 'n/a':>14}  {_verdict(value, limit)}",
            file=out,
        )
    if r.notes:
        print("\nNotes", file=out)
        for note in r.notes:
            print(f"  [assessments] {note}", file=out)
    print("=" * 100, file=out)


def _targets(r: AssessmentsResult) -> list[tuple[str, float | None, float]]:
    traces = f"{r.traces:,}" if r.traces else f"{r.config.traces:,}"
    rows = f"{r.assessments_total:,}" if r.assessments_total else f"{r.config.rows:,}"
    return [
        (f"log_feedback p50 <= {TARGET_FEEDBACK_P50_MS:.0f} ms", r.feedback_p50_ms, TARGET_FEEDBACK_P50_MS),
        (f"feedback search, {traces} traces <= {TARGET_SEARCH_MS:.0f} ms", r.search_p50_ms, TARGET_SEARCH_MS),
        (f"GROUP BY, {rows} assessments <= {TARGET_GROUP_BY_MS:.0f} ms", r.group_by_p50_ms, TARGET_GROUP_BY_MS),
    ]


def as_dict(r: AssessmentsResult) -> dict[str, object]:
    import dataclasses

    data = dataclasses.asdict(r)
    data["targets"] = [
        {"target": t, "value_ms": v, "pass": None if v is None else v <= lim} for t, v, lim in _targets(r)
    ]
    return data
