"""Moves acknowledged records from the spool through the processors into the exporters.

One thread. It takes up to ``send_batch_size`` items (or what arrived within ``timeout``),
decodes them once, runs each pipeline's processors in config order and hands the result to the
pipeline's exporters. Decoding the next batch overlaps with the store committing the previous
one (the DuckDB insert releases the GIL), and records are acked to the spool only after every
exporter has committed them.

A batch an exporter refuses is retried record by record; a record that still fails is moved to
the spool's dead-letter folder and logged, so one poisonous export cannot stall ingestion and is
never silently dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from annotrace.collector.component import Processor
from annotrace.collector.pipeline.batch import Batch
from annotrace.collector.pipeline.decode import decode
from annotrace.collector.pipeline.spool import Record, Spool

log = logging.getLogger(__name__)


class Exporter(Protocol):
    def start(self) -> None: ...

    def shutdown(self) -> None: ...

    def consume(self, batch: Batch) -> Future[Any]: ...


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
    errors: list[str] = field(default_factory=list)


class Runner:
    def __init__(self, spool: Spool, pipelines: Sequence[Pipeline], *, send_batch_size: int = 8192,
                 timeout_s: float = 0.2) -> None:
        self.spool = spool
        self.pipelines = pipelines
        self.send_batch_size = send_batch_size
        self.timeout_s = timeout_s
        self.stats = RunnerStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="annotrace-runner", daemon=True)
            self._thread.start()

    def shutdown(self) -> None:
        """Drain everything already acknowledged, then stop. Safe twice and without start."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        inflight: tuple[list[Record], list[Future[Any]]] | None = None
        while True:
            records = self.spool.take(self.send_batch_size, self.timeout_s)
            if not records:
                if inflight is not None:
                    self._finish(*inflight)
                    inflight = None
                if self._stop.is_set():
                    return
                continue
            try:
                futures = self._dispatch(records)
            except Exception as exc:  # noqa: BLE001 - a processor bug must not kill ingestion
                log.exception("pipeline: processing failed")
                futures = [_failed(exc)]
            if inflight is not None:
                self._finish(*inflight)
            inflight = (records, futures)

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
            batch = decode(selected)
            for processor in pipeline.processors:
                batch = processor.process(batch)
            futures.extend(exporter.consume(batch) for exporter in pipeline.exporters)
        return futures

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
        for future in futures:
            future.exception()
        return futures

    def _done(self, records: list[Record]) -> None:
        self.spool.ack(records)
        self.stats.batches += 1
        self.stats.records += len(records)
        self.stats.items += sum(r.items for r in records)

    def idle(self) -> bool:
        return self.spool.backlog_bytes == 0


def _receiver(record: Record) -> str:
    if not record.meta:
        return "web"
    return str(orjson.loads(record.meta).get("receiver", "web"))


def _failed(exc: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(exc)
    return future


def wait_idle(runner: Runner, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if runner.idle():
            return True
        time.sleep(0.01)
    return runner.idle()
