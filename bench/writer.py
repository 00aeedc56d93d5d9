"""Scenario ``writer``: the DuckDB writer alone, in-process: its CPU and the file's bytes per span.

Why: the writer is about half of the collector's CPU per 2.6 KB span, and the end-to-end figures of
a shared 2-core machine move by 10-20% from run to run. The CPU of the writer's own threads, on the
collector's own tables, moves far less, so it is the figure to compare storage ideas on (issue 18:
compression settings, text stored once) before a full load run confirms them.

The tables are the collector's: the bench's requests decoded, normalized by the ``genai``
processor and staged (``genai.staging.stage``) as the decode worker does, in batches of the
``batch`` processor's 8,192 spans (what the writer gets under load) and of one 512-span request
(what a paced collector gets). The main thread stages the next batch while the writer stores the
last one; only the other threads' CPU is counted (the writer's and DuckDB's: process CPU minus the
main thread's). The writer groups batches into its 32,768-span commits as under load, and the
file is closed (checkpointed) before its size is taken.
"""

from __future__ import annotations

import shutil
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.trace_shapes import SPAN_BYTES
from bench.traffic import RequestFactory

SPANS = 65_536
"""Spans stored per case: two of the writer's commits."""
CASES = (("2k", 8192), ("2k", 512), ("1k", 8192), ("1k", 512))
"""(span shape, spans per batch) of each case, in the order they run."""


@dataclass(frozen=True, slots=True)
class WriterFigure:
    shape: str
    batch_spans: int
    spans: int
    write_us: float  # writer and DuckDB CPU per span until the last commit
    close_us: float  # the same, the closing checkpoint included
    bytes_per_span: float


@dataclass(slots=True)
class WriterResult:
    figures: list[WriterFigure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run_writer(data_root: Path, spans: int = SPANS) -> WriterResult:
    result = WriterResult()
    for shape, batch_spans in CASES:
        try:
            result.figures.append(_case(data_root / f"writer-{shape}-{batch_spans}", shape, batch_spans, spans))
        except Exception as exc:  # a missing internal is reported, the other cases still run
            result.notes.append(f"[writer {shape} x{batch_spans}] {type(exc).__name__}: {exc}")
    return result


def _case(path: Path, shape: str, batch_spans: int, spans: int) -> WriterFigure:
    from annotrace.collector.exporters.duckdb import default_threads
    from annotrace.collector.genai.log_events import ChatEvents
    from annotrace.collector.genai.staging import stage
    from annotrace.collector.pipeline import decode, spool
    from annotrace.collector.registry import PROCESSORS
    from annotrace.collector.store.db import Database
    from annotrace.collector.store.writer import Writer

    factory = PROCESSORS["genai"]
    processor = factory.create(factory.config())
    processor.start()
    requests = RequestFactory(512, seed=11, templates=8, shape=shape)
    per_batch = max(1, batch_spans // 512)

    def staged() -> Any:
        records = [
            spool.Record(signal="traces", meta=b"", payload=requests.next(), items=0, segment=0, end=0)
            for _ in range(per_batch)
        ]
        return stage(processor.process(decode.decode(records)))

    shutil.rmtree(path, ignore_errors=True)
    db = Database(path / "store.duckdb", memory_limit="192MB", threads=default_threads())
    writer = Writer(db, chat=ChatEvents())
    writer.start()
    pending: deque[tuple[Future[Any], int]] = deque()
    stored = in_flight = 0
    others = _other_threads_cpu()
    while stored < spans:
        tables = staged()  # the main thread's CPU, not counted
        stored += tables.span_count
        in_flight += tables.span_count
        pending.append((writer.write(tables, group=True), tables.span_count))
        # bounds the staged tables held in memory; a batch's future resolves at its commit, so a
        # commit's worth must stay in flight
        while in_flight > writer.commit_rows:
            future, count = pending.popleft()
            future.result()
            in_flight -= count
    writer.flush()
    for future, _ in pending:
        future.result()
    written = _other_threads_cpu() - others
    writer.shutdown()
    db.close()
    closed = _other_threads_cpu() - others
    size = sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    shutil.rmtree(path, ignore_errors=True)
    return WriterFigure(shape, batch_spans, stored, 1e6 * written / stored, 1e6 * closed / stored, size / stored)


def _other_threads_cpu() -> float:
    """CPU seconds of every thread but this one (the writer's and DuckDB's)."""
    return time.process_time() - time.thread_time()


def print_writer(result: WriterResult) -> None:
    print("\nDuckDB writer alone (in-process; CPU of the writer's and DuckDB's threads per stored span)")
    print(f"{'span size':>10} {'batch':>7} {'spans':>8} {'µs/span':>9} {'+close':>8} {'B/span':>8}")
    for f in result.figures:
        print(
            f"{SPAN_BYTES[f.shape]:>10} {f.batch_spans:>7,} {f.spans:>8,} {f.write_us:>9.1f} "
            f"{f.close_us:>8.1f} {f.bytes_per_span:>8,.0f}"
        )
    for note in result.notes:
        print(f"  {note}")
