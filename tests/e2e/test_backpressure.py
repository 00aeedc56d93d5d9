"""Past the configured backlog the receivers push back with retryable codes, and every export that
was acknowledged is stored."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable

import grpc
import httpx

from tests.collector_process import Collector
from tests.otlp_builders import new_span_id, new_trace_id, request, span


def test_overload_gets_429_or_resource_exhausted_and_acked_data_is_kept(
    fresh_collector: Callable[..., Collector],
) -> None:
    collector = fresh_collector(backlog_mib=1)
    outcomes: Counter[str] = Counter()
    acked: list[str] = []
    lock = threading.Lock()

    def body() -> tuple[str, bytes]:
        trace_id = new_trace_id()
        spans = [span(trace_id, new_span_id(), attributes={"blob": os.urandom(1500).hex()}) for _ in range(100)]
        return "tr-" + trace_id.hex(), request(spans).SerializeToString()  # ~300 KB, incompressible

    def http_sender() -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(15):
                trace_id, data = body()
                response = client.post(
                    f"{collector.http}/v1/traces", content=data, headers={"content-type": "application/x-protobuf"}
                )
                with lock:
                    outcomes[f"http {response.status_code}"] += 1
                    if response.status_code == 200:
                        acked.append(trace_id)
                    else:
                        assert response.status_code in (429, 503)
                        assert int(response.headers["retry-after"]) >= 1

    def grpc_sender() -> None:
        channel = grpc.insecure_channel(collector.grpc)
        raw = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        for _ in range(15):
            trace_id, data = body()
            try:
                raw(data, timeout=30)
            except grpc.RpcError as exc:
                with lock:
                    outcomes[f"grpc {exc.code().name}"] += 1
                assert exc.code() in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE)
                continue
            with lock:
                outcomes["grpc OK"] += 1
                acked.append(trace_id)
        channel.close()

    threads = [threading.Thread(target=f) for f in (http_sender, grpc_sender) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = sum(n for k, n in outcomes.items() if not k.endswith(("200", "OK")))
    assert refused > 0, f"no push-back with a 1 MiB backlog: {outcomes}"
    assert acked, outcomes
    expected = [{"n": len(acked) * 100}]
    in_list = ", ".join(f"'{t}'" for t in acked)
    assert collector.wait_for(f"SELECT count(*) AS n FROM spans WHERE trace_id IN ({in_list})", expected) == expected
    # nothing refused was stored
    assert collector.sql("SELECT count(*) AS n FROM spans") == expected
