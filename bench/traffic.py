"""Realistic GenAI trace traffic as pre-serialized OTLP ExportTraceServiceRequest payloads.

Why a template + patch design: the benchmark measures the collector, so the client processes must
spend as little CPU as possible (they share the 2 cores with the collector). Building 512 spans
with protobuf objects costs milliseconds per request; instead each client builds a few dozen
*templates* once (real protobuf messages, serialized), remembers the byte offsets of every id and
timestamp field, and then stamps out requests by copying the bytes and overwriting those fields in
place (~1 ms per 512-span request, no protobuf work at all).

Invariants the bench relies on:
- every span in every request is unique on (trace_id, span_id): trace ids are 16 fresh random
  bytes per trace and span ids 8 fresh random bytes per span, so `count(*) FROM spans` equals the
  number of spans acknowledged by the collector;
- parent ids always point at the root span of the same trace; times are nanoseconds near "now";
- one trace = 4 spans (CHAIN root, RETRIEVER, chat LLM call, tool call), ~1.2 KB or ~2.6 KB per
  span on the wire (``bench.trace_shapes``), with the MLflow and OTel GenAI attributes a real app
  would send.
"""

from __future__ import annotations

import os
import random
import struct
import time
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from bench.trace_shapes import SHAPES, Shape, kv, rag_trace

SPANS_PER_TRACE = 4
"""root (CHAIN), retriever, chat, tool."""

# Wire tags of the Span fields we patch (field number << 3 | wire type).
_TAG_TRACE_ID = b"\x0a\x10"  # field 1, length-delimited, 16 bytes
_TAG_SPAN_ID = b"\x12\x08"  # field 2, length-delimited, 8 bytes
_TAG_PARENT_ID = b"\x22\x08"  # field 4, length-delimited, 8 bytes
_TAG_START = b"\x39"  # field 7, fixed64
_TAG_END = b"\x41"  # field 8, fixed64


@dataclass(frozen=True, slots=True)
class _Marked:
    """A span's marker values, to find their byte offsets after serialization."""

    trace_id: bytes
    span_id: bytes
    parent_id: bytes | None
    start: int
    end: int
    rel_start: int  # ns after the trace's start
    rel_end: int


def _trace_spans(
    rng: random.Random, trace_id: bytes, ids: list[bytes], shape: Shape
) -> tuple[list[Span], list[_Marked]]:
    layout = rag_trace(rng, shape)
    spans: list[Span] = []
    marks: list[_Marked] = []
    for i, (name, kind, attrs, parent, rel_start, rel_end) in enumerate(layout):
        start, end = _marker_time(rng), _marker_time(rng)
        parent_id = ids[parent] if parent is not None else None
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=ids[i],
                parent_span_id=parent_id or b"",
                name=name,
                kind=kind,
                start_time_unix_nano=start,
                end_time_unix_nano=end,
                attributes=attrs,
                status=Status(code=Status.STATUS_CODE_OK),
            )
        )
        marks.append(_Marked(trace_id, ids[i], parent_id, start, end, rel_start, rel_end))
    return spans, marks


def _marker_time(rng: random.Random) -> int:
    """A random 64-bit value with no zero bytes, so its encoding is unique in the payload."""
    return int.from_bytes(bytes(rng.randint(1, 255) for _ in range(8)), "little")


@dataclass(slots=True)
class _Template:
    """A serialized request plus where to write ids and times into a copy of it."""

    payload: bytes
    trace_id_offsets: list[list[int]]  # per trace: offsets of its trace_id fields (one per span)
    span_id_offsets: list[int]  # per span
    parent_offsets: list[tuple[int, int]]  # (offset, index of the parent span)
    time_offsets: list[tuple[int, int, int, int]]  # per span: (start off, end off, rel start, rel end)


def _find(raw: bytes, needle: bytes) -> int:
    """Offset of `needle` in one span's bytes; markers are random, so it must occur exactly once."""
    off = raw.find(needle)
    if off < 0 or raw.find(needle, off + 1) >= 0:
        raise ValueError("marker not unique in a template span")
    return off


def _build_template(rng: random.Random, n_traces: int, shape: Shape) -> _Template:
    all_spans: list[Span] = []
    all_marks: list[_Marked] = []
    for _ in range(n_traces):
        trace_id = rng.randbytes(16)
        ids = [rng.randbytes(8) for _ in range(SPANS_PER_TRACE)]
        spans, marks = _trace_spans(rng, trace_id, ids, shape)
        all_spans += spans
        all_marks += marks
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(
                    attributes=[
                        kv("service.name", "bench"),
                        kv("telemetry.sdk.language", "python"),
                        kv("telemetry.sdk.name", "opentelemetry"),
                    ]
                ),
                scope_spans=[
                    ScopeSpans(scope=InstrumentationScope(name="bench.traffic", version="1.0"), spans=all_spans)
                ],
            )
        ]
    )
    payload = request.SerializeToString()
    tpl = _Template(payload, [], [], [], [])
    pos = 0
    index_by_id = {m.span_id: i for i, m in enumerate(all_marks)}
    for i, (span, m) in enumerate(zip(all_spans, all_marks)):
        # Spans are serialized in order and standalone-identical, so a forward scan finds each one
        # in linear total time; markers are then searched only inside the span's own bytes.
        raw = span.SerializeToString()
        pos = payload.find(raw, pos)
        if pos < 0:
            raise ValueError("span bytes not found in the serialized request")
        if i % SPANS_PER_TRACE == 0:
            tpl.trace_id_offsets.append([])
        tpl.trace_id_offsets[-1].append(pos + _find(raw, _TAG_TRACE_ID + m.trace_id) + 2)
        tpl.span_id_offsets.append(pos + _find(raw, _TAG_SPAN_ID + m.span_id) + 2)
        if m.parent_id is not None:
            tpl.parent_offsets.append((pos + _find(raw, _TAG_PARENT_ID + m.parent_id) + 2, index_by_id[m.parent_id]))
        tpl.time_offsets.append(
            (
                pos + _find(raw, _TAG_START + struct.pack("<Q", m.start)) + 1,
                pos + _find(raw, _TAG_END + struct.pack("<Q", m.end)) + 1,
                m.rel_start,
                m.rel_end,
            )
        )
        pos += len(raw)
    return tpl


class RequestFactory:
    """Stamps out serialized ExportTraceServiceRequests with fresh ids and current timestamps.

    `templates` distinct contents are built once (seeded, so every client has its own texts);
    `next()` then costs about a millisecond per 512 spans and does no protobuf work.
    """

    def __init__(self, spans_per_request: int, seed: int, templates: int = 16, shape: str = "1k") -> None:
        """``shape``: a key of ``trace_shapes.SHAPES`` (``1k``: ~1.2 KB spans, ``2k``: ~2.6 KB)."""
        if spans_per_request % SPANS_PER_TRACE:
            raise ValueError(f"spans_per_request must be a multiple of {SPANS_PER_TRACE}")
        rng = random.Random(seed)
        self.spans_per_request = spans_per_request
        self._templates = [
            _build_template(rng, spans_per_request // SPANS_PER_TRACE, SHAPES[shape]) for _ in range(templates)
        ]
        self._i = 0

    @property
    def bytes_per_span(self) -> float:
        """Average serialized size per span (includes the request envelope)."""
        return sum(len(t.payload) for t in self._templates) / (len(self._templates) * self.spans_per_request)

    def next(self) -> bytes:
        """A new payload: same content as one template, new trace/span ids and times."""
        tpl = self._templates[self._i % len(self._templates)]
        self._i += 1
        buf = bytearray(tpl.payload)
        n_traces = len(tpl.trace_id_offsets)
        rnd = os.urandom(16 * n_traces + 8 * len(tpl.span_id_offsets))
        for t, offs in enumerate(tpl.trace_id_offsets):
            tid = rnd[16 * t : 16 * t + 16]
            for off in offs:
                buf[off : off + 16] = tid
        base = 16 * n_traces
        for s, off in enumerate(tpl.span_id_offsets):
            buf[off : off + 8] = rnd[base + 8 * s : base + 8 * s + 8]
        for off, parent in tpl.parent_offsets:
            buf[off : off + 8] = rnd[base + 8 * parent : base + 8 * parent + 8]
        now = time.time_ns() - 2_000_000_000
        pack = struct.pack_into
        for s, (start_off, end_off, rel_start, rel_end) in enumerate(tpl.time_offsets):
            trace_start = now + (s // SPANS_PER_TRACE) * 3_000_000
            pack("<Q", buf, start_off, trace_start + rel_start)
            pack("<Q", buf, end_off, trace_start + rel_end)
        return bytes(buf)
