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
- one trace = 4 spans (CHAIN root, RETRIEVER, chat LLM call, tool call), ~1.2 KB per span on the
  wire, with the MLflow and OTel GenAI attributes a real app would send.
"""

from __future__ import annotations

import os
import random
import struct
import time
from dataclasses import dataclass

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

SPANS_PER_TRACE = 4
"""root (CHAIN), retriever, chat, tool."""

_WORDS = [
    "invoice",
    "refund",
    "policy",
    "shipping",
    "warranty",
    "account",
    "password",
    "reset",
    "billing",
    "cycle",
    "subscription",
    "upgrade",
    "downgrade",
    "latency",
    "region",
    "cluster",
    "deployment",
    "rollback",
    "pipeline",
    "dataset",
    "embedding",
    "vector",
    "index",
    "shard",
    "replica",
    "quota",
    "token",
    "limit",
    "model",
    "prompt",
    "context",
    "window",
    "retrieval",
    "ranking",
    "document",
    "customer",
    "order",
    "delivery",
    "tracking",
    "address",
    "payment",
    "method",
    "card",
    "bank",
    "transfer",
    "currency",
    "tax",
    "report",
    "dashboard",
    "metric",
    "alert",
    "threshold",
    "incident",
    "outage",
    "recovery",
    "backup",
    "snapshot",
    "storage",
    "bucket",
    "permission",
    "role",
    "group",
    "policy",
    "audit",
    "compliance",
    "region",
    "language",
    "translation",
    "summary",
]

_MODELS = (("gpt-4o-mini", "gpt-4o-mini-2024-07-18"), ("gpt-4o", "gpt-4o-2024-08-06"))
_TOOLS = ("get_order_status", "search_kb", "get_weather", "create_ticket", "lookup_account")
_SYSTEM_PROMPT = (
    "You are a helpful support assistant for ACME Cloud. Answer only from the provided context. "
    "If the context does not contain the answer, say that you do not know and offer to open a "
    "support ticket. Keep answers short, cite the document ids you used, and never reveal "
    "internal notes, credentials or personal data of other customers."
)

# Wire tags of the Span fields we patch (field number << 3 | wire type).
_TAG_TRACE_ID = b"\x0a\x10"  # field 1, length-delimited, 16 bytes
_TAG_SPAN_ID = b"\x12\x08"  # field 2, length-delimited, 8 bytes
_TAG_PARENT_ID = b"\x22\x08"  # field 4, length-delimited, 8 bytes
_TAG_START = b"\x39"  # field 7, fixed64
_TAG_END = b"\x41"  # field 8, fixed64


def _sentence(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n_words)).capitalize() + "."


def _text(rng: random.Random, n_bytes: int) -> str:
    parts: list[str] = []
    size = 0
    while size < n_bytes:
        s = _sentence(rng, rng.randint(6, 14))
        parts.append(s)
        size += len(s) + 1
    return " ".join(parts)[:n_bytes]


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


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


def _trace_spans(rng: random.Random, trace_id: bytes, ids: list[bytes]) -> tuple[list[Span], list[_Marked]]:
    """One RAG-with-tool trace: root CHAIN -> (RETRIEVER, chat, execute_tool)."""
    question = _sentence(rng, rng.randint(10, 18)).rstrip(".") + "?"
    answer = _text(rng, rng.randint(260, 360))
    docs = [
        {
            "page_content": _text(rng, rng.randint(270, 330)),
            "metadata": {
                "doc_uri": f"https://kb.example.com/articles/{rng.randint(1000, 99999)}",
                "chunk_id": str(rng.randint(0, 40)),
            },
            "id": f"doc-{rng.randint(10**6, 10**7)}",
        }
        for _ in range(3)
    ]
    req_model, resp_model = rng.choice(_MODELS)
    tool = rng.choice(_TOOLS)
    context = "\n\n".join(f"[{d['id']}] {str(d['page_content'])[:200]}" for d in docs)
    in_msgs = [
        {"role": "system", "parts": [{"type": "text", "content": _SYSTEM_PROMPT}]},
        {"role": "user", "parts": [{"type": "text", "content": f"Context:\n{context}\n\nQuestion: {question}"}]},
    ]
    out_msgs = [{"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}]
    in_tokens = rng.randint(380, 520)
    out_tokens = rng.randint(60, 140)
    tool_args = {"query": question[:60], "limit": rng.randint(1, 5)}
    tool_result = {"status": "ok", "items": [_sentence(rng, 10) for _ in range(rng.randint(2, 4))]}

    root_attrs = [
        _kv("mlflow.spanType", '"CHAIN"'),
        _kv("mlflow.spanInputs", _json({"question": question, "session_id": f"s-{rng.randint(1, 10**6)}"})),
        _kv("mlflow.spanOutputs", _json(answer)),
    ]
    retriever_attrs = [
        _kv("mlflow.spanType", '"RETRIEVER"'),
        _kv("mlflow.spanInputs", _json({"query": question})),
        _kv("mlflow.spanOutputs", _json(docs)),
    ]
    chat_attrs = [
        _kv("gen_ai.operation.name", "chat"),
        _kv("gen_ai.provider.name", "openai"),
        _kv("gen_ai.request.model", req_model),
        _kv("gen_ai.response.model", resp_model),
        _kv("gen_ai.response.id", f"chatcmpl-{rng.getrandbits(96):024x}"),
        _kv("gen_ai.usage.input_tokens", in_tokens),
        _kv("gen_ai.usage.output_tokens", out_tokens),
        _kv("gen_ai.input.messages", _json(in_msgs)),
        _kv("gen_ai.output.messages", _json(out_msgs)),
    ]
    tool_attrs = [
        _kv("gen_ai.operation.name", "execute_tool"),
        _kv("gen_ai.tool.name", tool),
        _kv("gen_ai.tool.call.id", f"call_{rng.getrandbits(64):016x}"),
        _kv("gen_ai.tool.call.arguments", _json(tool_args)),
        _kv("gen_ai.tool.call.result", _json(tool_result)),
    ]
    ms = 1_000_000
    chat_end = rng.randint(700, 1400) * ms
    layout = [  # (name, kind, attrs, parent index, rel start, rel end)
        ("rag_pipeline", Span.SPAN_KIND_SERVER, root_attrs, None, 0, chat_end + 260 * ms),
        ("retrieve_documents", Span.SPAN_KIND_INTERNAL, retriever_attrs, 0, 4 * ms, rng.randint(40, 160) * ms),
        (f"chat {req_model}", Span.SPAN_KIND_CLIENT, chat_attrs, 0, 170 * ms, chat_end),
        (f"execute_tool {tool}", Span.SPAN_KIND_INTERNAL, tool_attrs, 0, chat_end + 10 * ms, chat_end + 250 * ms),
    ]
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


def _build_template(rng: random.Random, n_traces: int) -> _Template:
    all_spans: list[Span] = []
    all_marks: list[_Marked] = []
    for _ in range(n_traces):
        trace_id = rng.randbytes(16)
        ids = [rng.randbytes(8) for _ in range(SPANS_PER_TRACE)]
        spans, marks = _trace_spans(rng, trace_id, ids)
        all_spans += spans
        all_marks += marks
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(
                    attributes=[
                        _kv("service.name", "bench"),
                        _kv("telemetry.sdk.language", "python"),
                        _kv("telemetry.sdk.name", "opentelemetry"),
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

    def __init__(self, spans_per_request: int, seed: int, templates: int = 16) -> None:
        if spans_per_request % SPANS_PER_TRACE:
            raise ValueError(f"spans_per_request must be a multiple of {SPANS_PER_TRACE}")
        rng = random.Random(seed)
        self.spans_per_request = spans_per_request
        self._templates = [_build_template(rng, spans_per_request // SPANS_PER_TRACE) for _ in range(templates)]
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
