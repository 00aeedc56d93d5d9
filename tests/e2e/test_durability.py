"""Acknowledged means durable: kill -9 loses nothing acked, restarts recover, retries do not duplicate."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from tests.collector_process import Collector
from tests.otlp_builders import new_span_id, new_trace_id, request, span


def _trace(n_spans: int, start: int | None = None) -> tuple[str, list]:
    trace_id = new_trace_id()
    root = new_span_id()
    start = start or time.time_ns()
    spans = [span(trace_id, root, name="root", start=start, duration_ns=5_000_000, attributes={"payload": "x" * 400})]
    spans += [
        span(
            trace_id,
            new_span_id(),
            parent=root,
            name=f"child-{i}",
            start=start + i,
            attributes={"i": i, "payload": "y" * 400},
        )
        for i in range(n_spans - 1)
    ]
    return "tr-" + trace_id.hex(), spans


def test_kill_9_during_load_loses_no_acknowledged_span(fresh_collector: Callable[..., Collector]) -> None:
    collector = fresh_collector()
    acked: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def send() -> None:
        channel = grpc.insecure_channel(collector.grpc)
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        while not stop.is_set():
            batch = [_trace(10) for _ in range(50)]  # 500 spans per export
            try:
                stub.Export(request([s for _, spans in batch for s in spans]), timeout=5)
            except grpc.RpcError:
                break  # the collector is gone: this export was never acknowledged
            with lock:
                acked.update((trace_id, 10) for trace_id, _ in batch)
        channel.close()

    senders = [threading.Thread(target=send) for _ in range(4)]
    for thread in senders:
        thread.start()
    while len(acked) < 2000:  # at least 20,000 acknowledged spans before the crash
        time.sleep(0.05)
    collector.process.send_signal(signal.SIGKILL)
    collector.process.wait()
    stop.set()
    for thread in senders:
        thread.join()

    restarted = fresh_collector()
    expected_total = sum(acked.values())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stored = {
            r["trace_id"]: r["n"] for r in restarted.sql("SELECT trace_id, count(*) AS n FROM spans GROUP BY trace_id")
        }
        if all(stored.get(t) == n for t, n in acked.items()):
            break
        time.sleep(0.2)
    missing = {t: n for t, n in acked.items() if stored.get(t) != n}
    assert not missing, f"{len(missing)} acknowledged traces incomplete of {len(acked)} ({expected_total} spans)"
    # every stored span is stored once, and traces agree with spans
    dupes = restarted.sql("SELECT count(*) - count(DISTINCT (trace_id, span_id)) AS d FROM spans")
    assert dupes == [{"d": 0}]
    mismatched = restarted.sql(
        "SELECT count(*) AS n FROM traces t JOIN (SELECT trace_id, count(*) c FROM spans GROUP BY trace_id) s "
        "USING (trace_id) WHERE t.span_count <> s.c"
    )
    assert mismatched == [{"n": 0}]


def test_clean_restart_keeps_data_and_accepts_more(fresh_collector: Callable[..., Collector]) -> None:
    first = fresh_collector()
    trace_a, spans_a = _trace(3)
    httpx.post(
        f"{first.http}/v1/traces",
        content=request(spans_a).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    ).raise_for_status()
    assert first.stop() == 0  # SIGTERM: stop accepting, store everything, exit 0
    assert "Traceback" not in first.log

    second = fresh_collector()
    assert second.sql(f"SELECT span_count FROM traces WHERE trace_id = '{trace_a}'") == [{"span_count": 3}]
    trace_b, spans_b = _trace(2)
    httpx.post(
        f"{second.http}/v1/traces",
        content=request(spans_b).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    ).raise_for_status()
    expected = [{"trace_id": trace_b, "span_count": 2}, {"trace_id": trace_a, "span_count": 3}]
    assert second.wait_for("SELECT trace_id, span_count FROM traces ORDER BY span_count", expected) == expected


def test_retried_exports_do_not_duplicate(collector: Collector) -> None:
    trace_id, spans = _trace(4)
    body = request(spans).SerializeToString()
    for _ in range(3):
        httpx.post(
            f"{collector.http}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
        ).raise_for_status()
    channel = grpc.insecure_channel(collector.grpc)
    trace_service_pb2_grpc.TraceServiceStub(channel).Export(request(spans), timeout=5)
    channel.close()
    marker = _trace(1)
    httpx.post(
        f"{collector.http}/v1/traces",
        content=request(marker[1]).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    ).raise_for_status()
    collector.wait_for(f"SELECT count(*) AS n FROM spans WHERE trace_id = '{marker[0]}'", [{"n": 1}])
    assert collector.sql(f"SELECT count(*) AS n FROM spans WHERE trace_id = '{trace_id}'") == [{"n": 4}]
    assert collector.sql(f"SELECT span_count FROM traces WHERE trace_id = '{trace_id}'") == [{"span_count": 4}]


def test_traces_row_is_right_when_spans_arrive_out_of_order_and_late(collector: Collector) -> None:
    trace_id = new_trace_id()
    tid = "tr-" + trace_id.hex()
    root_id, child_id = new_span_id(), new_span_id()
    t0 = time.time_ns() - 60_000_000_000  # a minute ago
    post = lambda spans: httpx.post(  # noqa: E731
        f"{collector.http}/v1/traces",
        content=request(spans).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    ).raise_for_status()
    # 1. a child arrives first, with tokens
    post(
        [
            span(
                trace_id,
                child_id,
                parent=root_id,
                name="llm",
                start=t0 + 10_000_000,
                duration_ns=20_000_000,
                attributes={"gen_ai.usage.input_tokens": 7, "gen_ai.usage.output_tokens": 3},
            )
        ]
    )
    rows = collector.wait_for(
        f"SELECT name, state, span_count FROM traces WHERE trace_id = '{tid}'",
        [{"name": None, "state": "IN_PROGRESS", "span_count": 1}],
    )
    assert rows == [{"name": None, "state": "IN_PROGRESS", "span_count": 1}]
    # 2. the root arrives in another export, starting earlier, with an error status
    post([span(trace_id, root_id, name="agent", start=t0, duration_ns=50_000_000, status=2)])
    expected = [
        {
            "name": "agent",
            "state": "ERROR",
            "span_count": 2,
            "execution_duration_ms": 50.0,
            "root_span_id": root_id.hex(),
        }
    ]
    assert (
        collector.wait_for(
            f"SELECT name, state, span_count, execution_duration_ms, root_span_id FROM traces WHERE trace_id = '{tid}'",
            expected,
        )
        == expected
    )
    # 3. a late tool span that ends after the root, and another LLM span
    late_id = new_span_id()
    post(
        [
            span(trace_id, late_id, parent=root_id, name="late", start=t0 + 40_000_000, duration_ns=30_000_000),
            span(
                trace_id,
                new_span_id(),
                parent=root_id,
                name="llm2",
                start=t0 + 41_000_000,
                attributes={"gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 1},
            ),
        ]
    )
    expected = [
        {
            "name": "agent",
            "state": "ERROR",
            "span_count": 4,
            "execution_duration_ms": 70.0,
            "error_span_count": 1,
            "input_tokens": 12,
            "output_tokens": 4,
        }
    ]
    assert (
        collector.wait_for(
            "SELECT name, state, span_count, execution_duration_ms, error_span_count, input_tokens, output_tokens "
            f"FROM traces WHERE trace_id = '{tid}'",
            expected,
        )
        == expected
    )
    start = collector.sql(f"SELECT epoch_ns(request_time) AS t FROM traces WHERE trace_id = '{tid}'")[0]["t"]
    assert abs(start - t0) < 1000  # stored at microsecond precision
    # the API and the explorer find every span, the late ones too (they look spans up by the
    # trace's time range)
    spans = (
        httpx.get(f"{collector.web}/api/3.0/mlflow/traces/get", params={"trace_id": tid})
        .raise_for_status()
        .json()["trace"]["spans"]
    )
    assert sorted(s["name"] for s in spans) == ["agent", "late", "llm", "llm2"]
    assert httpx.get(f"{collector.web}/traces/{tid}").raise_for_status().text.count('<li class="st-row') == 4
    assert httpx.get(f"{collector.web}/traces/{tid}/spans/{late_id.hex()}").status_code == 200
