"""One trace as the trace explorer shows it: a header, a compact span tree, one span in full.

Why not ``traces.get_with_spans``: that loads every span's inputs, outputs, attributes, events and links
(the REST GetTrace answer). The explorer must stay interactive on a trace of 1,000 spans, so the
tree reads only the narrow columns it draws (name, type, status, times) and the heavy columns,
messages and documents are read for the one span on screen. The same functions back the page,
its ``.json`` twin and the span detail the page's script fetches, so all three agree.

Tree order: parents before children, siblings by start time (then span id); a span whose parent
is not stored (a late or lost parent) is shown as a root, so no span ever disappears from view.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import NotFound
from annotrace.collector.store.queries import assessments as assessment_queries
from annotrace.collector.store.queries.assessments import Assessment
from annotrace.collector.store.queries.traces import SPANS_OF_TRACE, SpanEvent, SpanLink

HEADER = (
    "SELECT t.trace_id, t.experiment_id, e.name, t.name, t.state, t.request_time, t.end_time, "
    "t.execution_duration_ms, t.input_tokens, t.output_tokens, t.total_tokens, t.span_count, t.error_span_count, "
    "t.root_span_id, t.tags, t.trace_metadata, t.session_id, t.user_id "
    "FROM traces t LEFT JOIN experiments e ON e.experiment_id = t.experiment_id "
    "WHERE t.trace_key = coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0) AND t.trace_id = $1"
)
TREE = (
    "SELECT span_id, parent_span_id, name, span_type, status_code, start_time_unix_nano, end_time_unix_nano "
    f"FROM spans WHERE {SPANS_OF_TRACE}"
)
SPAN = (
    "SELECT span_id, parent_span_id, name, kind, span_type, start_time, end_time, duration_ms, start_time_unix_nano, "
    "status_code, status_message, inputs, outputs, model, provider, input_tokens, output_tokens, total_tokens, "
    "attributes, resource_attributes, scope_name, scope_version, trace_state, normalization_errors "
    f"FROM spans WHERE span_id = $4 AND {SPANS_OF_TRACE}"
)
EVENTS = "SELECT time_unix_nano, name, attributes FROM span_events WHERE trace_id = ? AND span_id = ? ORDER BY position"
LINKS = (
    "SELECT linked_trace_id, linked_span_id, trace_state, attributes FROM span_links "
    "WHERE trace_id = ? AND span_id = ? ORDER BY position"
)
MESSAGES = (
    "SELECT direction, position, role, content, tool_calls FROM messages "
    "WHERE trace_key = coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0) AND trace_id = $1 AND span_id = $2 "
    "ORDER BY direction = 'output', position"
)
DOCUMENTS = (
    "SELECT position, document_id, content, score, doc_uri, metadata FROM documents "
    "WHERE trace_key = coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0) AND trace_id = $1 AND span_id = $2 "
    "ORDER BY position"
)


@dataclass(frozen=True, slots=True)
class TraceHeader:
    trace_id: str
    experiment_id: str
    experiment_name: str | None
    name: str | None
    state: str
    request_time: datetime
    end_time: datetime
    duration_ms: float
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    span_count: int
    error_span_count: int
    root_span_id: str | None
    tags: dict[str, Any]
    metadata: dict[str, Any]
    session_id: str | None
    user_id: str | None


@dataclass(frozen=True, slots=True)
class TreeSpan:
    """One row of the span tree: just what the tree and its timeline draw."""

    span_id: str
    parent_span_id: str | None
    depth: int
    name: str
    span_type: str
    status_code: str
    start_ns: int
    end_ns: int


@dataclass(frozen=True, slots=True)
class Message:
    direction: str  # input | output
    position: int
    role: str | None
    content: str | None
    tool_calls: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Document:
    position: int
    document_id: str | None
    content: str | None
    score: float | None
    doc_uri: str | None
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SpanDetail:
    """Everything stored about one span, JSON columns decoded."""

    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    span_type: str
    start_time: datetime
    end_time: datetime
    duration_ms: float
    start_ns: int
    status_code: str
    status_message: str | None
    inputs: Any
    outputs: Any
    model: str | None
    provider: str | None
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    attributes: dict[str, Any]
    resource_attributes: dict[str, Any]
    scope_name: str | None
    scope_version: str | None
    trace_state: str | None
    normalization_errors: list[str]
    events: list[SpanEvent] = field(default_factory=list)
    links: list[SpanLink] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ExplorerTrace:
    header: TraceHeader
    tree: list[TreeSpan]
    selected: SpanDetail | None
    assessments: list[Assessment]
    missing_span: str | None = None  # the span asked for, when the trace has no such span


def _json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def header(cursor: duckdb.DuckDBPyConnection, trace_id: str) -> TraceHeader:
    rows = cursor.execute(HEADER, [trace_id]).fetchall()
    if not rows:
        raise NotFound(f"Trace with ID '{trace_id}' not found.")
    values = list(rows[0])
    values[14] = _json(values[14]) or {}
    values[15] = _json(values[15]) or {}
    return TraceHeader(*values)


def _spans_of(head: TraceHeader) -> list[Any]:
    """``SPANS_OF_TRACE``'s parameters: the header read in the same snapshot has the trace's range."""
    return [head.trace_id, head.request_time, head.end_time]


def tree(cursor: duckdb.DuckDBPyConnection, head: TraceHeader) -> list[TreeSpan]:
    """The trace's spans depth first: parents before children, siblings by start time."""
    rows = cursor.execute(TREE, _spans_of(head)).fetchall()
    ids = {row[0] for row in rows}
    children: dict[str | None, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        parent = row[1] if row[1] in ids and row[1] != row[0] else None
        children[parent].append(row)
    for siblings in children.values():
        siblings.sort(key=lambda r: (r[5], r[0]))
    out: list[TreeSpan] = []
    seen: set[str] = set()
    stack = [(row, 0) for row in reversed(children[None])]
    while stack:
        row, depth = stack.pop()
        if row[0] in seen:
            continue
        seen.add(row[0])
        out.append(TreeSpan(row[0], row[1], depth, row[2], row[3], row[4], row[5], row[6]))
        stack.extend((child, depth + 1) for child in reversed(children.get(row[0], [])))
    # a parent cycle (a -> b -> a) has no root: show its members as roots rather than drop them
    out.extend(
        TreeSpan(row[0], row[1], 0, row[2], row[3], row[4], row[5], row[6])
        for row in sorted(rows, key=lambda r: (r[5], r[0]))
        if row[0] not in seen
    )
    return out


def span_detail(cursor: duckdb.DuckDBPyConnection, head: TraceHeader, span_id: str) -> SpanDetail:
    """One span of the trace ``head`` heads, with its events, links, chat messages and retrieved documents."""
    trace_id = head.trace_id
    rows = cursor.execute(SPAN, [*_spans_of(head), span_id]).fetchall()
    if not rows:
        raise NotFound(f"Span '{span_id}' not found in trace '{trace_id}'.")
    (
        sid,
        parent,
        name,
        kind,
        span_type,
        start,
        end,
        duration,
        start_ns,
        status,
        message,
        inputs,
        outputs,
        model,
        provider,
        input_tokens,
        output_tokens,
        total_tokens,
        attributes,
        resource,
        scope,
        scope_version,
        state,
        errors,
    ) = rows[0]
    events = [SpanEvent(t, n, _json(a) or {}) for t, n, a in cursor.execute(EVENTS, [trace_id, span_id]).fetchall()]
    links = [
        SpanLink(lt, ls, st, _json(a) or {}) for lt, ls, st, a in cursor.execute(LINKS, [trace_id, span_id]).fetchall()
    ]
    messages = [
        Message(d, p, r, c, _json(calls) or [])
        for d, p, r, c, calls in cursor.execute(MESSAGES, [trace_id, span_id]).fetchall()
    ]
    documents = [
        Document(p, i, c, s, u, _json(m) or {})
        for p, i, c, s, u, m in cursor.execute(DOCUMENTS, [trace_id, span_id]).fetchall()
    ]
    return SpanDetail(
        sid,
        parent,
        name,
        kind,
        span_type,
        start,
        end,
        duration,
        start_ns,
        status,
        message,
        _json(inputs),
        _json(outputs),
        model,
        provider,
        input_tokens,
        output_tokens,
        total_tokens,
        _json(attributes) or {},
        _json(resource) or {},
        scope,
        scope_version,
        state,
        list(errors or []),
        events,
        links,
        messages,
        documents,
    )


def load(cursor: duckdb.DuckDBPyConnection, trace_id: str, span_id: str | None) -> ExplorerTrace:
    """Header, tree, the selected span (``span_id``, else the root, else the first span) and
    the trace's assessments. An unknown ``span_id`` selects the default and is reported in
    ``missing_span``: a stale link still shows the trace."""
    head = header(cursor, trace_id)
    spans = tree(cursor, head)
    ids = {span.span_id for span in spans}
    missing = span_id if span_id is not None and span_id not in ids else None
    chosen = (
        span_id
        if span_id in ids
        else head.root_span_id
        if head.root_span_id in ids
        else (spans[0].span_id if spans else None)
    )
    selected = span_detail(cursor, head, chosen) if chosen is not None else None
    return ExplorerTrace(head, spans, selected, assessment_queries.for_traces(cursor, [trace_id])[trace_id], missing)


def load_span(
    cursor: duckdb.DuckDBPyConnection, trace_id: str, span_id: str
) -> tuple[TraceHeader, SpanDetail, list[Assessment]]:
    """What the span view needs without the tree: the header, the span, the trace's assessments."""
    head = header(cursor, trace_id)
    return head, span_detail(cursor, head, span_id), assessment_queries.for_traces(cursor, [trace_id])[trace_id]
