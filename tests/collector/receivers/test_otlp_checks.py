"""``check_traces``: which spans a receiver refuses (partial_success) and which it keeps, in place."""

from __future__ import annotations

import pytest
from opentelemetry.proto.trace.v1 import trace_pb2

from annotrace.collector.receivers.otlp_decode import check_traces
from tests.otlp_builders import new_span_id, new_trace_id, request, span

TRACE = new_trace_id()
NOW = 1_700_000_000_000_000_000


def _linked(trace_id: bytes, span_id: bytes) -> trace_pb2.Span:
    out = span(TRACE, new_span_id(), name="linked", start=NOW)
    out.links.add(trace_id=trace_id, span_id=span_id)
    return out


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (span(TRACE, new_span_id(), parent=bytes(8), start=NOW), "parent_span_id must be empty or 8 non-zero bytes"),
        (span(TRACE, new_span_id(), parent=b"\x01" * 7, start=NOW), "parent_span_id must be empty or 8 non-zero bytes"),
        (
            span(TRACE, new_span_id(), start=0, duration_ns=0),
            "start_time_unix_nano must be set and end_time_unix_nano must fit",
        ),
        (
            span(TRACE, new_span_id(), start=2**63 - 10, duration_ns=100),
            "start_time_unix_nano must be set and end_time_unix_nano must fit",
        ),
        (span(TRACE, new_span_id(), start=NOW, duration_ns=-1), "end_time_unix_nano is before start_time_unix_nano"),
        (_linked(TRACE, b"\x01" * 7), "a link's trace_id/span_id has the wrong length"),
    ],
)
def test_a_bad_span_is_removed_with_its_reason_and_the_rest_kept(bad: trace_pb2.Span, reason: str) -> None:
    good = [span(TRACE, new_span_id(), name=f"good-{i}", start=NOW) for i in range(3)]
    message = request([good[0], bad, good[1], good[2]])
    checked = check_traces(message)
    assert (checked.accepted, checked.rejected) == (3, 1)
    assert checked.message.startswith(f"1 spans rejected: {reason}")
    assert [s.name for s in message.resource_spans[0].scope_spans[0].spans] == ["good-0", "good-1", "good-2"]


def test_valid_edge_cases_are_kept() -> None:
    spans = [
        span(TRACE, new_span_id(), name="zero-duration", start=NOW, duration_ns=0),
        span(TRACE, new_span_id(), parent=new_span_id(), name="child", start=NOW),
        _linked(new_trace_id(), new_span_id()),
        span(TRACE, new_span_id(), name="last-nanosecond", start=2**63 - 2, duration_ns=1),
    ]
    message = request(spans)
    checked = check_traces(message)
    assert (checked.accepted, checked.rejected, checked.message) == (4, 0, "")
    assert len(message.resource_spans[0].scope_spans[0].spans) == 4
