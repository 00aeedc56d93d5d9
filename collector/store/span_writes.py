"""How a batch's tables (``rows.StoreTables``) become rows: spans de-duplicated, ``traces`` rows inserted or merged, the
spans' events, links, documents and messages, log records, and the evaluations they carried.

All of it runs as one job on the writer thread (``store.writer``), inside its transaction.

Spans are de-duplicated on (trace_id, span_id) without an index: a re-sent span is the same span,
so it has the same start time, and only stored spans whose start falls inside the batch's
[min start, max start] can be copies. That range filter lets DuckDB skip every other row group
(min/max zone maps), so the check costs a few row groups, not the table; an ART primary key
halved insert speed and grew in memory with the table. The check reads the writer's own open
transaction too, so a retry that arrives while the first copy waits for its commit finds it. It
only counts copies: a batch without any (the usual case) is inserted as it is, and only a batch
with copies is filtered. Retries and spool replays add nothing, and the ``traces`` aggregates,
events and derived relations are built from the new spans only, so they stay exact whatever
order or however late spans arrive.

Each batch's traces are aggregated once (``TRACE_ROWS``, into ``new_traces``); new traces are
inserted, traces already stored take the merge, and on a DuckLake store every aggregate is appended
to ``trace_parts`` instead (``store.lake``).

``traces`` has no key either (schema 0080): a primary key is an ART index, which DuckDB holds in
memory and never evicts (~75-96 bytes per trace, so memory grew with the store). The writer keeps
one row per trace itself. A batch's traces that are already stored are found by ``trace_key`` (the
last 8 bytes of the trace id), one fixed-width column that DuckDB scans at ~6 ns per stored trace
(~30 ms a commit at 5M traces, against ~250 ms for the trace_id strings): its matches are checked
on trace_id, and a stored row that takes a merge is replaced (deleted by rowid and inserted merged)
in the same transaction, so a retry, a replay or a kill -9 leaves exactly one row as before. The
scan reads the open transaction too, so a trace split over two batches of one commit merges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from annotrace.collector.store import lake
from annotrace.collector.store.db import registered
from annotrace.collector.store.evaluations import write_evaluations
from annotrace.collector.store.experiment_ids import ExperimentIds
from annotrace.collector.store.genai_expiry import DEFAULT_MAX_AGE_S, Expiry, expire
from annotrace.collector.store.genai_join import ChatReader, join_genai_events
from annotrace.collector.store.routing import root_trace_ids
from annotrace.collector.store.rows import StoreTables

BATCH_HAS_COPIES = "SELECT count(*) <> count(DISTINCT (trace_id, span_id)) FROM batch_spans"
FIRST_COPY_ONLY = "SELECT * FROM batch_spans QUALIFY row_number() OVER (PARTITION BY trace_id, span_id) = 1"
STORED_COPIES = """
SELECT count(*) FROM batch_spans s
SEMI JOIN (SELECT trace_id, span_id FROM spans WHERE start_time_unix_nano BETWEEN $lo AND $hi) e
USING (trace_id, span_id)
"""
NEW_SPANS = """
SELECT s.* FROM batch_spans s
ANTI JOIN (SELECT trace_id, span_id FROM spans WHERE start_time_unix_nano BETWEEN $lo AND $hi) e
USING (trace_id, span_id)
"""
INSERT_SPANS = """
INSERT INTO spans BY NAME SELECT
  trace_id, span_id, parent_span_id, experiment_id, name, kind, span_type, start_time, end_time,
  (end_time_unix_nano - start_time_unix_nano) / 1e6 AS duration_ms, start_time_unix_nano,
  end_time_unix_nano, status_code, status_message, inputs, outputs, model, provider, input_tokens,
  output_tokens, total_tokens, session_id, user_id, attributes, resource_attributes, scope_name,
  scope_version, trace_state, flags, dropped_attributes_count, dropped_events_count,
  dropped_links_count, normalization_errors
FROM new_spans
"""
# request_time/end_time are cast to the table's microseconds here, as the insert would: the merge
# below compares stored and new times with epoch_us, which truncates nanoseconds where the cast
# rounds, and mixing the two made merged durations 1 µs short about every other time.
TRACE_ROWS = """
SELECT trace_id,
  arg_min(experiment_id, start_time_unix_nano) AS experiment_id,
  max(name) FILTER (WHERE parent_span_id IS NULL) AS name,
  CASE WHEN count(*) FILTER (WHERE parent_span_id IS NULL) = 0 THEN 'IN_PROGRESS'
       WHEN bool_or(status_code = 'ERROR') FILTER (WHERE parent_span_id IS NULL) THEN 'ERROR'
       ELSE 'OK' END AS state,
  min(start_time)::TIMESTAMP AS request_time,
  max(end_time)::TIMESTAMP AS end_time,
  (max(end_time_unix_nano) - min(start_time_unix_nano)) / 1e6 AS execution_duration_ms,
  any_value(inputs) FILTER (WHERE parent_span_id IS NULL) AS request,
  any_value(outputs) FILTER (WHERE parent_span_id IS NULL) AS response,
  any_value(request_preview) FILTER (WHERE parent_span_id IS NULL) AS request_preview,
  any_value(response_preview) FILTER (WHERE parent_span_id IS NULL) AS response_preview,
  '{}' AS tags,
  '{}' AS trace_metadata,
  count(*) AS span_count,
  count(*) FILTER (WHERE status_code = 'ERROR') AS error_span_count,
  sum(input_tokens) AS input_tokens,
  sum(output_tokens) AS output_tokens,
  sum(total_tokens) AS total_tokens,
  any_value(span_id) FILTER (WHERE parent_span_id IS NULL) AS root_span_id,
  arg_min(session_id, start_time_unix_nano) FILTER (WHERE session_id IS NOT NULL) AS session_id,
  arg_min(user_id, start_time_unix_nano) FILTER (WHERE user_id IS NOT NULL) AS user_id,
  current_timestamp::TIMESTAMP AS last_update_time,
  coalesce(try_cast('0x' || right(trace_id, 16) AS UBIGINT), 0) AS trace_key
FROM new_spans
GROUP BY trace_id
"""
"""One row per trace of the batch's new spans, in ``traces``' columns (``new_traces`` below)."""
STORED_TRACES = "SELECT rowid AS row_id, trace_id FROM traces WHERE trace_key IN (SELECT trace_key FROM new_traces)"
"""Stored rows that may belong to the batch's traces: those with one of their keys (``_stored``
keeps the ones whose trace_id matches)."""
INSERT_TRACES = "INSERT INTO traces BY NAME SELECT * FROM new_traces"
INSERT_NEW_TRACES = (
    "INSERT INTO traces BY NAME SELECT * FROM new_traces WHERE trace_id NOT IN (SELECT trace_id FROM stored_traces)"
)
# a stored trace's row merged with the batch's aggregate; every column not named keeps its value
MERGED_TRACES = """
SELECT o.* REPLACE (
  coalesce(n.name, o.name) AS name,
  CASE WHEN n.root_span_id IS NOT NULL THEN n.state ELSE o.state END AS state,
  least(o.request_time, n.request_time) AS request_time,
  greatest(o.end_time, n.end_time) AS end_time,
  greatest(
      o.execution_duration_ms + (epoch_us(o.request_time) - epoch_us(least(o.request_time, n.request_time))) / 1e3
        + (epoch_us(greatest(o.end_time, n.end_time)) - epoch_us(o.end_time)) / 1e3,
      n.execution_duration_ms) AS execution_duration_ms,
  coalesce(n.request, o.request) AS request,
  coalesce(n.response, o.response) AS response,
  coalesce(o.request_preview, n.request_preview) AS request_preview,  -- StartTraceV3's preview wins
  coalesce(o.response_preview, n.response_preview) AS response_preview,
  o.span_count + n.span_count AS span_count,
  o.error_span_count + n.error_span_count AS error_span_count,
  -- token counts add up; a part that reported none (NULL) keeps the other part's count
  CASE WHEN o.input_tokens IS NULL THEN n.input_tokens WHEN n.input_tokens IS NULL THEN o.input_tokens
    ELSE o.input_tokens + n.input_tokens END AS input_tokens,
  CASE WHEN o.output_tokens IS NULL THEN n.output_tokens WHEN n.output_tokens IS NULL THEN o.output_tokens
    ELSE o.output_tokens + n.output_tokens END AS output_tokens,
  CASE WHEN o.total_tokens IS NULL THEN n.total_tokens WHEN n.total_tokens IS NULL THEN o.total_tokens
    ELSE o.total_tokens + n.total_tokens END AS total_tokens,
  coalesce(n.root_span_id, o.root_span_id) AS root_span_id,
  coalesce(o.session_id, n.session_id) AS session_id,
  coalesce(o.user_id, n.user_id) AS user_id,
  n.last_update_time AS last_update_time
)
FROM traces o JOIN stored_traces s ON o.rowid = s.row_id JOIN new_traces n ON n.trace_id = o.trace_id
"""
DELETE_STORED = "DELETE FROM traces WHERE rowid IN (SELECT row_id FROM stored_traces)"
INSERT_MERGED = "INSERT INTO traces BY NAME SELECT * FROM merged_traces"
STORED_EXTRA_TRACES = (
    "SELECT rowid AS row_id, trace_id FROM traces WHERE trace_key IN "
    "(SELECT coalesce(try_cast('0x' || right(trace_id, 16) AS UBIGINT), 0) FROM extras)"
)
"""``STORED_TRACES`` for the traces whose spans carried tags or metadata (``extras``)."""
MERGE_TRACE_EXTRAS = """
UPDATE traces SET
  tags = json_merge_patch(traces.tags, coalesce(x.tags, '{}')),
  trace_metadata = json_merge_patch(traces.trace_metadata, coalesce(x.trace_metadata, '{}')),
  client_request_id = coalesce(x.client_request_id, traces.client_request_id)
FROM (SELECT s.row_id, e.tags, e.trace_metadata, e.client_request_id FROM extras e JOIN stored_traces s USING (trace_id)) x
WHERE traces.rowid = x.row_id
"""
TRACE_KEY = "coalesce(try_cast('0x' || right(trace_id, 16) AS UBIGINT), 0) AS trace_key"
ROWS_OF_NEW_SPANS = "SELECT * FROM span_rows WHERE (trace_id, span_id) IN (SELECT (trace_id, span_id) FROM new_spans)"
"""A span's rows (events, links...) are kept only if the span is new; skipped when all spans are."""
INSERT_SPAN_ROWS = {
    "span_events": "INSERT INTO span_events BY NAME SELECT * FROM span_rows",
    "span_links": "INSERT INTO span_links BY NAME SELECT * FROM span_rows",
    "documents": "INSERT INTO documents BY NAME SELECT *, " + TRACE_KEY + " FROM span_rows",
    "messages": "INSERT INTO messages BY NAME SELECT *, " + TRACE_KEY + " FROM span_rows",
}
"""The tables of rows that belong to one span, each filled from the batch's ``span_rows``; documents
and messages with the ``trace_key`` their lookups by trace filter on (schema 0083)."""
STORED_LOGS = """
SELECT record_id FROM log_records WHERE rowid IN (SELECT rowid FROM log_records WHERE record_key IN
  (SELECT DISTINCT coalesce(try_cast('0x' || right(record_id, 16) AS UBIGINT), 0) FROM batch_logs))
"""
"""Stored copies of the batch's log records (a retried export, a replay), found by ``record_key``
(schema 0082: ``log_records`` has no key), then read by rowid: a scan of that one column, not of
``record_id``'s strings."""
INSERT_LOGS = """
INSERT INTO log_records BY NAME
SELECT *, coalesce(try_cast('0x' || right(record_id, 16) AS UBIGINT), 0) AS record_key FROM batch_logs
WHERE record_id NOT IN (SELECT record_id FROM stored_logs)
QUALIFY row_number() OVER (PARTITION BY record_id) = 1
"""
"""The batch's records not stored yet, each once (two identical records of one export have one id)."""


@dataclass(slots=True)
class WriteStats:
    """What one batch added: the writer counts ``spans_new`` towards its commit size."""

    spans_new: int = 0
    spans_duplicate: int = 0
    logs: int = 0
    assessments: int = 0
    root_trace_ids: list[str] = field(default_factory=list)  # what the routing rules look at after the commit


class SpanWrites:
    """Stores batches through the writer's connection; holds the experiment ids it has seen,
    which ``forget_experiments`` drops when the writer's transaction rolls back."""

    def __init__(self, *, lake: bool, chat: ChatReader, genai_max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        """``chat`` reads GenAI log records as messages for the join (``genai.log_events.ChatEvents``);
        a record waits ``genai_max_age_s`` for its span (``store.genai_expiry``)."""
        self.lake = lake
        self.chat = chat
        self.expiry = Expiry(genai_max_age_s)
        self._experiments = ExperimentIds(lake=lake)

    def forget_experiments(self) -> None:
        """Experiments created in a rolled-back transaction are gone: look them up again."""
        self._experiments.clear()

    def write(self, conn: duckdb.DuckDBPyConnection, tables: StoreTables) -> WriteStats:
        stats = WriteStats()
        if tables.spans is not None and tables.spans.num_rows:
            stats.spans_new, stats.spans_duplicate = self._write_spans(conn, tables)
            stats.root_trace_ids = root_trace_ids(tables.spans)  # a replay's too: see store.routing
        if tables.logs is not None and tables.logs.num_rows:
            with registered(conn, batch_logs=self._experiments.assign(conn, tables.logs)):
                stored = conn.sql(lake.STORED_LOGS if self.lake else STORED_LOGS).to_arrow_table()
                with registered(conn, stored_logs=stored):
                    conn.execute(INSERT_LOGS)
            stats.logs = tables.logs.num_rows
        # GenAI events sent as logs -> messages, in this transaction (those that waited too long: dropped)
        if not self.lake and self.expiry.due():  # on a lake, housekeeping does it
            expire(conn, self.expiry.max_age_s)
        join_genai_events(conn, tables.spans, tables.genai_events, self.chat)
        # evaluation results (log records, span events, OpenInference) -> assessments, same transaction
        stats.assessments = write_evaluations(conn, tables.assessments)
        return stats

    def _write_spans(self, conn: duckdb.DuckDBPyConnection, batch: StoreTables) -> tuple[int, int]:
        """Returns the new spans and the copies skipped."""
        assert batch.spans is not None
        new_spans = _not_stored(conn, _first_copies(conn, self._experiments.assign(conn, batch.spans)))
        with registered(conn, new_spans=new_spans):
            if new_spans.num_rows:
                conn.execute(INSERT_SPANS)
                self._write_traces(conn)
                all_new = new_spans.num_rows == batch.spans.num_rows
                for table, rows in (
                    ("span_events", batch.events),
                    ("span_links", batch.links),
                    ("documents", batch.documents),
                    ("messages", batch.messages),
                ):
                    if rows is not None and rows.num_rows:
                        if not all_new:
                            with registered(conn, span_rows=rows):
                                rows = conn.sql(ROWS_OF_NEW_SPANS).to_arrow_table()
                        with registered(conn, span_rows=rows):
                            conn.execute(INSERT_SPAN_ROWS[table])
            if batch.extras is not None:
                with registered(conn, extras=batch.extras):
                    if self.lake:
                        conn.execute(lake.INSERT_TRACE_EXTRAS)
                    else:
                        stored = _stored(conn, STORED_EXTRA_TRACES, batch.extras["trace_id"])
                        with registered(conn, stored_traces=stored):
                            conn.execute(MERGE_TRACE_EXTRAS)
        return new_spans.num_rows, batch.spans.num_rows - new_spans.num_rows

    def _write_traces(self, conn: duckdb.DuckDBPyConnection) -> None:
        """The ``traces`` rows of the new spans (registered): inserted, merged, or on a lake, appended as parts."""
        new_traces = conn.sql(TRACE_ROWS).to_arrow_table()
        with registered(conn, new_traces=new_traces):
            if self.lake:
                conn.execute(lake.INSERT_TRACE_PARTS)
                return
            stored = _stored(conn, STORED_TRACES, new_traces["trace_id"])
            if not stored.num_rows:  # the usual case: every trace of the batch is new
                conn.execute(INSERT_TRACES)
                return
            with registered(conn, stored_traces=stored):
                merged = conn.sql(MERGED_TRACES).to_arrow_table()
                conn.execute(DELETE_STORED)
                conn.execute(INSERT_NEW_TRACES)
            with registered(conn, merged_traces=merged):
                conn.execute(INSERT_MERGED)


def _stored(conn: duckdb.DuckDBPyConnection, candidates_sql: str, trace_ids: pa.ChunkedArray) -> pa.Table:
    """``(row_id, trace_id)`` of the stored rows of ``trace_ids``, of the candidates ``candidates_sql`` finds by key."""
    candidates = conn.sql(candidates_sql).to_arrow_table()
    if not candidates.num_rows:
        return candidates
    return candidates.filter(pc.is_in(candidates["trace_id"], value_set=trace_ids.combine_chunks()))


def _first_copies(conn: duckdb.DuckDBPyConnection, spans: pa.Table) -> pa.Table:
    """``spans`` with each (trace_id, span_id) once: an exporter may send a span twice in a batch."""
    with registered(conn, batch_spans=spans):
        if conn.execute(BATCH_HAS_COPIES).fetchall()[0][0]:
            return conn.sql(FIRST_COPY_ONLY).to_arrow_table()
    return spans


def _not_stored(conn: duckdb.DuckDBPyConnection, spans: pa.Table) -> pa.Table:
    """``spans`` without those already stored; usually none are, and then ``spans`` itself, uncopied."""
    lo, hi = pc.min_max(spans["start_time_unix_nano"]).values()
    window = {"lo": lo.as_py(), "hi": hi.as_py()}
    with registered(conn, batch_spans=spans):
        if conn.execute(STORED_COPIES, window).fetchall()[0][0]:
            return conn.sql(NEW_SPANS, params=window).to_arrow_table()
    return spans
