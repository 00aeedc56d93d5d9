"""A span stored twice on a DuckLake store: an export retried to a second collector while the first
was still storing it. Each collector looks for a stored copy only in its own snapshot, so both
store it; lake housekeeping keeps one (``store.lake.remove_span_copies``)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.collector.store.lake_support import Lake, agent_traces, needs_lake
from tests.collector_process import Collector

pytestmark = needs_lake
COUNTS = (
    "SELECT count(*) AS spans, count(DISTINCT (trace_id, span_id)) AS distinct_spans, "
    "(SELECT sum(span_count) FROM traces) AS span_count, (SELECT sum(input_tokens) FROM traces) AS input_tokens, "
    "(SELECT count(*) FROM traces) AS traces FROM spans"
)


def _export_to_both(collectors: list[Collector], spans: list[ReadableSpan]) -> None:
    """Every export sent to each collector at the same time, as a client retrying to another one."""
    results: list[SpanExportResult] = []

    def send(collector: Collector) -> None:
        exporter = OTLPSpanExporter(endpoint=collector.grpc, insecure=True, timeout=30)
        for first in range(0, len(spans), 20):
            results.append(exporter.export(spans[first : first + 20]))
        exporter.shutdown()

    threads = [threading.Thread(target=send, args=(collector,)) for collector in collectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results) == {SpanExportResult.SUCCESS}


def test_a_span_exported_to_both_collectors_is_stored_once_after_housekeeping(
    lake: Lake, lake_collector: Callable[..., Collector]
) -> None:
    a, b = lake_collector("a", lake), lake_collector("b", lake)
    service = f"svc-{uuid.uuid4().hex[:6]}"
    sent = 0
    copies: list[dict[str, int]] = []
    for _ in range(5):  # until both collectors stored some span (they race: usually the first round)
        traces = agent_traces(50, service)
        _export_to_both([a, b], [span for trace in traces for span in trace])
        sent += 50
        b.sql("SELECT 1")  # b's read barrier: what b acknowledged is stored (a's own read below waits for a's)
        copies = a.sql(COUNTS)
        if copies[0]["spans"] > copies[0]["distinct_spans"]:
            break
    assert copies[0]["spans"] > copies[0]["distinct_spans"] == sent * 4, "no span was stored twice"
    assert copies[0]["span_count"] == copies[0]["spans"], "until housekeeping, a copy counts in its trace"

    a.stop()
    a = lake_collector("a", lake, lake_options=", housekeeping_interval: 1s")
    expected = [
        {
            "spans": sent * 4,
            "distinct_spans": sent * 4,
            "span_count": sent * 4,
            "input_tokens": sent * 6,
            "traces": sent,
        }
    ]
    assert a.wait_for(COUNTS, expected, timeout=60) == expected
