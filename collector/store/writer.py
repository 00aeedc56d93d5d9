"""The store's only writer: one thread, one transaction per job, Arrow batches only.

Everything that changes the database (span batches from the pipeline, assessment writes from the
API) is a job on this thread, so DuckDB never sees two writers and every job is all or nothing.

Spans are de-duplicated on (trace_id, span_id) without an index: a re-sent span is the same span,
so it has the same start time, and only stored spans whose start falls inside the batch's
[min start, max start] can be copies. That range filter lets DuckDB skip every other row group
(min/max zone maps), so the check costs a few row groups, not the table; an ART primary key
halved insert speed and grew in memory with the table. Retries and spool replays add nothing, and
the ``traces`` aggregates, events and derived relations are built from the new spans only, so
they stay exact whatever order or however late spans arrive.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb
import orjson
import pyarrow as pa

from annotrace.collector.errors import Unavailable
from annotrace.collector.pipeline.batch import Batch, SpanBatch
from annotrace.collector.store import rows
from annotrace.collector.store.genai_join import join_log_events
from annotrace.collector.store.db import Database

log = logging.getLogger(__name__)
T = TypeVar("T")

SPAN_COLUMNS = (
    "trace_id, span_id, parent_span_id, experiment_id, name, kind, span_type, start_time, end_time, "
    "(end_time_unix_nano - start_time_unix_nano) / 1e6 AS duration_ms, start_time_unix_nano, "
    "end_time_unix_nano, status_code, status_message, inputs, outputs, model, provider, input_tokens, "
    "output_tokens, total_tokens, session_id, user_id, attributes, resource_attributes, scope_name, "
    "scope_version, trace_state, flags, dropped_attributes_count, dropped_events_count, "
    "dropped_links_count, normalization_errors"
)
NEW_SPANS = """
SELECT s.* FROM staged s
ANTI JOIN (SELECT trace_id, span_id FROM spans WHERE start_time_unix_nano BETWEEN $lo AND $hi) e
USING (trace_id, span_id)
"""
BATCH_HAS_COPIES = "SELECT count(*) <> count(DISTINCT (trace_id, span_id)) FROM staged"
FIRST_COPY_ONLY = "SELECT * FROM staged QUALIFY row_number() OVER (PARTITION BY trace_id, span_id) = 1"
INSERT_SPANS = f"INSERT INTO spans BY NAME SELECT {SPAN_COLUMNS} FROM new_spans"
_SUM = "CASE WHEN traces.{c} IS NULL THEN excluded.{c} WHEN excluded.{c} IS NULL THEN traces.{c} ELSE traces.{c} + excluded.{c} END"
MERGE_TRACES = """
INSERT INTO traces BY NAME
SELECT trace_id,
  arg_min(experiment_id, start_time_unix_nano) AS experiment_id,
  max(name) FILTER (WHERE parent_span_id IS NULL) AS name,
  CASE WHEN count(*) FILTER (WHERE parent_span_id IS NULL) = 0 THEN 'IN_PROGRESS'
       WHEN bool_or(status_code = 'ERROR') FILTER (WHERE parent_span_id IS NULL) THEN 'ERROR'
       ELSE 'OK' END AS state,
  min(start_time) AS request_time,
  max(end_time) AS end_time,
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
FROM new_spans GROUP BY trace_id
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
  request_preview = coalesce(excluded.request_preview, traces.request_preview),
  response_preview = coalesce(excluded.response_preview, traces.response_preview),
  span_count = traces.span_count + excluded.span_count,
  error_span_count = traces.error_span_count + excluded.error_span_count,
  input_tokens = {input_tokens},
  output_tokens = {output_tokens},
  total_tokens = {total_tokens},
  root_span_id = coalesce(excluded.root_span_id, traces.root_span_id),
  session_id = coalesce(traces.session_id, excluded.session_id),
  user_id = coalesce(traces.user_id, excluded.user_id),
  last_update_time = excluded.last_update_time
"""
for _c in ("input_tokens", "output_tokens", "total_tokens"):
    MERGE_TRACES = MERGE_TRACES.replace("{%s}" % _c, _SUM.format(c=_c))
MERGE_TRACE_EXTRAS = """
UPDATE traces SET
  tags = json_merge_patch(traces.tags, coalesce(x.tags, '{}')),
  trace_metadata = json_merge_patch(traces.trace_metadata, coalesce(x.trace_metadata, '{}'))
FROM extras x WHERE traces.trace_id = x.trace_id
"""
INSERT_NEW = "INSERT INTO {table} BY NAME SELECT * FROM {view}"
INSERT_NEW_FILTERED = (
    "INSERT INTO {table} BY NAME SELECT * FROM {view} "
    "WHERE (trace_id, span_id) IN (SELECT (trace_id, span_id) FROM new_spans)"
)
INSERT_LOGS = "INSERT OR IGNORE INTO log_records BY NAME SELECT * FROM staged_logs"
FIND_EXPERIMENT_BY_ID = "SELECT experiment_id FROM experiments WHERE experiment_id = ?"
FIND_EXPERIMENT_BY_NAME = "SELECT experiment_id FROM experiments WHERE name = ?"
NEXT_EXPERIMENT_ID = "SELECT coalesce(max(TRY_CAST(experiment_id AS BIGINT)), 0) + 1 FROM experiments"
CREATE_EXPERIMENT = "INSERT INTO experiments (experiment_id, name) VALUES (?, ?)"


@dataclass(slots=True)
class WriteStats:
    spans_new: int = 0
    spans_duplicate: int = 0
    logs: int = 0


class Writer:
    """Runs jobs on the single writer thread; ``submit`` returns a future of the job's result."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn = db.conn.cursor()
        self._jobs: queue.Queue[tuple[Callable[[duckdb.DuckDBPyConnection], Any], Future[Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._experiments: dict[str, str] = {}

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="annotrace-writer", daemon=True)
            self._thread.start()

    def shutdown(self) -> None:
        """Finish every queued job, then stop. Safe without ``start`` and safe twice."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def submit(self, job: Callable[[duckdb.DuckDBPyConnection], T]) -> Future[T]:
        future: Future[T] = Future()
        if self._thread is None:
            future.set_exception(Unavailable("The store is not running"))
        else:
            self._jobs.put((job, future))
        return future

    def write(self, batch: Batch) -> Future[WriteStats]:
        return self.submit(lambda conn: self._write_batch(conn, batch))

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                self._conn.execute("BEGIN TRANSACTION")
                result = job(self._conn)
                self._conn.execute("COMMIT")
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                try:
                    self._conn.execute("ROLLBACK")
                except duckdb.Error:
                    pass
                self._experiments.clear()  # experiments created in the rolled-back job are gone
                future.set_exception(exc)
            else:
                future.set_result(result)

    # -- span and log batches -------------------------------------------------------------------
    def _write_batch(self, conn: duckdb.DuckDBPyConnection, batch: Batch) -> WriteStats:
        stats = WriteStats()
        if len(batch.spans):
            stats.spans_new, stats.spans_duplicate = self._write_spans(conn, batch.spans)
        if len(batch.logs):
            staged_logs = rows.log_table(batch.logs, [self._experiment_id(conn, k) for k in batch.logs.experiment])
            conn.register("staged_logs", staged_logs)
            conn.execute(INSERT_LOGS)
            conn.unregister("staged_logs")
            stats.logs = len(batch.logs)
        join_log_events(conn, batch)  # GenAI events sent as logs -> messages, in this transaction
        return stats

    def _write_spans(self, conn: duckdb.DuckDBPyConnection, spans: SpanBatch) -> tuple[int, int]:
        spans.canonical_defaults()
        ids = {key: self._experiment_id(conn, key) for key in set(spans.experiment)}
        staged = rows.span_table(spans, [ids[k] for k in spans.experiment])
        conn.register("staged", staged)
        if conn.execute(BATCH_HAS_COPIES).fetchall()[0][0]:
            staged = conn.sql(FIRST_COPY_ONLY).to_arrow_table()
            conn.register("staged", staged)
        new_spans = conn.sql(NEW_SPANS, params={"lo": min(spans.start_ns), "hi": max(spans.start_ns)}).to_arrow_table()
        all_new = new_spans.num_rows == len(spans)
        conn.register("new_spans", new_spans)
        if new_spans.num_rows:
            conn.execute(INSERT_SPANS)
            conn.execute(MERGE_TRACES)
            for table, build, present in (
                ("span_events", rows.event_table, spans.events),
                ("span_links", rows.link_table, spans.links),
                ("documents", rows.document_table, spans.documents),
                ("messages", rows.message_table, spans.messages),
            ):
                if present:
                    conn.register("extra_rows", build(spans))
                    conn.execute((INSERT_NEW if all_new else INSERT_NEW_FILTERED).format(table=table, view="extra_rows"))
                    conn.unregister("extra_rows")
        extras = _trace_extras(spans)
        if extras is not None:
            conn.register("extras", extras)
            conn.execute(MERGE_TRACE_EXTRAS)
            conn.unregister("extras")
        for name in ("staged", "new_spans"):
            conn.unregister(name)
        return new_spans.num_rows, len(spans) - new_spans.num_rows

    def _experiment_id(self, conn: duckdb.DuckDBPyConnection, key: str) -> str:
        """``id:<id>`` or ``name:<name>`` -> experiment id, creating the experiment on first sight."""
        cached = self._experiments.get(key)
        if cached is not None:
            return cached
        kind, _, value = key.partition(":")
        # fetchall, not fetchone: DuckDB refuses new work while a result is unfinished
        rows = conn.execute(FIND_EXPERIMENT_BY_ID if kind == "id" else FIND_EXPERIMENT_BY_NAME, [value]).fetchall()
        if rows:
            experiment_id = str(rows[0][0])
        elif kind == "id":
            experiment_id = value
            taken = conn.execute(FIND_EXPERIMENT_BY_NAME, [value]).fetchall()
            conn.execute(CREATE_EXPERIMENT, [value, f"experiment {value}" if taken else value])
        else:
            experiment_id = str(conn.execute(NEXT_EXPERIMENT_ID).fetchall()[0][0])
            conn.execute(CREATE_EXPERIMENT, [experiment_id, value])
        self._experiments[key] = experiment_id
        return experiment_id


def _trace_extras(spans: SpanBatch) -> pa.Table | None:
    """Per-trace tags and metadata merged from every span that carried some (usually none)."""
    tags: dict[str, dict[str, str]] = {}
    metadata: dict[str, dict[str, str]] = {}
    for index, (t, m) in enumerate(zip(spans.trace_tags, spans.trace_metadata)):
        if t:
            tags.setdefault(spans.trace_id[index], {}).update(t)
        if m:
            metadata.setdefault(spans.trace_id[index], {}).update(m)
    keys = sorted(set(tags) | set(metadata))
    if not keys:
        return None
    return pa.table({
        "trace_id": pa.array(keys, pa.string()),
        "tags": pa.array([orjson.dumps(tags.get(k, {})).decode() for k in keys], pa.string()),
        "trace_metadata": pa.array([orjson.dumps(metadata.get(k, {})).decode() for k in keys], pa.string()),
    })
