"""The trace page's span tree and span detail, shaped for the template and the ``.json`` twin.

Separate from ``trace.py`` (routes and handlers) because this is where the page decides what a
span *looks like*: the timeline geometry, which ``doc_uri`` values may become links, how a
TOOL span is read as a tool call, and which events are exceptions. Everything here is pure
(store rows in, frozen dataclasses out), so it is the same for HTML and JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from annotrace.collector.store.queries.trace_explorer import Message, SpanDetail, TreeSpan
    from annotrace.collector.store.queries.traces import SpanLink

LINK_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class SpanLine:
    """One row of the tree; ``left_pct``/``width_pct`` place its bar on the trace's timeline."""

    span_id: str
    parent_span_id: str | None
    depth: int
    name: str
    span_type: str
    status_code: str
    offset_ms: float
    duration_ms: float
    left_pct: float
    width_pct: float


@dataclass(frozen=True, slots=True)
class Timeline:
    spans: list[SpanLine]
    total_ms: float


@dataclass(frozen=True, slots=True)
class DocumentView:
    position: int
    document_id: str | None
    content: str | None
    score: float | None
    doc_uri: str | None
    href: str | None  # doc_uri when it is safe to link to (http(s) or relative), else None
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventView:
    name: str
    offset_ms: float  # after the span's start
    exception: bool
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A TOOL span read as the call it records (OTel ``gen_ai.tool.*``, else the span itself)."""

    name: str
    call_id: str | None
    description: str | None
    arguments: Any
    result: Any


@dataclass(frozen=True, slots=True)
class SpanView:
    span_id: str
    parent_span_id: str | None
    is_root: bool
    name: str
    kind: str
    span_type: str
    start_time: datetime
    end_time: datetime
    duration_ms: float
    status_code: str
    status_message: str | None
    model: str | None
    provider: str | None
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    inputs: Any
    outputs: Any
    input_messages: list[Message]
    output_messages: list[Message]
    documents: list[DocumentView]
    tool: ToolCall | None
    events: list[EventView]
    links: list[SpanLink]
    attributes: dict[str, Any]
    resource_attributes: dict[str, Any]
    scope_name: str | None
    scope_version: str | None
    trace_state: str | None
    normalization_errors: list[str]


def timeline(tree: list[TreeSpan]) -> Timeline:
    """Bars relative to the whole trace: from the earliest start to the latest end."""
    if not tree:
        return Timeline([], 0.0)
    start = min(span.start_ns for span in tree)
    total_ns = max(max(span.end_ns for span in tree) - start, 1)
    lines = [
        SpanLine(
            span.span_id,
            span.parent_span_id,
            span.depth,
            span.name,
            span.span_type,
            span.status_code,
            round((span.start_ns - start) / 1e6, 3),
            round(max(span.end_ns - span.start_ns, 0) / 1e6, 3),
            round((span.start_ns - start) * 100 / total_ns, 2),
            round(max(span.end_ns - span.start_ns, 0) * 100 / total_ns, 2),
        )
        for span in tree
    ]
    return Timeline(lines, round(total_ns / 1e6, 3))


def safe_href(uri: str | None) -> str | None:
    """``uri`` if a browser may follow it: http(s) with a host, or a relative path.

    Anything else (``javascript:``, ``data:``, ``file:``, ``s3://``, a scheme-relative ``//host``,
    text with spaces or control characters that browsers strip before reading the scheme) is
    shown as text, so a document's metadata can never run script in the page.
    """
    if not uri or any(ord(c) <= 0x20 or c == "\\" for c in uri):
        return None
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme:
        return uri if parts.scheme.lower() in LINK_SCHEMES and parts.netloc else None
    return None if parts.netloc or uri.startswith("//") or ":" in uri.split("/", 1)[0] else uri


def _tool(span: SpanDetail) -> ToolCall | None:
    if span.span_type != "TOOL":
        return None
    attributes = span.attributes
    name = attributes.get("gen_ai.tool.name") or attributes.get("tool.name") or span.name
    call_id = attributes.get("gen_ai.tool.call.id")
    description = attributes.get("gen_ai.tool.description") or attributes.get("tool.description")
    return ToolCall(
        str(name),
        None if call_id is None else str(call_id),
        None if description is None else str(description),
        span.inputs,
        span.outputs,
    )


def span_view(span: SpanDetail, root_span_id: str | None) -> SpanView:
    return SpanView(
        span.span_id,
        span.parent_span_id,
        span.span_id == root_span_id,
        span.name,
        span.kind,
        span.span_type,
        span.start_time,
        span.end_time,
        span.duration_ms,
        span.status_code,
        span.status_message,
        span.model,
        span.provider,
        span.input_tokens,
        span.output_tokens,
        span.total_tokens,
        span.inputs,
        span.outputs,
        [m for m in span.messages if m.direction == "input"],
        [m for m in span.messages if m.direction == "output"],
        [
            DocumentView(d.position, d.document_id, d.content, d.score, d.doc_uri, safe_href(d.doc_uri), d.metadata)
            for d in span.documents
        ],
        _tool(span),
        [
            EventView(e.name, round((e.time_unix_nano - span.start_ns) / 1e6, 3), e.name == "exception", e.attributes)
            for e in span.events
        ],
        span.links,
        span.attributes,
        span.resource_attributes,
        span.scope_name,
        span.scope_version,
        span.trace_state,
        span.normalization_errors,
    )
