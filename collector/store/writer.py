"""The store's only writer: one thread, one transaction per job, Arrow batches only.

Everything that changes the database (span batches from the pipeline, assessment writes from the
API) is a job on this thread, so DuckDB never sees two writers and every job is all or nothing.

What a job does is its own: ``span_writes`` stores the pipeline's batches (``write``), and
``store.queries`` the API's writes.

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
from typing import Any, NamedTuple, TypeVar

import duckdb

from annotrace.collector.errors import Unavailable
from annotrace.collector.store.db import ROW_GROUP_ROWS, Database
from annotrace.collector.store.genai_expiry import DEFAULT_MAX_AGE_S
from annotrace.collector.store.genai_join import ChatReader
from annotrace.collector.store.routing import Router
from annotrace.collector.store.rows import StoreTables
from annotrace.collector.store.span_writes import SpanWrites, WriteStats

log = logging.getLogger(__name__)
T = TypeVar("T")

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
    size: int  # bytes held until it has run


class _Ran(NamedTuple):
    """A job that ran in the open transaction: its caller hears ``result`` once that commits."""

    future: Future[Any]
    result: Any


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
        genai_max_age_s: float = DEFAULT_MAX_AGE_S,
    ) -> None:
        """``chat`` reads GenAI log records as messages for the join (``genai.log_events.ChatEvents``),
        which wait ``genai_max_age_s`` for their span (``store.genai_expiry``)."""
        self.db = db
        self.commit_rows = commit_rows
        self.commit_interval_s = commit_interval_s
        self._conn = db.cursor()
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._batches = SpanWrites(lake=db.is_lake, chat=chat, genai_max_age_s=genai_max_age_s)
        self._router = Router(db)
        self._flush_queued = threading.Event()
        self._queued_lock = threading.Lock()
        self._queued_bytes = 0  # Arrow bytes of the batches submitted and not yet stored
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

    def submit(self, job: Callable[[duckdb.DuckDBPyConnection], T], *, group: bool = False, size: int = 0) -> Future[T]:
        """Run ``job(conn)`` in the writer's transaction; ``group`` lets it wait for company; ``size``:
        the bytes it holds until it has run (``queued_bytes``)."""
        future: Future[T] = Future()
        if self._thread is None:
            future.set_exception(Unavailable("The store is not running"))
        else:
            self._count_queued(size)
            self._jobs.put(_Job(job, future, group, size))
        return future

    def write(self, tables: StoreTables, *, group: bool = True) -> Future[WriteStats]:
        """Store a batch; ``group`` lets it wait for later batches to share one commit."""
        return self.submit(lambda conn: self._batches.write(conn, tables), group=group, size=tables.nbytes)

    @property
    def queued_bytes(self) -> int:
        """The Arrow bytes of the batches waiting for this thread. Once a batch is inserted into the
        open transaction, DuckDB holds its rows (within ``memory_limit``) and its tables are freed:
        this is the memory that grows when the store falls behind (``pipeline.runner`` bounds it)."""
        return self._queued_bytes

    def _count_queued(self, size: int) -> None:
        with self._queued_lock:
            self._queued_bytes += size

    def flush(self) -> None:
        """Commit whatever batches are waiting in the open transaction now (or once the jobs
        queued before this call have run). Cheap to call often: one flush waits at a time."""
        if not self._flush_queued.is_set():
            self._flush_queued.set()
            self.submit(lambda conn: self._flush_queued.clear())

    def _run(self) -> None:
        done: list[_Ran] = []
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
            try:
                if not job.future.set_running_or_notify_cancel():
                    continue
                if self.broken is not None and not self._reopen():
                    job.future.set_exception(Unavailable(f"The store cannot write: {self.broken}"))
                    continue
                if not done:
                    self._conn.execute("BEGIN TRANSACTION")
                    opened = time.monotonic()
                result = job.run(self._conn)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting callers
                self._rollback([*done, _Ran(job.future, None)], exc)
                done, rows = [], 0
                continue
            finally:  # run or refused, its tables are no longer held here
                self._count_queued(-job.size)
            done.append(_Ran(job.future, result))
            group = job.group
            del job  # its batch's tables: unmapped now, not when the next job arrives
            if isinstance(result, WriteStats):
                rows += result.spans_new
            if not group or rows >= self.commit_rows or time.monotonic() - opened >= self.commit_interval_s:
                self._commit(done, rows)
                done, rows = [], 0

    def _commit(self, done: list[_Ran], rows: int) -> None:
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
        if not self._route(done):
            return
        for ran in done:
            ran.future.set_result(ran.result)
        # new rows grow the key indexes, which DuckDB must hold in memory; a refit costs ~1 ms,
        # so at most one a second (far less than the indexes can grow meanwhile)
        if started >= self._next_fit:
            self._next_fit = started + FIT_INTERVAL_S
            try:
                self.db.fit_memory_limit(self._conn)
            except duckdb.Error as exc:  # the next commit tries again
                log.warning("store: could not adjust the memory limit: %s", exc)

    def _route(self, done: list[_Ran]) -> bool:
        """Routing rules on the committed batches' new traces, before their futures resolve (so the
        read barrier covers them: ``store.routing``). A store failure fails the batches, which the
        pipeline then replays and routes again; any other failure costs only the routing."""
        roots = [t for ran in done if isinstance(ran.result, WriteStats) for t in ran.result.root_trace_ids]
        try:
            self._router.route(self._conn, roots)
        except STORE_FAILURES as exc:
            self._rollback(done, exc)
            return False
        except Exception:
            log.exception("store: routing rules failed after a commit")
        return True

    def _rollback(self, done: list[_Ran], exc: BaseException) -> None:
        with contextlib.suppress(duckdb.Error):
            self._conn.execute("ROLLBACK")
        self._batches.forget_experiments()
        if isinstance(exc, STORE_FAILURES):
            cause, exc = exc, Unavailable(f"The store cannot write: {str(exc).splitlines()[0]}")
            exc.__cause__ = cause
            if exc.message != self.failing:  # once per cause, not per job: the pipeline retries
                log.error("store: cannot write (%s)", cause)
            self.failing = exc.message
            if isinstance(cause, (duckdb.FatalException, duckdb.ConnectionException)) or "invalidated" in str(cause):
                self.broken = self.failing
                self._reopen()
        for ran in done:
            ran.future.set_exception(exc)

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
