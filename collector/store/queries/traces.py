"""Traces: trace rows and their spans for the API, tag edits and deletion (writer jobs).

Tags live in ``traces.tags`` (a JSON object), so a tag edit is one UPDATE of one row. Deleting
traces removes every row keyed by their trace ids in one writer job, assessments and their
history included: nothing of a deleted trace is left half-deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.store import lake
from annotrace.collector.store.queries import assessments as assessment_queries
from annotrace.collector.store.queries import audit
from annotrace.collector.store.queries.assessments import Assessment

TRACE_COLUMNS = (
    "t.trace_id, t.experiment_id, t.name, t.state, t.request_time, t.execution_duration_ms, t.request_preview, "
    "t.response_preview, t.tags, t.trace_metadata, t.session_id, t.user_id, t.input_tokens, t.output_tokens, "
    "t.total_tokens, t.client_request_id, t.end_time"
)
THE_TRACE = "trace_key = coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0) AND trace_id = $1"
"""The ``traces`` row of trace id ``$1``. ``traces`` has no index (schema 0080): the key filter has
DuckDB scan one fixed-width column (~10 ms at 5M traces) before comparing ids, where ``trace_id = $1``
alone compared every stored id (~150 ms)."""
GET_TRACE = f"SELECT {TRACE_COLUMNS} FROM traces t WHERE {THE_TRACE}"
GET_TRACES = (
    f"SELECT {TRACE_COLUMNS} FROM traces t WHERE t.trace_key IN "
    "(SELECT coalesce(try_cast('0x' || right(id, 16) AS UBIGINT), 0) FROM unnest($1::VARCHAR[]) AS ids(id)) "
    "AND list_contains($1::VARCHAR[], t.trace_id)"
)
"""The rows of the trace ids in list ``$1`` (a ``search_traces`` page). The semi-join on the key
lets DuckDB push the page's keys into the scan, which then reads the other columns only where a
key matches: 100 newest of 2.5M traces in ~45-70 ms, against ~0.75-1.1 s when every stored id (and
with it every column of every row) was compared (a 2.5M-row table shaped like ``traces``,
2026-12-08, loaded machine)."""
SPANS_OF_TRACE = (
    "trace_id = $1 AND start_time_unix_nano BETWEEN epoch_ns($2::TIMESTAMP) - 1000000 "
    "AND epoch_ns($3::TIMESTAMP) + 1000000"
)
"""The spans of trace ``$1``, bounded by the trace's time range (``$2``, ``$3``: its row's
``request_time`` and ``end_time``): ``spans`` has no index on trace_id (an ART index halved
ingest), but spans are stored roughly in time order, so DuckDB's min/max zone maps on the start
time skip the row groups outside the range (5.0 -> 2.6 ms for a span tree among 1.4M spans, and
the gap grows with the store). Exact, not a guess: ``request_time`` and ``end_time`` are the least
start and greatest end of the stored spans (also after late spans and MLflow's StartTrace), rounded
to microseconds, hence the millisecond of slack. The range comes from the row the caller already
read rather than from two subqueries on ``traces``: on a lake each of those merged the trace's
parts and read the catalog again. On a lake a request reads in one snapshot (``store.access``), so
the row's range is the one they would find; on the file a span stored between the two reads is
left out as one stored after them would be, and the row's counts leave it out too."""
GET_SPANS = (
    "SELECT span_id, parent_span_id, name, kind, span_type, start_time_unix_nano, end_time_unix_nano, status_code, "
    f"status_message, inputs, outputs, attributes, trace_state FROM spans WHERE {SPANS_OF_TRACE} "
    "ORDER BY start_time_unix_nano, span_id"
)
GET_EVENTS = (
    "SELECT span_id, time_unix_nano, name, attributes FROM span_events WHERE trace_id = ? ORDER BY span_id, position"
)
GET_LINKS = (
    "SELECT span_id, linked_trace_id, linked_span_id, trace_state, attributes FROM span_links WHERE trace_id = ? "
    "ORDER BY span_id, position"
)
TAGS = f"SELECT tags FROM traces WHERE {THE_TRACE}"
SET_TAG = "UPDATE traces SET tags = json_merge_patch(tags, json_object(?, ?)) WHERE trace_id = ?"
DELETE_TAG = "UPDATE traces SET tags = json_merge_patch(tags, json_object(?, NULL)) WHERE trace_id = ?"
SELECT_BY_IDS = "SELECT trace_id FROM traces WHERE experiment_id = ? AND trace_id IN (SELECT unnest(?::VARCHAR[]))"
SELECT_OLDER = (
    "SELECT trace_id FROM traces WHERE experiment_id = ? AND epoch_ms(request_time) <= ? "
    "ORDER BY request_time, trace_id LIMIT ?"
)
DELETED = (
    "SELECT t.trace_id AS object_id, json_object('experiment_id', t.experiment_id, 'name', t.name, 'request_time', "
    "t.request_time, 'state', t.state, 'span_count', t.span_count, 'tags', t.tags, 'trace_metadata', t.trace_metadata, "
    "'assessments', (SELECT to_json(list(a)) FROM assessments a WHERE a.trace_id = t.trace_id)) AS previous, "
    "NULL::JSON AS new FROM traces t WHERE t.trace_id IN (SELECT unnest(?::VARCHAR[]))"
)
"""A deleted trace's audit row: the trace's summary and its assessments (spans are not kept)."""
# Every table keyed by trace_id that belongs to the trace (order: dependents first).
TRACE_TABLES = (
    "labeling_item_status",
    "labeling_items",
    "assessment_history",
    "assessments",
    "span_events",
    "span_links",
    "documents",
    "messages",
    "log_records",
    "spans",
    "traces",
)
DELETE_FROM = {table: f"DELETE FROM {table} WHERE trace_id IN (SELECT unnest(?::VARCHAR[]))" for table in TRACE_TABLES}

# MLflow's system tags: clients may neither set nor delete them (deleting archivalFailure is allowed).
IMMUTABLE_TAGS = frozenset(
    {
        "mlflow.artifactLocation",
        "mlflow.trace.spansLocation",
        "mlflow.trace.archiveLocation",
        "mlflow.trace.archivalFailure",
    }
)
DELETABLE_SYSTEM_TAGS = frozenset({"mlflow.trace.archivalFailure"})
MAX_TAG_KEY_CHARS = 250
MAX_TAG_VALUE_CHARS = 4096


@dataclass(frozen=True, slots=True)
class TraceRow:
    trace_id: str
    experiment_id: str
    name: str | None
    state: str
    request_time: datetime
    execution_duration_ms: float
    request_preview: str | None
    response_preview: str | None
    tags: dict[str, str]
    trace_metadata: dict[str, str]
    session_id: str | None
    user_id: str | None
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    client_request_id: str | None = None
    end_time: datetime | None = None
    """The latest end of its stored spans: bounds the scan for them (``SPANS_OF_TRACE``)."""


@dataclass(frozen=True, slots=True)
class SpanEvent:
    time_unix_nano: int
    name: str
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SpanLink:
    trace_id: str
    span_id: str
    trace_state: str | None
    attributes: dict[str, Any]


@dataclass(slots=True)
class SpanRow:
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    span_type: str
    start_time_unix_nano: int
    end_time_unix_nano: int
    status_code: str
    status_message: str | None
    inputs: str | None  # JSON text
    outputs: str | None  # JSON text
    attributes: dict[str, Any]
    trace_state: str | None
    events: list[SpanEvent] = field(default_factory=list)
    links: list[SpanLink] = field(default_factory=list)


def trace_row(row: tuple[Any, ...]) -> TraceRow:
    """A ``TRACE_COLUMNS`` tuple as a TraceRow (JSON columns decoded)."""
    values = list(row)
    values[8] = orjson.loads(values[8]) if values[8] else {}
    values[9] = orjson.loads(values[9]) if values[9] else {}
    return TraceRow(*values)


def get(cursor: duckdb.DuckDBPyConnection, trace_id: str) -> TraceRow:
    rows = cursor.execute(GET_TRACE, [trace_id]).fetchall()
    if not rows:
        raise NotFound(f"Trace with ID '{trace_id}' not found.")
    return trace_row(rows[0])


def get_many(cursor: duckdb.DuckDBPyConnection, trace_ids: list[str]) -> list[TraceRow]:
    """The stored traces among ``trace_ids``, in the order asked; missing ones are left out."""
    if not trace_ids:
        return []
    found = {row[0]: trace_row(row) for row in cursor.execute(GET_TRACES, [trace_ids]).fetchall()}
    return [found[trace_id] for trace_id in dict.fromkeys(trace_ids) if trace_id in found]


def spans(cursor: duckdb.DuckDBPyConnection, row: TraceRow) -> list[SpanRow]:
    """The spans of a trace (its row, read in the same snapshot) in start order, each with its events and links."""
    trace_id = row.trace_id
    out = [
        SpanRow(
            span_id,
            parent,
            name,
            kind,
            span_type,
            start,
            end,
            status,
            message,
            inputs,
            outputs,
            orjson.loads(attributes) if attributes else {},
            trace_state,
        )
        for (
            span_id,
            parent,
            name,
            kind,
            span_type,
            start,
            end,
            status,
            message,
            inputs,
            outputs,
            attributes,
            trace_state,
        ) in cursor.execute(GET_SPANS, [trace_id, row.request_time, row.end_time]).fetchall()
    ]
    by_id = {span.span_id: span for span in out}
    for span_id, time_ns, name, attributes in cursor.execute(GET_EVENTS, [trace_id]).fetchall():
        if span_id in by_id:
            by_id[span_id].events.append(SpanEvent(time_ns, name, orjson.loads(attributes) if attributes else {}))
    for span_id, linked_trace, linked_span, state, attributes in cursor.execute(GET_LINKS, [trace_id]).fetchall():
        if span_id in by_id:
            by_id[span_id].links.append(
                SpanLink(linked_trace, linked_span, state, orjson.loads(attributes) if attributes else {})
            )
    return out


def get_info(cursor: duckdb.DuckDBPyConnection, trace_id: str) -> tuple[TraceRow, list[Assessment]]:
    """A trace row with all its assessments (valid or not, as MLflow's GetTraceInfoV3)."""
    row = get(cursor, trace_id)
    return row, assessment_queries.for_traces(cursor, [trace_id])[trace_id]


def get_many_info(cursor: duckdb.DuckDBPyConnection, trace_ids: list[str]) -> list[tuple[TraceRow, list[Assessment]]]:
    """``get_info`` for several traces (the stored ones, in ``get_many``'s order)."""
    rows = get_many(cursor, trace_ids)
    found = assessment_queries.for_traces(cursor, [row.trace_id for row in rows])
    return [(row, found[row.trace_id]) for row in rows]


def get_with_spans(
    cursor: duckdb.DuckDBPyConnection, trace_id: str
) -> tuple[TraceRow, list[Assessment], list[SpanRow]]:
    """A trace row, its assessments and its spans (GetTrace)."""
    row, found = get_info(cursor, trace_id)
    return row, found, spans(cursor, row)


def get_many_with_spans(
    cursor: duckdb.DuckDBPyConnection, trace_ids: list[str]
) -> list[tuple[TraceRow, list[Assessment], list[SpanRow]]]:
    return [(row, found, spans(cursor, row)) for row, found in get_many_info(cursor, trace_ids)]


# -- writer jobs ---------------------------------------------------------------------------------
def _check_tag(key: str, value: str | None = None, *, deleting: bool = False) -> None:
    """MLflow's tag rules: key/value lengths and the system tags clients cannot touch."""
    if not key:
        raise InvalidParameter("Missing value for required parameter 'key'.")
    if len(key) > MAX_TAG_KEY_CHARS:
        raise InvalidParameter(f"Invalid value for parameter 'key': longer than {MAX_TAG_KEY_CHARS} characters")
    if value is not None and len(value) > MAX_TAG_VALUE_CHARS:
        raise InvalidParameter(f"Invalid value for parameter 'value': longer than {MAX_TAG_VALUE_CHARS} characters")
    if key in IMMUTABLE_TAGS and not (deleting and key in DELETABLE_SYSTEM_TAGS):
        raise InvalidParameter(f"Tag '{key}' is immutable and cannot be {'deleted' if deleting else 'set'} on a trace.")


def set_tag(conn: duckdb.DuckDBPyConnection, trace_id: str, key: str, value: str) -> None:
    _check_tag(key, value)
    old = _tags(conn, trace_id)
    conn.execute(lake.SET_TAG if lake.is_lake(conn) else SET_TAG, [key, value, trace_id])
    _audit_tag(conn, "set-tag", trace_id, key, old, value)


def delete_tag(conn: duckdb.DuckDBPyConnection, trace_id: str, key: str) -> None:
    _check_tag(key, deleting=True)
    old = _tags(conn, trace_id)
    if key not in old:
        raise NotFound(f"No trace tag with key '{key}' for trace with ID '{trace_id}'")
    conn.execute(lake.DELETE_TAG if lake.is_lake(conn) else DELETE_TAG, [key, trace_id])
    _audit_tag(conn, "delete-tag", trace_id, key, old, None)


def _audit_tag(
    conn: duckdb.DuckDBPyConnection, action: str, trace_id: str, key: str, old: dict[str, Any], value: str | None
) -> None:
    previous = {"key": key, "value": old[key]} if key in old else None
    new = {"key": key, "value": value} if value is not None else None
    audit.record(conn, action=action, object_type="trace", object_id=trace_id, previous=previous, new=new)


def delete_traces(
    conn: duckdb.DuckDBPyConnection,
    experiment_id: str,
    *,
    trace_ids: list[str] | None = None,
    max_timestamp_ms: int | None = None,
    max_traces: int | None = None,
) -> int:
    """Delete the experiment's traces named by id, or those that started at or before a time
    (oldest first, at most ``max_traces``); returns how many traces were deleted."""
    if trace_ids is not None:
        rows = conn.execute(SELECT_BY_IDS, [experiment_id, trace_ids]).fetchall()
    else:
        limit = max_traces if max_traces is not None else 2**62
        rows = conn.execute(SELECT_OLDER, [experiment_id, max_timestamp_ms, limit]).fetchall()
    doomed = [row[0] for row in rows]
    if doomed:  # the trail first: it reads the rows about to go
        audit.record_selected(
            conn, action="delete", object_type="trace", rows=DELETED, params=[doomed], count=len(doomed)
        )
        for table in TRACE_TABLES:
            conn.execute(
                DELETE_FROM[table].replace("traces", "trace_parts")
                if table == "traces" and lake.is_lake(conn)
                else DELETE_FROM[table],
                [doomed],
            )
    return len(doomed)


def _tags(conn: duckdb.DuckDBPyConnection, trace_id: str) -> dict[str, Any]:
    rows = conn.execute(TAGS, [trace_id]).fetchall()
    if not rows:
        raise NotFound(f"Trace with ID '{trace_id}' not found.")
    tags: dict[str, Any] = orjson.loads(rows[0][0]) if rows[0][0] else {}
    return tags
