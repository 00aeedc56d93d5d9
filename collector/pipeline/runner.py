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
hands out what is ready without waiting to fill a batch, and every batch that reaches the
exporters is committed at once: a read under full load waits for a commit, not for a 32,768-span
row group or the batch timeout.

A batch an exporter refuses is retried record by record; a record that still fails is moved to
the spool's dead-letter folder and logged, so one poisonous export cannot stall ingestion and is
never silently dropped.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from annotrace.collector.component import Processor
from annotrace.collector.pipeline import workers
from annotrace.collector.pipeline.batch import Batch
from annotrace.collector.pipeline.decode import decode
from annotrace.collector.pipeline.spool import Record, Spool

log = logging.getLogger(__name__)


MAX_INFLIGHT_ITEMS = 98_304
"""Items taken from the spool and not yet committed: the store's commit under load (32,768 spans),
the one being committed, and the batches decoded meanwhile. Records in flight are positions in
the spool's files (workers read the payloads); decoded batches waiting for the store are the
memory this bounds."""
MAX_INFLIGHT = 64
"""Batches in flight, a bound for many small ones."""


class Exporter(Protocol):
    def start(self) -> None: ...

    def shutdown(self) -> None: ...

    @staticmethod
    def encode(batch: Batch) -> Any: ...  # pure, so workers can run it

    def consume(self, encoded: Any, *, more_coming: bool = False) -> Future[Any]: ...

    def force_flush(self) -> None: ...


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


class Runner:
    def __init__(self, spool: Spool, pipelines: Sequence[Pipeline], *, send_batch_size: int = 8192,
                 timeout_s: float = 0.2, workers: int = 0) -> None:
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
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=workers.init, initargs=(specs, os.getpid()))

    def _run(self) -> None:
        inflight: deque[tuple[list[Record], list[Future[Any]]]] = deque()
        items = 0  # in flight
        while True:
            full = len(inflight) >= MAX_INFLIGHT or items + self.send_batch_size > MAX_INFLIGHT_ITEMS
            while inflight and (full or all(f.done() for f in inflight[0][1])):
                records, futures = inflight[0]
                if not all(f.done() for f in futures):  # at the limit: wait for the oldest
                    self._flush_when_handed_over()
                    wait(futures, timeout=0.05)
                    continue
                inflight.popleft()
                items -= sum(r.items for r in records)
                self._finish(records, futures)
                full = False
            # idle: take what is there at once; busy: let a batch fill up (the batch processor's
            # timeout), so load makes full batches, and full batches make row-group commits
            records = self.spool.take(self.send_batch_size, 0.05 if inflight else self.timeout_s,
                                      fill_s=self.timeout_s if inflight else 0.0)
            if not records:
                if inflight and not self.spool.ready_items():
                    self._flush_when_handed_over()
                    wait(inflight[0][1], timeout=0.05)
                elif not inflight and self._stop.is_set():
                    return
                continue
            try:
                futures = self._dispatch(records)
            except Exception as exc:  # noqa: BLE001 - a processor bug must not kill ingestion
                log.exception("pipeline: processing failed")
                futures = [_failed(exc)]
            inflight.append((records, futures))
            items += sum(r.items for r in records)

    def _flush_when_handed_over(self) -> None:
        """Nothing more is taken from the spool for now: once every batch in flight has reached
        the exporters, none will join the commit they wait for, so they commit now."""
        with self._lock:
            decoding = self._decoding
        if not decoding:
            self._flush_exporters()

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
                    self._pool = self._new_pool()
                    assert self._pool is not None
                    encoded = self._pool.submit(workers.run, index, directory, selected)
            # a full batch means the spool had more: the store may wait for it to share a commit
            more = sum(r.items for r in records) >= self.send_batch_size
            with self._lock:
                self._decoding += 1
            futures.extend(_then_consume(encoded, i, exporter, more) for i, exporter in enumerate(pipeline.exporters))
            encoded.add_done_callback(self._handed_over)  # after the consume callbacks: they run in order
        return futures

    @staticmethod
    def _run_inline(pipeline: Pipeline, records: list[Record]) -> list[Any]:
        batch = decode(records)
        for processor in pipeline.processors:
            batch = processor.process(batch)
        return [exporter.encode(batch) for exporter in pipeline.exporters]

    def _finish(self, records: list[Record], futures: list[Future[Any]]) -> None:
        errors = [f.exception() for f in futures]
        failures = [e for e in errors if e is not None]
        if not failures:
            self._done(records)
            return
        self.stats.last_error = repr(failures[0])
        if len(records) > 1:
            log.warning("pipeline: a batch of %d records failed (%r); retrying one by one", len(records), failures[0])
            for record in records:
                self._finish([record], self._retry(record))
            return
        log.error("pipeline: record failed for good (%r); moved to the dead-letter folder", failures[0])
        self.spool.dead_letter(records[0], repr(failures[0]))
        self.stats.dead_letters += 1
        self._done(records)

    def _retry(self, record: Record) -> list[Future[Any]]:
        try:
            futures = self._dispatch([record])
        except Exception as exc:  # noqa: BLE001
            return [_failed(exc)]
        self._flush_exporters()
        for future in futures:
            future.exception()
        return futures

    def _flush_exporters(self) -> None:
        for pipeline in self.pipelines:
            for exporter in pipeline.exporters:
                exporter.force_flush()

    def _done(self, records: list[Record]) -> None:
        self.spool.ack(records)
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


def _failed(exc: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(exc)
    return future
