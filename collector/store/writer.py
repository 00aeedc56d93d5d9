"""The store's only writer: one thread, one transaction per job, Arrow batches only.

Everything that changes the database (span batches from the pipeline, assessment writes from the
API) is a job on this thread, so DuckDB never sees two writers and every job is all or nothing.

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

A failure that is the store's, not the job's (a full disk, an I/O error, a database DuckDB has
invalidated, a missing table), fails the transaction's jobs with ``Unavailable`` naming the cause,
so the pipeline keeps the records and retries them instead of setting them aside as refused;
an invalidated database is opened again, before the next job if it cannot be at once. The thread
itself never stops on an error.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from annotrace.collector.errors import Unavailable
from annotrace.collector.store import lake
from annotrace.collector.store.db import ROW_GROUP_ROWS, Database
from annotrace.collector.store.evaluations import write_evaluations
from annotrace.collector.store.experiment_ids import ExperimentIds
from annotrace.collector.store.genai_join import ChatReader, join_staged
from annotrace.collector.store.rows import Staged

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
BATCH_HAS_COPIES = "SELECT count(*) <> count(DISTINCT (trace_id, span_id)) FROM staged"
FIRST_COPY_ONLY = "SELECT * FROM staged QUALIFY row_number() OVER (PARTITION BY trace_id, span_id) = 1"
INSERT_SPANS = f"INSERT INTO spans BY NAME SELECT {SPAN_COLUMNS} FROM new_spans"
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
"""
# New traces are inserted; only those already stored (spans arriving in several exports) take the
# merge, whose DO UPDATE costs ~3 µs per span more even when nothing conflicts.
INSERT_TRACES = f"INSERT INTO traces BY NAME {TRACE_ROWS} GROUP BY trace_id ON CONFLICT DO NOTHING RETURNING trace_id"
MERGE_TRACES = (
    "INSERT INTO traces BY NAME "
    + TRACE_ROWS
    + """
WHERE trace_id NOT IN (SELECT trace_id FROM inserted_traces) GROUP BY trace_id
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
)
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


STORE_FAILURES = (
    duckdb.OperationalError,
    duckdb.FatalException,
    duckdb.InternalException,
    duckdb.CatalogException,
    duckdb.TransactionException,
    duckdb.IOException,
    duckdb.HTTPException,
    OSError,
    MemoryError,
)
"""The store's errors (disk, memory, a damaged or altered database; on a lake, a commit conflict with
another collector or an unreachable catalog), not a job's: retried."""

COMMIT_ROWS = 2 * ROW_GROUP_ROWS
"""Spans per commit under load: two row groups of spans, and more than one of messages and
documents (~0.75 rows per span each), so all three skip the WAL (see ``db.ROW_GROUP_ROWS``)."""
COMMIT_INTERVAL_S = 10.0  # the longest a full batch waits for company; the pipeline flushes when idle
FIT_INTERVAL_S = 1.0  # how often commits refit DuckDB's memory limit to its indexes (``Database.fit_memory_limit``)


@dataclass(slots=True)
class _Job:
    run: Callable[[duckdb.DuckDBPyConnection], Any]
    future: Future[Any]
    group: bool


@dataclass(slots=True)
class WriteStats:
    spans_new: int = 0
    spans_duplicate: int = 0
    logs: int = 0
    assessments: int = 0


class Writer:
    """Runs jobs on the single writer thread; ``submit`` returns a future of the job's result.

    Full pipeline batches (``group``: the spool had more) share one transaction until it holds
    ``commit_rows`` spans, or ``commit_interval_s`` passes, or a job that does not group (a
    partial batch, an API write, ``flush``) arrives: then all of it commits together. A commit of
    at least a row group per table has DuckDB compress the rows straight into the file instead of
    logging them in its WAL and compressing them again at a checkpoint: with the store's 16,384-row
    row groups (``db.ROW_GROUP_ROWS``) this measured ~40% less writer CPU per span than 1-second
    commits. The runner flushes as soon as nothing more is coming, so an idle pipeline commits at
    once. A batch's future resolves only after the commit, so the spool still acknowledges
    nothing before it is durable. A failing job rolls the whole transaction back and every job in
    it fails; the runner then retries record by record.
    """

    def __init__(
        self,
        db: Database,
        *,
        chat: ChatReader,
        commit_rows: int = COMMIT_ROWS,
        commit_interval_s: float = COMMIT_INTERVAL_S,
    ) -> None:
        """``chat`` reads GenAI log records as messages for the join (``genai.log_events.ChatEvents``)."""
        self.db = db
        self.chat = chat
        self.commit_rows = commit_rows
        self.commit_interval_s = commit_interval_s
        self._conn = db.cursor()
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._experiments = ExperimentIds(lake=db.is_lake)
        self._flush_queued = threading.Event()
        self._next_fit = 0.0
        self.broken: str | None = None  # why the database must be opened again before the next job
        self.failing: str | None = None  # why the last commit failed, until one succeeds

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="annotrace-writer", daemon=True)
            self._thread.start()

    def shutdown(self) -> None:
        """Finish every queued job, commit, then stop. Safe without ``start`` and safe twice."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def submit(self, job: Callable[[duckdb.DuckDBPyConnection], T], *, group: bool = False) -> Future[T]:
        """Run ``job(conn)`` in the writer's transaction; ``group`` lets it wait for company."""
        future: Future[T] = Future()
        if self._thread is None:
            future.set_exception(Unavailable("The store is not running"))
        else:
            self._jobs.put(_Job(job, future, group))
        return future

    def write(self, staged: Staged, *, group: bool = True) -> Future[WriteStats]:
        """Store a batch; ``group`` lets it wait for later batches to share one commit."""
        return self.submit(lambda conn: self._write_batch(conn, staged), group=group)

    def flush(self) -> None:
        """Commit whatever batches are waiting in the open transaction now (or once the jobs
        queued before this call have run). Cheap to call often: one flush waits at a time."""
        if not self._flush_queued.is_set():
            self._flush_queued.set()
            self.submit(lambda conn: self._flush_queued.clear())

    def _run(self) -> None:
        done: list[tuple[Future[Any], Any]] = []  # ran in the open transaction, awaiting commit
        opened = 0.0
        rows = 0
        while True:
            timeout = None if not done else max(0.0, opened + self.commit_interval_s - time.monotonic())
            try:
                job = self._jobs.get(timeout=timeout)
            except queue.Empty:
                self._commit(done, rows)
                done, rows = [], 0
                continue
            if job is None:
                self._commit(done, rows)
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            if self.broken is not None and not self._reopen():
                job.future.set_exception(Unavailable(f"The store cannot write: {self.broken}"))
                continue
            try:
                if not done:
                    self._conn.execute("BEGIN TRANSACTION")
                    opened = time.monotonic()
                result = job.run(self._conn)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting callers
                self._rollback([*done, (job.future, None)], exc)
                done, rows = [], 0
                continue
            done.append((job.future, result))
            if isinstance(result, WriteStats):
                rows += result.spans_new
            if not job.group or rows >= self.commit_rows or time.monotonic() - opened >= self.commit_interval_s:
                self._commit(done, rows)
                done, rows = [], 0

    def _commit(self, done: list[tuple[Future[Any], Any]], rows: int) -> None:
        if not done:
            return
        started = time.monotonic()
        try:
            self._conn.execute("COMMIT")
        except BaseException as exc:  # noqa: BLE001
            self._rollback(done, exc)
            return
        log.debug(
            "store: committed %d jobs, %d new spans, in %.0f ms", len(done), rows, (time.monotonic() - started) * 1e3
        )
        self.failing = None
        for future, result in done:
            future.set_result(result)
        # new rows grow the key indexes, which DuckDB must hold in memory; a refit costs ~1 ms,
        # so at most one a second (far less than the indexes can grow meanwhile)
        if started >= self._next_fit:
            self._next_fit = started + FIT_INTERVAL_S
            try:
                self.db.fit_memory_limit(self._conn)
            except duckdb.Error as exc:  # the next commit tries again
                log.warning("store: could not adjust the memory limit: %s", exc)

    def _rollback(self, done: list[tuple[Future[Any], Any]], exc: BaseException) -> None:
        with contextlib.suppress(duckdb.Error):
            self._conn.execute("ROLLBACK")
        self._experiments.clear()  # experiments created in the rolled-back transaction are gone
        if isinstance(exc, STORE_FAILURES):
            cause, exc = exc, Unavailable(f"The store cannot write: {str(exc).splitlines()[0]}")
            exc.__cause__ = cause
            if exc.message != self.failing:  # once per cause, not per job: the pipeline retries
                log.error("store: cannot write (%s)", cause)
            self.failing = exc.message
            if isinstance(cause, (duckdb.FatalException, duckdb.ConnectionException)) or "invalidated" in str(cause):
                self.broken = self.failing
                self._reopen()
        for future, _ in done:
            future.set_exception(exc)

    def _reopen(self) -> bool:
        """Open the file again after DuckDB invalidated it (a failed checkpoint); False if that fails."""
        try:
            self.db.reopen()  # closes the old instance, and this cursor with it
            self._conn = self.db.cursor()
        except (duckdb.Error, OSError) as exc:
            log.error("store: cannot open the database again yet (%s); retrying before the next job", exc)
            return False
        log.warning("store: opened the database again after: %s", self.broken)
        self.broken = None
        return True

    # -- span and log batches -------------------------------------------------------------------
    def _write_batch(self, conn: duckdb.DuckDBPyConnection, staged: Staged) -> WriteStats:
        stats = WriteStats()
        if staged.spans is not None and staged.spans.num_rows:
            stats.spans_new, stats.spans_duplicate = self._write_spans(conn, staged)
        if staged.logs is not None and staged.logs.num_rows:
            conn.register("staged_logs", self._experiments.assign(conn, staged.logs))
            conn.execute(lake.INSERT_LOGS if self.db.is_lake else INSERT_LOGS)
            conn.unregister("staged_logs")
            stats.logs = staged.logs.num_rows
        if not self.db.is_lake:  # GenAI events sent as logs -> messages, in this transaction
            join_staged(conn, staged.spans, staged.genai_events, self.chat)
        # evaluation results (log records, span events, OpenInference) -> assessments, same transaction
        stats.assessments = write_evaluations(conn, staged.assessments)
        return stats

    def _write_spans(self, conn: duckdb.DuckDBPyConnection, batch: Staged) -> tuple[int, int]:
        assert batch.spans is not None
        staged = self._experiments.assign(conn, batch.spans)
        conn.register("staged", staged)
        if conn.execute(BATCH_HAS_COPIES).fetchall()[0][0]:
            staged = conn.sql(FIRST_COPY_ONLY).to_arrow_table()
            conn.register("staged", staged)
        lo, hi = pc.min_max(staged["start_time_unix_nano"]).values()
        window = {"lo": lo.as_py(), "hi": hi.as_py()}
        # usually nothing is stored yet: then the batch is inserted as it is, without a copy
        new_spans = staged
        if conn.execute(STORED_COPIES, window).fetchall()[0][0]:
            new_spans = conn.sql(NEW_SPANS, params=window).to_arrow_table()
        all_new = new_spans.num_rows == batch.spans.num_rows
        conn.register("new_spans", new_spans)
        if new_spans.num_rows:
            conn.execute(INSERT_SPANS)
            inserted = [] if self.db.is_lake else conn.execute(INSERT_TRACES).fetchall()
            if self.db.is_lake:
                conn.execute(lake.INSERT_TRACE_PARTS.format(trace_rows=TRACE_ROWS))
            elif len(inserted) < pc.count_distinct(new_spans["trace_id"]).as_py():
                conn.register(
                    "inserted_traces", pa.table({"trace_id": pa.array([r[0] for r in inserted], pa.string())})
                )
                conn.execute(MERGE_TRACES)
                conn.unregister("inserted_traces")
            for table, rows_ in (
                ("span_events", batch.events),
                ("span_links", batch.links),
                ("documents", batch.documents),
                ("messages", batch.messages),
            ):
                if rows_ is not None and rows_.num_rows:
                    conn.register("extra_rows", rows_)
                    conn.execute(
                        (INSERT_NEW if all_new else INSERT_NEW_FILTERED).format(table=table, view="extra_rows")
                    )
                    conn.unregister("extra_rows")
        if batch.extras is not None:
            conn.register("extras", batch.extras)
            conn.execute(lake.INSERT_TRACE_EXTRAS if self.db.is_lake else MERGE_TRACE_EXTRAS)
            conn.unregister("extras")
        for name in ("staged", "new_spans"):
            conn.unregister(name)
        return new_spans.num_rows, batch.spans.num_rows - new_spans.num_rows
