"""Joins GenAI events sent as OTLP log records to their spans: ``messages`` rows, inputs/outputs.

The official OpenAI instrumentation records chat content as log records carrying the chat span's
trace and span ids: one ``gen_ai.{system,user,assistant,tool}.message`` / ``gen_ai.choice`` record
per message (legacy mode), or one ``gen_ai.client.inference.operation.details`` record (newer
versions). Logs and spans are exported separately, so either may be stored first, in another
batch. The decode workers pick the records out (``genai/log_events.py``); the writer calls
``join_genai_events`` in the same transaction as every batch it stores:

    pending (genai_log_events_pending)          seen (genai_log_events_seen)
    GenAI records of this batch ──not expired, not seen──> new ones ──> seen + pending rows
    pending × spans of this batch   ┐
    new pending × all stored spans  ┴─> matched records ──> messages rows, spans.inputs/outputs,
                                                            traces.request/response (root span)
                                                            ──> removed from pending

Invariants:
- idempotent: a record id enters ``seen`` once, so a retried log export or a spool replay adds no
  messages; matched records leave ``pending``, so no record is joined twice. A retried record is
  the same bytes (its id is their hash), so it has the same event time, and ``seen`` is probed by
  the batch's time range (``NEW_RECORDS``): no index held in memory, and on a lake no scan of
  every record ever seen;
- bounded: ``store.genai_expiry`` removes records from ``pending`` and ``seen`` the duckdb
  exporter's ``genai_log_events_max_age`` after they were stored; their content stays in
  ``log_records``, like every log record's. A copy sent again after that (a retry that late is
  not an OTel exporter's) finds no ``seen`` row, but its span's ``messages`` rows name it
  (``log_record_id``), and ``_join`` writes nothing twice;
- never two copies of a conversation: if the span already has messages of its own in a direction
  (from ``gen_ai.input.messages``, span events or OpenInference), log events add none there;
- cost: one ``EXISTS`` on the (small) pending table for a batch without GenAI records. When records
  match, the ``spans`` update is limited to the matched spans' start-time range (row-group min/max
  pruning); two full scans remain: of ``spans`` keys for new records whose span came in an earlier
  batch, and of ``messages`` keys to find what the matched spans already have.

Messages are built by the same readers the ``genai`` processor uses for span events, so a
conversation looks the same whichever transport carried it; they are ordered by event time, then
choice index, then arrival. The writer is handed those readers as a ``ChatReader``
(``genai/log_events.py::ChatEvents``): this module keeps the SQL and the invariants, never a
convention. ``inputs``/``outputs`` filled here are rebuilt from all the log-derived messages of the
span each time and only replace a value that is NULL or was written by an earlier join.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import pyarrow as pa

from annotrace.collector.store import lake
from annotrace.collector.store.db import registered

if TYPE_CHECKING:
    import duckdb

__all__ = ["join_genai_events", "join_pending"]

DEFAULT_PREVIEW_MAX_CHARS = 1000
_STR = pa.string()

NEW_RECORDS = """
SELECT DISTINCT record_id FROM genai_join_records
WHERE record_id NOT IN (SELECT record_id FROM genai_log_events_seen WHERE time_unix_nano BETWEEN $lo AND $hi)
"""
"""The batch's records not seen yet; ``$lo`` is the batch's earliest time less a microsecond, as
records seen before schema 0081 took their time from ``log_records`` (microseconds)."""
MARK_SEEN = (
    "INSERT INTO genai_log_events_seen BY NAME "
    "SELECT record_id, time_unix_nano, current_timestamp::TIMESTAMP AS seen_time FROM genai_join_new"
)
ADD_PENDING = (
    "INSERT INTO genai_log_events_pending BY NAME "
    "SELECT *, current_timestamp::TIMESTAMP AS stored_time FROM genai_join_new"
)
ANY_PENDING = "SELECT EXISTS (SELECT 1 FROM genai_log_events_pending)"
PENDING_FOR_BATCH_SPANS = """
SELECT p.record_id, p.trace_id, p.span_id, p.event_name, p.time_unix_nano, p.ordinal, p.payload::VARCHAR
FROM genai_log_events_pending p JOIN genai_join_span_keys k ON p.trace_id = k.trace_id AND p.span_id = k.span_id
"""
NEW_PENDING_WITH_STORED_SPAN = """
SELECT n.record_id, n.trace_id, n.span_id, n.event_name, n.time_unix_nano, n.ordinal, n.payload,
       s.start_time_unix_nano, s.parent_span_id IS NULL
FROM genai_join_new n JOIN spans s ON s.trace_id = n.trace_id AND s.span_id = n.span_id
"""
EXISTING_MESSAGES = """
SELECT m.trace_id, m.span_id, m.direction, m.position, m.role, m.content, m.tool_calls::VARCHAR, m.log_record_id
FROM messages m JOIN genai_join_span_keys k ON m.trace_id = k.trace_id AND m.span_id = k.span_id
"""
INSERT_MESSAGES = (
    "INSERT INTO messages BY NAME "
    "SELECT *, coalesce(try_cast('0x' || right(trace_id, 16) AS UBIGINT), 0) AS trace_key FROM genai_join_messages"
)
# The start-time range lets DuckDB skip row groups by their min/max (spans arrive roughly in time
# order), so an update does not scan every stored span.
_UPDATE_SPANS = """
UPDATE spans SET {column} = u.new_json FROM genai_join_updates u
WHERE spans.start_time_unix_nano BETWEEN $lo AND $hi
  AND spans.trace_id = u.trace_id AND spans.span_id = u.span_id AND u.direction = '{direction}'
  AND (spans.{column} IS NULL OR spans.{column}::VARCHAR = u.prev_json)
"""
_UPDATE_TRACES = """
UPDATE traces SET {column} = u.new_json, {preview} = u.preview FROM genai_join_updates u
WHERE u.root AND traces.trace_id = u.trace_id AND traces.root_span_id = u.span_id AND u.direction = '{direction}'
  AND (traces.{column} IS NULL OR traces.{column}::VARCHAR = u.prev_json)
"""
UPDATE_SPANS = (
    _UPDATE_SPANS.format(column="inputs", direction="input"),
    _UPDATE_SPANS.format(column="outputs", direction="output"),
)
UPDATE_TRACES = (
    _UPDATE_TRACES.format(column="request", preview="request_preview", direction="input"),
    _UPDATE_TRACES.format(column="response", preview="response_preview", direction="output"),
)
# ``traces`` is a view on a DuckLake store, so a root's request/response is a new part
# (``store.lake``), which the view merges over the parts before it.
_LAKE_UPDATE_TRACES = """
INSERT INTO trace_parts (trace_id, {column}, {preview}, last_update_time)
SELECT u.trace_id, u.new_json, u.preview, current_timestamp::TIMESTAMP
FROM genai_join_updates u JOIN traces t ON t.trace_id = u.trace_id AND t.root_span_id = u.span_id
WHERE u.root AND u.direction = '{direction}' AND (t.{column} IS NULL OR t.{column}::VARCHAR = u.prev_json)
"""
LAKE_UPDATE_TRACES = (
    _LAKE_UPDATE_TRACES.format(column="request", preview="request_preview", direction="input"),
    _LAKE_UPDATE_TRACES.format(column="response", preview="response_preview", direction="output"),
)
PENDING_WITH_STORED_SPAN = """
SELECT p.record_id, p.trace_id, p.span_id, p.event_name, p.time_unix_nano, p.ordinal, p.payload::VARCHAR,
       s.start_time_unix_nano, s.parent_span_id IS NULL
FROM genai_log_events_pending p JOIN spans s ON s.trace_id = p.trace_id AND s.span_id = p.span_id
"""
"""Every waiting record whose span is stored (``join_pending``)."""
RECENT_PENDING_WITH_STORED_SPAN = """
WITH p AS (SELECT * FROM genai_log_events_pending WHERE time_unix_nano >= $since)
SELECT p.record_id, p.trace_id, p.span_id, p.event_name, p.time_unix_nano, p.ordinal, p.payload::VARCHAR,
       s.start_time_unix_nano, s.parent_span_id IS NULL
FROM p JOIN spans s ON s.trace_id = p.trace_id AND s.span_id = p.span_id
WHERE s.start_time_unix_nano BETWEEN (SELECT min(time_unix_nano) FROM p) - $longest AND (SELECT max(time_unix_nano) FROM p)
"""
"""The same for records sent since ``$since``, whose span started at most ``$longest`` ns before
them: the start-time range lets DuckLake skip the files of older spans by their min/max."""
ANY_RECENT_PENDING = "SELECT EXISTS (SELECT 1 FROM genai_log_events_pending WHERE time_unix_nano >= ?)"
LONGEST_SPAN_NS = 3600 * 10**9
DELETE_MATCHED = "DELETE FROM genai_log_events_pending WHERE record_id IN (SELECT record_id FROM genai_join_matched)"


class Pending(NamedTuple):
    """A ``genai_log_events_pending`` row (its columns, in order)."""

    record_id: str
    trace_id: str
    span_id: str
    event_name: str
    time_unix_nano: int
    ordinal: int  # the record's position in its batch: the order of records sent at one time
    payload: str | None  # JSON


Message = tuple[str | None, str | None, str | None, str | None]
"""A ``messages`` row's content: role, content, tool_calls JSON, raw JSON."""


class ChatReader(Protocol):
    """How GenAI log records read as chat messages: the ``genai`` processor's readers, handed to
    the writer by the duckdb exporter (``genai/log_events.py::ChatEvents``)."""

    def messages(self, records: list[Pending]) -> list[tuple[Pending, list[tuple[str, Message]]]]:
        """Each record with its (direction, message) rows, in message order."""
        ...

    def json(self, messages: list[Message]) -> str:
        """The ``inputs``/``outputs`` JSON these messages make (to recognise an earlier join's value)."""
        ...

    def merged(self, messages: list[Message], role: str, preview_max_chars: int) -> tuple[str, str | None]:
        """The ``inputs``/``outputs`` JSON of all these messages, and the trace preview of it."""
        ...


def _table(rows: list[Pending]) -> pa.Table:
    columns = list(zip(*rows)) if rows else [()] * 7
    return pa.table(
        {
            "record_id": pa.array(columns[0], _STR),
            "trace_id": pa.array(columns[1], _STR),
            "span_id": pa.array(columns[2], _STR),
            "event_name": pa.array(columns[3], _STR),
            "time_unix_nano": pa.array(columns[4], pa.int64()),
            "ordinal": pa.array(columns[5], pa.int32()),
            "payload": pa.array(columns[6], _STR),
        }
    )


def _keys_table(keys: list[tuple[str, str]]) -> pa.Table:
    return pa.table({"trace_id": pa.array([k[0] for k in keys], _STR), "span_id": pa.array([k[1] for k in keys], _STR)})


def _fetch_with(conn: duckdb.DuckDBPyConnection, name: str, table: pa.Table, sql: str) -> list[Any]:
    """Run ``sql`` with ``table`` visible as ``name``; all rows are fetched before it is dropped."""
    with registered(conn, **{name: table}):
        return conn.execute(sql).fetchall()


def _new_records(conn: duckdb.DuckDBPyConnection, records: list[Pending]) -> list[Pending]:
    """``records`` not seen before, now added to ``seen`` and ``pending``."""
    times = [record.time_unix_nano for record in records]
    window = {"lo": min(times) - 1000, "hi": max(times)}
    with registered(conn, genai_join_records=_table(records)):
        fresh = {row[0] for row in conn.execute(NEW_RECORDS, window).fetchall()}
    new = [record for record in records if record.record_id in fresh]
    if new:
        with registered(conn, genai_join_new=_table(new)):
            conn.execute(MARK_SEEN)
            conn.execute(ADD_PENDING)
    return new


def _matches(
    conn: duckdb.DuckDBPyConnection, spans: pa.Table | None, records: list[Pending]
) -> tuple[list[Pending], dict[tuple[str, str], tuple[int, bool]]]:
    """Add this batch's new GenAI records to pending; return the pending records whose span is stored,
    and for each such span its start time and whether it is a trace root. ``spans`` holds the
    batch's (trace_id, span_id, start_time_unix_nano, parent_span_id) columns."""
    new = _new_records(conn, records) if records else []
    matched: dict[str, Pending] = {}
    spans_info: dict[tuple[str, str], tuple[int, bool]] = {}
    if spans is not None and spans.num_rows and (new or conn.execute(ANY_PENDING).fetchall()[0][0]):
        keys = spans.select(["trace_id", "span_id"])
        for row in _fetch_with(conn, "genai_join_span_keys", keys, PENDING_FOR_BATCH_SPANS):
            matched[row[0]] = Pending(*row)
        if matched:
            wanted = {(record.trace_id, record.span_id) for record in matched.values()}
            columns = spans.select(["trace_id", "span_id", "start_time_unix_nano", "parent_span_id"]).to_pydict()
            for trace_id, span_id, start, parent in zip(*columns.values()):
                if (trace_id, span_id) in wanted:
                    spans_info[(trace_id, span_id)] = (start, parent is None)
    rest = [record for record in new if record.record_id not in matched]
    if rest:  # the span may have come in an earlier batch
        for row in _fetch_with(conn, "genai_join_new", _table(rest), NEW_PENDING_WITH_STORED_SPAN):
            matched[row[0]] = Pending(*row[:7])
            spans_info[(row[1], row[2])] = (row[7], row[8])
    return list(matched.values()), spans_info


def join_genai_events(
    conn: duckdb.DuckDBPyConnection,
    spans: pa.Table | None,
    records: list[Pending],
    reader: ChatReader,
    preview_max_chars: int = DEFAULT_PREVIEW_MAX_CHARS,
) -> int:
    """Join stored GenAI log events to stored spans; returns the number of messages written.

    Call it inside the writer's transaction, after the batch's spans and log records are inserted.
    """
    matched, spans_info = _matches(conn, spans, records)
    return _join(conn, matched, spans_info, reader, preview_max_chars)


def join_pending(
    conn: duckdb.DuckDBPyConnection,
    reader: ChatReader,
    preview_max_chars: int = DEFAULT_PREVIEW_MAX_CHARS,
    *,
    since_ns: int | None = None,
) -> int:
    """Join every waiting record (sent since ``since_ns``, if given) whose span is stored; returns
    the number of messages written.

    ``join_genai_events`` alone misses one case, on a DuckLake store only: a record and its span stored
    by two collectors in transactions that overlap, each without the other's row in its snapshot
    (the file has one writer). It is common when a client sends logs and spans to different
    collectors (both leave at the end of a call). A lake collector runs this for recent records
    every few seconds, and for all of them in housekeeping, which reads all ``spans`` keys."""
    if since_ns is None:
        rows = conn.execute(PENDING_WITH_STORED_SPAN).fetchall()
    elif conn.execute(ANY_RECENT_PENDING, [since_ns]).fetchall()[0][0]:
        rows = conn.execute(RECENT_PENDING_WITH_STORED_SPAN, {"since": since_ns, "longest": LONGEST_SPAN_NS}).fetchall()
    else:
        return 0
    matched: dict[str, Pending] = {}
    spans_info: dict[tuple[str, str], tuple[int, bool]] = {}
    for row in rows:
        matched[row[0]] = Pending(*row[:7])
        spans_info[(row[1], row[2])] = (row[7], row[8])
    return _join(conn, list(matched.values()), spans_info, reader, preview_max_chars)


def _join(
    conn: duckdb.DuckDBPyConnection,
    matched: list[Pending],
    spans_info: dict[tuple[str, str], tuple[int, bool]],
    reader: ChatReader,
    preview_max_chars: int,
) -> int:
    """Messages rows, spans' and traces' inputs/outputs for ``matched``; they leave pending."""
    if not matched:
        return 0
    span_keys = sorted({(record.trace_id, record.span_id) for record in matched})
    existing = _fetch_with(conn, "genai_join_span_keys", _keys_table(span_keys), EXISTING_MESSAGES)
    own: set[tuple[str, str, str]] = set()
    next_position: dict[tuple[str, str, str], int] = defaultdict(int)
    earlier: dict[tuple[str, str, str], list[tuple[int, Message]]] = defaultdict(list)
    joined: set[str] = set()  # records whose messages are stored: a copy sent after ``seen`` forgot it
    for trace_id, span_id, direction, position, role, content, calls, record_id in existing:
        key = (trace_id, span_id, direction)
        next_position[key] = max(next_position[key], position + 1)
        if record_id is None:
            own.add(key)
        else:
            joined.add(record_id)
            earlier[key].append((position, (role, content, calls, None)))
    written: dict[tuple[str, str, str], list[Message]] = defaultdict(list)
    rows: list[tuple[Any, ...]] = []
    for record, messages in reader.messages([record for record in matched if record.record_id not in joined]):
        for direction, message in messages:
            key = (record.trace_id, record.span_id, direction)
            if key in own:
                continue
            rows.append((record.trace_id, record.span_id, direction, next_position[key], *message, record.record_id))
            next_position[key] += 1
            written[key].append(message)
    if rows:
        columns = list(zip(*rows))
        names = (
            "trace_id",
            "span_id",
            "direction",
            "position",
            "role",
            "content",
            "tool_calls",
            "raw",
            "log_record_id",
        )
        types = (_STR, _STR, _STR, pa.int32(), _STR, _STR, _STR, _STR, _STR)
        table = pa.table({n: pa.array(c, t) for n, c, t in zip(names, columns, types)})
        _fetch_with(conn, "genai_join_messages", table, INSERT_MESSAGES)
        _update_json(conn, reader, written, earlier, spans_info, preview_max_chars)
    done = pa.table({"record_id": pa.array([record.record_id for record in matched], _STR)})
    _fetch_with(conn, "genai_join_matched", done, DELETE_MATCHED)
    return len(rows)


def _update_json(
    conn: duckdb.DuckDBPyConnection,
    reader: ChatReader,
    written: dict[tuple[str, str, str], list[Message]],
    earlier: dict[tuple[str, str, str], list[tuple[int, Message]]],
    spans_info: dict[tuple[str, str], tuple[int, bool]],
    preview_max_chars: int,
) -> None:
    """spans.inputs/outputs (and the root's traces.request/response) from all log-derived messages."""
    updates: list[tuple[str, str, str, str | None, str, str | None, bool]] = []
    for key, new in written.items():
        before = [message for _, message in sorted(earlier.get(key, ()), key=lambda item: item[0])]
        prev_json = reader.json(before) if before else None
        role = "user" if key[2] == "input" else "assistant"
        new_json, preview = reader.merged(before + new, role, preview_max_chars)
        updates.append((*key, prev_json, new_json, preview, spans_info[key[:2]][1]))
    columns = list(zip(*updates))
    names = ("trace_id", "span_id", "direction", "prev_json", "new_json", "preview")
    table = pa.table(
        {**{n: pa.array(c, _STR) for n, c in zip(names, columns)}, "root": pa.array(columns[6], pa.bool_())}
    )
    starts = [spans_info[key[:2]][0] for key in written]
    with registered(conn, genai_join_updates=table):
        for statement in UPDATE_SPANS:
            conn.execute(statement, {"lo": min(starts), "hi": max(starts)}).fetchall()
        if any(columns[6]):
            for statement in LAKE_UPDATE_TRACES if lake.is_lake(conn) else UPDATE_TRACES:
                conn.execute(statement).fetchall()
