"""How a staged batch becomes rows: spans de-duplicated, ``traces`` rows inserted or merged, the
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
from annotrace.collector.store.genai_join import ChatReader, join_staged
from annotrace.collector.store.routing import root_trace_ids
from annotrace.collector.store.rows import Staged

BATCH_HAS_COPIES = "SELECT count(*) <> count(DISTINCT (trace_id, span_id)) FROM staged"
FIRST_COPY_ONLY = "SELECT * FROM staged QUALIFY row_number() OVER (PARTITION BY trace_id, span_id) = 1"
STORED_COPIES = """
SELECT count(*) FROM staged s
SEMI JOIN (SELECT trace_id, span_id FROM spans WHERE start_time_unix_nano BETWEEN $lo AND $hi) e
USING (trace_id, span_id)
"""
NEW_SPANS = """
SELECT s.* FROM staged s
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
  current_timestamp::TIMESTAMP AS last_update_time
FROM new_spans
GROUP BY trace_id
"""
"""One row per trace of the batch's new spans, in ``traces``' columns (``new_traces`` below)."""
# New traces are inserted; only those already stored (spans arriving in several exports) take the
# merge, whose DO UPDATE costs ~3 µs per span more even when nothing conflicts.
INSERT_TRACES = "INSERT INTO traces BY NAME SELECT * FROM new_traces ON CONFLICT DO NOTHING RETURNING trace_id"
MERGE_TRACES = """
INSERT INTO traces BY NAME SELECT * FROM new_traces WHERE trace_id NOT IN (SELECT trace_id FROM inserted_traces)
ON CONFLICT (trace_id) DO UPDATE SET
  name = coalesce(excluded.name, traces.name),
  state = CASE WHEN excluded.root_span_id IS NOT NULL THEN excluded.state ELSE traces.state END,
  request_time = least(traces.request_time, excluded.request_time),
  end_time = greatest(traces.end_time, excluded.end_time),
  execution_duration_ms = greatest(
      traces.execution_duration_ms + (epoch_us(traces.request_time) - epoch_us(least(traces.request_time, excluded.request_time))) / 1e3
        + (epoch_us(greatest(traces.end_time, excluded.end_time)) - epoch_us(traces.end_time)) / 1e3,
      excluded.execution_duration_ms),
  request = coalesce(excluded.request, traces.request),
  response = coalesce(excluded.response, traces.response),
  request_preview = coalesce(traces.request_preview, excluded.request_preview),  -- StartTraceV3's preview wins
  response_preview = coalesce(traces.response_preview, excluded.response_preview),
  span_count = traces.span_count + excluded.span_count,
  error_span_count = traces.error_span_count + excluded.error_span_count,
  -- token counts add up; a part that reported none (NULL) keeps the other part's count
  input_tokens = CASE WHEN traces.input_tokens IS NULL THEN excluded.input_tokens WHEN excluded.input_tokens IS NULL THEN traces.input_tokens
    ELSE traces.input_tokens + excluded.input_tokens END,
  output_tokens = CASE WHEN traces.output_tokens IS NULL THEN excluded.output_tokens WHEN excluded.output_tokens IS NULL THEN traces.output_tokens
    ELSE traces.output_tokens + excluded.output_tokens END,
  total_tokens = CASE WHEN traces.total_tokens IS NULL THEN excluded.total_tokens WHEN excluded.total_tokens IS NULL THEN traces.total_tokens
    ELSE traces.total_tokens + excluded.total_tokens END,
  root_span_id = coalesce(excluded.root_span_id, traces.root_span_id),
  session_id = coalesce(traces.session_id, excluded.session_id),
  user_id = coalesce(traces.user_id, excluded.user_id),
  last_update_time = excluded.last_update_time
"""
MERGE_TRACE_EXTRAS = """
UPDATE traces SET
  tags = json_merge_patch(traces.tags, coalesce(x.tags, '{}')),
  trace_metadata = json_merge_patch(traces.trace_metadata, coalesce(x.trace_metadata, '{}'))
FROM extras x WHERE traces.trace_id = x.trace_id
"""
ROWS_OF_NEW_SPANS = "SELECT * FROM span_rows WHERE (trace_id, span_id) IN (SELECT (trace_id, span_id) FROM new_spans)"
"""A span's rows (events, links...) are kept only if the span is new; skipped when all spans are."""
INSERT_SPAN_ROWS = {
    "span_events": "INSERT INTO span_events BY NAME SELECT * FROM span_rows",
    "span_links": "INSERT INTO span_links BY NAME SELECT * FROM span_rows",
    "documents": "INSERT INTO documents BY NAME SELECT * FROM span_rows",
    "messages": "INSERT INTO messages BY NAME SELECT * FROM span_rows",
}
"""The tables of rows that belong to one span, each filled from the batch's ``span_rows``."""
INSERT_LOGS = "INSERT OR IGNORE INTO log_records BY NAME SELECT * FROM staged_logs"


@dataclass(slots=True)
class WriteStats:
    """What one batch added: the writer counts ``spans_new`` towards its commit size."""

    spans_new: int = 0
    spans_duplicate: int = 0
    logs: int = 0
    assessments: int = 0
    root_trace_ids: list[str] = field(default_factory=list)  # what the routing rules look at after the commit


class SpanWrites:
    """Stores staged batches through the writer's connection; holds the experiment ids it has seen,
    which ``forget_experiments`` drops when the writer's transaction rolls back."""

    def __init__(self, *, lake: bool, chat: ChatReader) -> None:
        """``chat`` reads GenAI log records as messages for the join (``genai.log_events.ChatEvents``)."""
        self.lake = lake
        self.chat = chat
        self._experiments = ExperimentIds(lake=lake)

    def forget_experiments(self) -> None:
        """Experiments created in a rolled-back transaction are gone: look them up again."""
        self._experiments.clear()

    def write(self, conn: duckdb.DuckDBPyConnection, staged: Staged) -> WriteStats:
        stats = WriteStats()
        if staged.spans is not None and staged.spans.num_rows:
            stats.spans_new, stats.spans_duplicate = self._write_spans(conn, staged)
            stats.root_trace_ids = root_trace_ids(staged.spans)  # a replay's too: see store.routing
        if staged.logs is not None and staged.logs.num_rows:
            with registered(conn, staged_logs=self._experiments.assign(conn, staged.logs)):
                conn.execute(lake.INSERT_LOGS if self.lake else INSERT_LOGS)
            stats.logs = staged.logs.num_rows
        if not self.lake:  # GenAI events sent as logs -> messages, in this transaction
            join_staged(conn, staged.spans, staged.genai_events, self.chat)
        # evaluation results (log records, span events, OpenInference) -> assessments, same transaction
        stats.assessments = write_evaluations(conn, staged.assessments)
        return stats

    def _write_spans(self, conn: duckdb.DuckDBPyConnection, batch: Staged) -> tuple[int, int]:
        """Returns the new spans and the copies skipped."""
        assert batch.spans is not None
        new_spans = _not_stored(conn, _first_copies(conn, self._experiments.assign(conn, batch.spans)))
        with registered(conn, new_spans=new_spans):
            if new_spans.num_rows:
                conn.execute(INSERT_SPANS)
                self._write_traces(conn, new_spans)
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
                    conn.execute(lake.INSERT_TRACE_EXTRAS if self.lake else MERGE_TRACE_EXTRAS)
        return new_spans.num_rows, batch.spans.num_rows - new_spans.num_rows

    def _write_traces(self, conn: duckdb.DuckDBPyConnection, new_spans: pa.Table) -> None:
        """The ``traces`` rows of ``new_spans`` (registered): inserted, merged, or on a lake, appended as parts."""
        with registered(conn, new_traces=conn.sql(TRACE_ROWS).to_arrow_table()):
            if self.lake:
                conn.execute(lake.INSERT_TRACE_PARTS)
                return
            inserted = conn.execute(INSERT_TRACES).fetchall()
            if len(inserted) < pc.count_distinct(new_spans["trace_id"]).as_py():
                ids = pa.table({"trace_id": pa.array([row[0] for row in inserted], pa.string())})
                with registered(conn, inserted_traces=ids):
                    conn.execute(MERGE_TRACES)


def _first_copies(conn: duckdb.DuckDBPyConnection, spans: pa.Table) -> pa.Table:
    """``spans`` with each (trace_id, span_id) once: an exporter may send a span twice in a batch."""
    with registered(conn, staged=spans):
        if conn.execute(BATCH_HAS_COPIES).fetchall()[0][0]:
            return conn.sql(FIRST_COPY_ONLY).to_arrow_table()
    return spans


def _not_stored(conn: duckdb.DuckDBPyConnection, spans: pa.Table) -> pa.Table:
    """``spans`` without those already stored; usually none are, and then ``spans`` itself, uncopied."""
    lo, hi = pc.min_max(spans["start_time_unix_nano"]).values()
    window = {"lo": lo.as_py(), "hi": hi.as_py()}
    with registered(conn, staged=spans):
        if conn.execute(STORED_COPIES, window).fetchall()[0][0]:
            return conn.sql(NEW_SPANS, params=window).to_arrow_table()
    return spans
