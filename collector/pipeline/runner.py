"""Moves acknowledged records from the spool through the processors into the exporters.

One thread. It takes a batch of up to ``send_batch_size`` items from the spool, decodes it once,
runs each pipeline's processors in config order and hands the result to the pipeline's
exporters. Batches follow the load: when nothing is in flight the runner takes what is there at
once (what was just sent is queryable a moment later); while batches are in flight it waits for a
full batch, or for the oldest record to have waited ``timeout``, as the OTel batch processor does.
Under load batches are therefore full, and the store groups full batches into one commit of a
DuckDB row group (see ``store.writer``). Decoding runs in worker processes (``workers.py``;
``workers=0`` decodes in this thread), so later batches decode while a commit runs; up to
``MAX_INFLIGHT_ITEMS`` items are in flight before the oldest must be committed. When the runner
takes nothing (the spool is empty, or that limit is reached) and every batch in flight has
reached the exporters, nothing will join the commit they wait for: the exporters are told to
commit now. Records are acked to the spool in order, and only after every exporter has committed
them. While a read waits for acknowledged records to be stored (``Spool.when_stored``), the spool
hands out what is ready without waiting to fill a batch, and once every record it waits for has
been taken (``Spool.hurried``), each batch that reaches the exporters is committed at once: the
read waits for a commit, not for a 32,768-span row group or the batch timeout. Behind a backlog
nothing changes until then, since full batches and row-group commits drain it fastest.

Failures are of two kinds, and neither stops this thread:

- *The store's* (``Unavailable`` from the writer: a full disk, an I/O error; ``OSError``,
  ``MemoryError``, a decode worker that died): the records are fine and must not be set aside.
  The pipeline is *failing*: the spool refuses new exports (UNAVAILABLE / 503 with Retry-After),
  health says why, and the oldest batch is retried with a growing pause (at most
  ``outage.RETRY_MAX_S``) until it is stored; then everything resumes by itself. A shutdown meanwhile
  leaves what is not stored in the spool, which replays it at the next start.
- *A record's* (anything else: it cannot be decoded or stored): the batch is retried record by
  record, and a record that still fails is moved to the spool's dead-letter folder and logged,
  so one poisonous export cannot stall ingestion and is never silently dropped. If even the
  dead letter cannot be written, that is the store's kind of failure: retried, never acked.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from annotrace.collector.component import Processor
from annotrace.collector.pipeline import workers
from annotrace.collector.pipeline.decode import decode
from annotrace.collector.pipeline.outage import Outage, is_store_failure
from annotrace.collector.pipeline.spool import Record, Spool
from annotrace.collector.telemetry import Batch

log = logging.getLogger(__name__)

MAX_INFLIGHT_ITEMS = 98_304
"""Items taken from the spool and not yet committed: the store's commit under load (32,768 spans),
the one being committed, and the batches decoded meanwhile (their memory: ``MAX_DECODED_BYTES``)."""
WORKER_START_TIMEOUT_S = 60.0
"""How long start-up waits for the decode workers; past it they go on starting in the background."""
MAX_INFLIGHT = 64  # batches in flight, a bound for many small ones
MAX_DECODED_BYTES = 256 << 20
"""Decoded batches handed to the exporters and not yet taken in (``pending_bytes``, ~7 KB per 2.6 KB span): past it, or
while every worker has a batch, nothing more is taken (the worker outpaces the writer). About one commit of 2.6 KB
spans: at 64 MiB the worker waited for every commit, ~20% fewer spans/s (README "Memory and store size")."""
HOLD_BACK_S = 0.005  # how often a runner holding back looks again


class Exporter(Protocol):
    def start(self) -> None: ...
    def shutdown(self) -> None: ...
    @staticmethod
    def encode(batch: Batch) -> Any: ...  # pure, so workers can run it
    def consume(self, encoded: Any, *, more_coming: bool = False) -> Future[Any]: ...
    def force_flush(self) -> None: ...
    def pending_bytes(self) -> int: ...  # consumed and not yet taken in: memory the runner bounds


@dataclass(slots=True)
class Pipeline:
    """One ``service.pipelines`` entry, with its components built."""

    signal: str
    receivers: frozenset[str]
    processors: Sequence[Processor]
    exporters: Sequence[Exporter]


@dataclass(slots=True)
class RunnerStats:
    batches: int = 0
    records: int = 0
    items: int = 0
    dead_letters: int = 0
    last_error: str | None = None
    failing: str | None = None  # why the pipeline cannot store now (None: it can)
    failing_since: float | None = None  # wall-clock time it started failing


class Runner:
    def __init__(
        self,
        spool: Spool,
        pipelines: Sequence[Pipeline],
        *,
        send_batch_size: int = 8192,
        timeout_s: float = 0.2,
        workers: int = 0,
    ) -> None:
        self.spool = spool
        self.pipelines = pipelines
        self.send_batch_size = send_batch_size
        self.timeout_s = timeout_s
        self.workers = workers
        self.stats = RunnerStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._decoding = 0  # batches dispatched and not yet handed to the exporters
        # batches taken from the spool, oldest first; futures None: dispatch when it is the oldest
        self._inflight: deque[tuple[list[Record], list[Future[Any]] | None]] = deque()
        self._items = 0  # items in flight
        self._outage = Outage(spool, self.stats)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._pool = self._new_pool()
            self._thread = threading.Thread(target=self._run, name="annotrace-runner", daemon=True)
            self._thread.start()

    def shutdown(self) -> None:
        """Drain everything already acknowledged, then stop. Safe twice and without start."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _new_pool(self) -> ProcessPoolExecutor | None:
        """Spawned, not forked: the collector has threads (gRPC, DuckDB) a fork would copy broken."""
        if self.workers <= 0:
            return None
        stale = workers.remove_stale_tables()
        if stale:
            log.warning("pipeline: removed %d tables left in shared memory by workers that are gone", stale)
        specs = [
            workers.PipelineSpec(
                tuple((type(p), p.config) for p in pipeline.processors),  # type: ignore[attr-defined]
                tuple(type(e).encode for e in pipeline.exporters),
            )
            for pipeline in self.pipelines
        ]
        # Start the workers now, not with the first batch: a spawned worker takes ~1 s to import
        # (5 s and more on a busy machine), and the first export's readers would wait for it.
        with workers.spawned_without_sigint():  # each submit spawns one process here
            pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=workers.init,
                initargs=(specs, os.getpid()),
            )
            started = [pool.submit(int) for _ in range(self.workers)]
        wait(started, timeout=WORKER_START_TIMEOUT_S)
        return pool

    def _run(self) -> None:
        crashed = False
        while True:
            try:
                if self._step():
                    return
                crashed = crashed and self._outage.end()  # a turn went through: take exports again
            except Exception as exc:  # never die: acknowledged records wait on this thread
                log.exception("pipeline: unexpected error in the runner; retrying")
                self._outage.begin(f"pipeline: {exc!r}")
                crashed = True
                time.sleep(self._outage.pause())

    def _step(self) -> bool:
        """One turn: finish what is done, take more. True once stopped."""
        inflight = self._inflight
        full = len(inflight) >= MAX_INFLIGHT or self._items + self.send_batch_size > MAX_INFLIGHT_ITEMS
        while inflight and (full or inflight[0][1] is None or _done(inflight[0][1])):
            futures = inflight[0][1]
            if futures is not None and not _done(futures):  # at the limit: wait for the oldest
                self._flush_when_handed_over()
                wait(futures, timeout=0.05)
                continue
            if not self._finish_oldest():
                return True  # stopping while the store cannot write: the rest stays in the spool
            full = False
        if self._holding_back():
            time.sleep(HOLD_BACK_S)
            return False
        # idle: take what is there at once; busy: let a batch fill up (the batch processor's
        # timeout), so load makes full batches, and full batches make row-group commits
        records = self.spool.take(
            self.send_batch_size, 0.05 if inflight else self.timeout_s, fill_s=self.timeout_s if inflight else 0.0
        )
        if not records:
            if inflight and (not self.spool.ready_items() or self.spool.hurried()):
                self._flush_when_handed_over()
                futures = inflight[0][1]
                if futures is not None:
                    wait(futures, timeout=0.05)
            elif not inflight and self._stop.is_set():
                return True
            return False
        inflight.append((records, self._dispatch_safely(records)))
        self._items += sum(r.items for r in records)
        return False

    def _holding_back(self) -> bool:
        """Decoding more now would only add tables waiting for the store (``MAX_DECODED_BYTES``)."""
        with self._lock:
            if self._pool is not None and self._decoding >= self.workers:
                return True
        pending = sum(exporter.pending_bytes() for pipeline in self.pipelines for exporter in pipeline.exporters)
        return pending >= MAX_DECODED_BYTES

    def _dispatch_safely(self, records: list[Record]) -> list[Future[Any]]:
        try:
            return self._dispatch(records)
        except Exception as exc:  # a processor bug must not kill ingestion
            log.exception("pipeline: processing failed")
            return [_failed(exc)]

    def _finish_oldest(self) -> bool:
        """Store, or set aside, the oldest batch in flight, then drop it from ``_inflight``.
        While the store cannot write, retry it (False: shutdown came first)."""
        records, futures = self._inflight[0]
        retried = False
        while True:
            if futures is None:
                futures, retried = self._retry(records), True
            failure = next((e for e in (f.exception() for f in futures) if e is not None), None)
            if failure is None:
                self._done(records)
                return True
            self.stats.last_error = repr(failure)
            if is_store_failure(failure):
                # a batch sent before the store recovered: try it again at once, pause only if
                # it fails again (else every batch in flight through an outage costs a pause)
                if (retried or self.stats.failing is not None) and not self._wait_to_retry(f"{failure}"):
                    return False
                futures = None
                continue
            if len(records) > 1:  # find the record(s) refused: one by one, in order
                log.warning("pipeline: a batch of %d records failed (%r); retrying one by one", len(records), failure)
                self._inflight.popleft()
                self._inflight.extendleft(([record], None) for record in reversed(records))
                records, futures = self._inflight[0]
                continue
            try:
                self.spool.dead_letter(records[0], repr(failure))
            except OSError as exc:
                if not self._wait_to_retry(
                    f"cannot write a dead letter to {self.spool.directory}: {exc.strerror or exc}"
                ):
                    return False
                continue
            log.error("pipeline: record failed for good (%r); moved to the dead-letter folder", failure)
            self.stats.dead_letters += 1
            self._done(records)
            return True

    def _wait_to_retry(self, reason: str) -> bool:
        """The store cannot write: refuse new exports, say why, pause. False if shutting down."""
        self._outage.begin(reason)
        return not self._stop.is_set() and not self._stop.wait(self._outage.pause())

    def _flush_when_handed_over(self) -> None:
        """Nothing more is taken from the spool for now: once every batch in flight has reached
        the exporters, none will join the commit they wait for, so they commit now."""
        with self._lock:
            decoding = self._decoding
        if not decoding:
            self._flush_exporters()

    def _batch_done(self, _: Future[Any]) -> None:
        self.spool.nudge()

    def _handed_over(self, _: Future[Any]) -> None:
        with self._lock:
            self._decoding -= 1
        if self.spool.hurried():  # a reader waits: commit what the store has, don't wait for company
            self._flush_exporters()

    def _dispatch(self, records: list[Record]) -> list[Future[Any]]:
        futures: list[Future[Any]] = []
        by_pipeline: dict[int, list[Record]] = {}
        for record in records:
            receiver = _receiver(record)
            for index, pipeline in enumerate(self.pipelines):
                if pipeline.signal == record.signal and (receiver in pipeline.receivers or receiver == "web"):
                    by_pipeline.setdefault(index, []).append(record)
        for index, selected in by_pipeline.items():
            pipeline = self.pipelines[index]
            if self._pool is None:
                self.spool.load(selected)
                encoded: Future[list[Any]] = Future()
                encoded.set_result(self._run_inline(pipeline, selected))
            else:  # the worker reads the payloads from the spool's files itself
                directory = str(self.spool.directory)
                try:
                    encoded = self._pool.submit(workers.run, index, directory, selected)
                except BrokenProcessPool:  # a worker died: start new ones, nothing was acked yet
                    log.error("pipeline: a decode worker died; starting new workers")
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
                    assert self._pool is not None
                    encoded = self._pool.submit(workers.run, index, directory, selected)
            # a full batch means the spool had more: the store may wait for it to share a commit
            more = sum(r.items for r in records) >= self.send_batch_size
            with self._lock:
                self._decoding += 1
            futures.extend(_then_consume(encoded, i, exporter, more) for i, exporter in enumerate(pipeline.exporters))
            encoded.add_done_callback(self._handed_over)  # after the consume callbacks: they run in order
        for future in futures:  # the loop may be waiting in take(): ack (and so serve readers) now
            future.add_done_callback(self._batch_done)
        return futures

    @staticmethod
    def _run_inline(pipeline: Pipeline, records: list[Record]) -> list[Any]:
        batch = decode(records)
        for processor in pipeline.processors:
            batch = processor.process(batch)
        return [exporter.encode(batch) for exporter in pipeline.exporters]

    def _retry(self, records: list[Record]) -> list[Future[Any]]:
        """Dispatch ``records`` again and wait until stored or refused (the exporters commit at once)."""
        futures = self._dispatch_safely(records)
        while not _done(futures):
            self._flush_when_handed_over()
            wait(futures, timeout=0.05)
        return futures

    def _flush_exporters(self) -> None:
        for pipeline in self.pipelines:
            for exporter in pipeline.exporters:
                exporter.force_flush()

    def _done(self, records: list[Record]) -> None:
        """``records`` (the oldest in flight) are stored or set aside: ack them, drop them."""
        self._inflight.popleft()
        self._items -= sum(r.items for r in records)
        self.spool.ack(records)
        self._outage.end()
        self.stats.batches += 1
        self.stats.records += len(records)
        self.stats.items += sum(r.items for r in records)


def _receiver(record: Record) -> str:
    if not record.meta:
        return "web"
    return str(orjson.loads(record.meta).get("receiver", "web"))


def _then_consume(encoded: Future[list[Any]], index: int, exporter: Exporter, more_coming: bool) -> Future[Any]:
    """A future of ``exporter.consume(encoded[index])``, started as soon as the worker is done."""
    out: Future[Any] = Future()

    def consumed(stored: Future[Any]) -> None:
        error = stored.exception()
        if error is None:
            out.set_result(stored.result())
        else:
            out.set_exception(error)

    def decoded(done: Future[list[Any]]) -> None:
        error = done.exception()
        if error is not None:
            out.set_exception(error)
            return
        try:
            exporter.consume(done.result()[index], more_coming=more_coming).add_done_callback(consumed)
        except Exception as exc:  # noqa: BLE001
            out.set_exception(exc)

    encoded.add_done_callback(decoded)
    return out


def _done(futures: list[Future[Any]] | None) -> bool:
    return futures is not None and all(f.done() for f in futures)


def _failed(exc: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(exc)
    return future
