"""The runner with an exporter that holds full batches back, as the store does under load.

A full batch may wait in the store's open transaction for later batches to share its commit. When
nothing more comes (the spool is empty, or the in-flight limit is reached with every batch handed
over) the runner must tell the exporters to commit, or acknowledged data would wait for the
store's timer (or, with a small ``send_batch_size``, forever).
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from annotrace.collector.errors import Unavailable
from annotrace.collector.pipeline import runner as runner_module
from annotrace.collector.pipeline.runner import Pipeline, Runner
from annotrace.collector.pipeline.spool import Spool
from annotrace.collector.telemetry import Batch
from tests.otlp_builders import new_span_id, new_trace_id, request, span


class GroupingExporter:
    """Resolves a batch sent with ``more_coming`` only at ``force_flush`` (or with a later lone batch)."""

    def __init__(self) -> None:
        self.waiting: list[tuple[Future[Any], int]] = []
        self.stored = 0
        self.grouping = True
        self.lock = threading.Lock()

    def start(self) -> None: ...

    def shutdown(self) -> None: ...

    @staticmethod
    def encode(batch: Batch) -> int:
        return len(batch.spans)

    def consume(self, encoded: int, *, more_coming: bool = False) -> Future[Any]:
        future: Future[Any] = Future()
        with self.lock:
            self.waiting.append((future, encoded))
        if not more_coming or not self.grouping:
            self._commit()
        return future

    def force_flush(self) -> None:
        self._commit()

    def pending_bytes(self) -> int:
        return 0

    def _commit(self) -> None:
        with self.lock:
            done, self.waiting = self.waiting, []
            self.stored += sum(n for _, n in done)
        for future, n in done:
            future.set_result(n)


def payload(n_spans: int) -> bytes:
    trace_id = new_trace_id()
    return request([span(trace_id, new_span_id()) for _ in range(n_spans)]).SerializeToString()


def wait_until_stored(spool: Spool, deadline_s: float = 20.0) -> None:
    deadline = time.monotonic() + deadline_s
    while spool.backlog_bytes and time.monotonic() < deadline:
        time.sleep(0.02)
    assert spool.backlog_bytes == 0, "acknowledged records were never committed"


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 26, fsync=False)
    spool.open()
    yield spool
    spool.close()


@contextmanager
def grouping_runner(spool: Spool, send_batch_size: int) -> Iterator[GroupingExporter]:
    """A started runner whose one exporter waits for a flush before it commits."""
    exporter = GroupingExporter()
    runner = Runner(
        spool,
        [Pipeline("traces", frozenset({"otlp"}), [], [exporter])],
        send_batch_size=send_batch_size,
        timeout_s=0.05,
    )
    runner.start()
    try:
        yield exporter
    finally:
        exporter.grouping = False  # so shutdown can finish even when the test failed
        exporter.force_flush()
        runner.shutdown()


def test_full_batches_are_committed_once_the_spool_runs_dry(spool: Spool) -> None:
    for _ in range(3):  # 3 full batches of 4 spans, and then nothing more
        spool.append("traces", b'{"receiver":"otlp"}', payload(4), items=4)
    with grouping_runner(spool, send_batch_size=4) as exporter:
        wait_until_stored(spool)
    assert exporter.stored == 12


def test_the_in_flight_limit_commits_what_waits_for_more_than_may_be_in_flight(
    spool: Spool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "MAX_INFLIGHT", 2)  # the store would wait for more than 2 batches
    with grouping_runner(spool, send_batch_size=2) as exporter:
        for _ in range(20):  # a steady stream: the spool is rarely empty
            spool.append("traces", b'{"receiver":"otlp"}', payload(2), items=2)
        wait_until_stored(spool)
    assert exporter.stored == 40


class RefusingExporter:
    """Stores every batch except one that holds a span named "poison"."""

    def __init__(self) -> None:
        self.stored: list[str] = []

    def start(self) -> None: ...

    def shutdown(self) -> None: ...

    @staticmethod
    def encode(batch: Batch) -> list[str]:
        return list(batch.spans.name)

    def consume(self, names: list[str], *, more_coming: bool = False) -> Future[Any]:
        future: Future[Any] = Future()
        if "poison" in names:
            future.set_exception(ValueError("the store refuses poison"))
        else:
            self.stored.extend(names)
            future.set_result(len(names))
        return future

    def force_flush(self) -> None: ...

    def pending_bytes(self) -> int:
        return 0


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "decode-worker"])
def test_a_record_refused_for_good_goes_to_the_dead_letter_folder_and_the_rest_is_stored(
    spool: Spool, workers: int
) -> None:
    def export(*names: str) -> bytes:
        trace_id = new_trace_id()
        return request([span(trace_id, new_span_id(), name=n) for n in names]).SerializeToString()

    poisoned = export("poison", "bystander")
    for body in (export("a"), poisoned, export("b", "c")):
        spool.append("traces", b'{"receiver":"otlp"}', body, items=1)
    exporter = RefusingExporter()
    runner = Runner(
        spool,
        [Pipeline("traces", frozenset({"otlp"}), [], [exporter])],
        send_batch_size=100,
        timeout_s=0.05,
        workers=workers,
    )
    runner.start()
    try:
        wait_until_stored(spool)  # acknowledged and done with: the poisoned record does not stall the spool
    finally:
        runner.shutdown()
    assert sorted(exporter.stored) == ["a", "b", "c"]
    assert runner.stats.dead_letters == 1
    [kept] = list((spool.directory / "dead-letter").glob("*.pb"))
    assert kept.read_bytes() == poisoned  # the whole export, as it was acknowledged
    reason = kept.with_suffix(".txt").read_text()
    assert "the store refuses poison" in reason and '"receiver":"otlp"' in reason


def test_a_waiting_reader_has_the_store_commit_while_a_steady_stream_keeps_it_batching(
    spool: Spool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no in-flight limit and a spool that never runs dry: without a reader, nothing would commit
    monkeypatch.setattr(runner_module, "MAX_INFLIGHT", 1 << 30)
    monkeypatch.setattr(runner_module, "MAX_INFLIGHT_ITEMS", 1 << 30)
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            spool.append("traces", b'{"receiver":"otlp"}', payload(2), items=2)

    sender = threading.Thread(target=stream)
    with grouping_runner(spool, send_batch_size=2) as exporter:
        sender.start()
        try:
            while spool.acknowledged() < 50:
                time.sleep(0.01)
            stored = threading.Event()
            target = spool.acknowledged()
            spool.when_stored(target, stored.set)
            assert stored.wait(20), "the reader was never served"
            assert spool.stored() >= target and exporter.stored >= 2 * target
        finally:
            stop.set()
            sender.join()


class FullDiskExporter:
    """Refuses every batch as the store does on a full disk (``Unavailable``) until ``room`` is set."""

    def __init__(self) -> None:
        self.room = threading.Event()
        self.attempts = 0
        self.stored: list[int] = []

    def start(self) -> None: ...

    def shutdown(self) -> None: ...

    @staticmethod
    def encode(batch: Batch) -> int:
        return len(batch.spans)

    def consume(self, encoded: int, *, more_coming: bool = False) -> Future[Any]:
        future: Future[Any] = Future()
        self.attempts += 1
        if self.room.is_set():
            self.stored.append(encoded)
            future.set_result(encoded)
        else:
            future.set_exception(Unavailable("The store cannot write: No space left on device"))
        return future

    def force_flush(self) -> None: ...

    def pending_bytes(self) -> int:
        return 0


def test_a_store_that_cannot_write_stops_acknowledgements_and_is_retried_until_it_can(spool: Spool) -> None:
    for n in (1, 2, 3):
        spool.append("traces", b'{"receiver":"otlp"}', payload(n), items=n)
    exporter = FullDiskExporter()
    runner = Runner(
        spool, [Pipeline("traces", frozenset({"otlp"}), [], [exporter])], send_batch_size=100, timeout_s=0.05
    )
    runner.start()
    try:
        while exporter.attempts < 3:  # retried, not set aside
            time.sleep(0.01)
        assert "No space left on device" in (runner.stats.failing or "")
        with pytest.raises(Unavailable) as refused:
            spool.append("traces", b'{"receiver":"otlp"}', payload(1), items=1)
        assert "No space left on device" in refused.value.message and refused.value.retry_after_s
        exporter.room.set()  # space again: the runner resumes by itself
        wait_until_stored(spool)
        assert runner.stats.failing is None
        spool.append("traces", b'{"receiver":"otlp"}', payload(4), items=4)  # accepted again
        wait_until_stored(spool)
    finally:
        runner.shutdown()
    assert sum(exporter.stored) == 10 and runner.stats.dead_letters == 0
    assert not (spool.directory / "dead-letter").exists()


def test_shutdown_while_the_store_cannot_write_leaves_the_records_in_the_spool(spool: Spool) -> None:
    spool.append("traces", b'{"receiver":"otlp"}', payload(2), items=2)
    exporter = FullDiskExporter()
    runner = Runner(
        spool, [Pipeline("traces", frozenset({"otlp"}), [], [exporter])], send_batch_size=100, timeout_s=0.05
    )
    runner.start()
    while not exporter.attempts:
        time.sleep(0.01)
    runner.shutdown()  # returns: it does not wait for a disk that may never have room
    assert spool.unstored_records == 1 and runner.stats.dead_letters == 0


def test_a_dead_letter_that_cannot_be_written_is_retried_and_the_record_kept_until_it_is(spool: Spool) -> None:
    """The dead-letter folder is on the same (full) disk: writing there fails (here past
    RLIMIT_FSIZE, a real short write then EFBIG); the runner must neither die nor ack the record."""
    trace_id = new_trace_id()
    poisoned = request([span(trace_id, new_span_id(), name="poison", attributes={"pad": "p" * 50_000})])
    spool.append("traces", b'{"receiver":"otlp"}', poisoned.SerializeToString(), items=1)
    exporter = RefusingExporter()
    runner = Runner(
        spool, [Pipeline("traces", frozenset({"otlp"}), [], [exporter])], send_batch_size=100, timeout_s=0.05
    )
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, hard))
    try:
        runner.start()
        while runner.stats.failing is None:
            time.sleep(0.01)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    try:
        assert "cannot write a dead letter" in runner.stats.failing
        assert spool.unstored_records == 1  # not acked while it is nowhere but in the spool
        wait_until_stored(spool)  # room again: written to dead-letter/, then acked
    finally:
        runner.shutdown()
    assert runner.stats.dead_letters == 1 and runner.stats.failing is None
    assert len(list((spool.directory / "dead-letter").glob("*.pb"))) == 1


def test_an_unexpected_error_in_the_runner_neither_kills_it_nor_refuses_exports_for_good(
    spool: Spool, caplog: pytest.LogCaptureFixture
) -> None:
    spool.append("traces", b'{"receiver":"otlp"}', payload(1), items=1)
    boom = threading.Event()

    def callback_that_raises() -> None:  # runs on the runner's thread, as a reader's wake-up does
        boom.set()
        raise RuntimeError("a bug")

    spool.when_stored(1, callback_that_raises)
    with grouping_runner(spool, send_batch_size=1) as exporter:
        assert boom.wait(20)
        deadline = time.monotonic() + 20
        while "a bug" not in caplog.text or spool.refusing is not None:  # logged; then it takes exports again
            assert time.monotonic() < deadline, f"still refusing exports: {spool.refusing}"
            time.sleep(0.01)
        spool.append("traces", b'{"receiver":"otlp"}', payload(2), items=2)
        wait_until_stored(spool)
    assert exporter.stored == 3


class BackedUpStore(GroupingExporter):
    """Holds every batch it is given (10 MiB pending each) until ``catch_up``: a store falling behind."""

    def __init__(self) -> None:
        super().__init__()
        self.consumed = 0
        self.looks_while_full = 0
        self.looked = threading.Event()  # the runner asked 20 times while the store was full
        self.held: list[Future[Any]] = []
        self.caught_up = False

    def force_flush(self) -> None: ...

    def consume(self, encoded: int, *, more_coming: bool = False) -> Future[Any]:
        future: Future[Any] = Future()
        with self.lock:
            self.consumed += 1
            if not self.caught_up:
                self.held.append(future)
                return future
        future.set_result(None)
        return future

    def pending_bytes(self) -> int:
        with self.lock:
            if self.held:
                self.looks_while_full += 1
                if self.looks_while_full >= 20:
                    self.looked.set()
            return len(self.held) * (10 << 20)

    def catch_up(self) -> None:
        """Store what is held, and from now on every batch at once."""
        with self.lock:
            held, self.held, self.caught_up = self.held, [], True
        for future in held:
            future.set_result(None)


def test_the_runner_decodes_nothing_more_while_the_store_holds_its_limit_of_decoded_batches(
    spool: Spool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "MAX_DECODED_BYTES", 10 << 20)  # one batch of the store's 10 MiB
    for _ in range(3):
        spool.append("traces", b'{"receiver":"otlp"}', payload(4), items=4)
    store = BackedUpStore()
    runner = Runner(spool, [Pipeline("traces", frozenset({"otlp"}), [], [store])], send_batch_size=4, timeout_s=0.05)
    runner.start()
    try:
        assert store.looked.wait(20), "the runner never looked at the store's pending bytes"
        assert store.consumed == 1  # the other two wait in the spool (on disk), not decoded in memory
        assert spool.ready_items() == 8
        store.catch_up()
        wait_until_stored(spool)
    finally:
        store.catch_up()
        runner.shutdown()
    assert store.consumed == 3
