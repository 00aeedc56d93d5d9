"""Decode workers: the CPU-heavy half of the pipeline, in separate processes.

Decoding protobuf into Python values, the processors and building Arrow tables are pure Python
and held the GIL ~65% of the time under load, leaving the receivers and the writer starved and the
collector stuck at one core. Here they run in worker processes: the runner sends spool records
(positions in the spool's files: a worker reads the payloads itself) and gets back what each
exporter's ``encode`` made (Arrow tables, which pickle as buffers). The main process keeps only
the receivers, the runner's bookkeeping and the writer.

Each worker builds its own processor instances from (class, config) pairs once, at start-up.
Arrow tables do not travel through the result pipe: a worker writes each one as an Arrow IPC file
in shared memory (``/dev/shm``) and sends its path; the collector maps it (no copy) and unlinks
it at once. Receiving ~20 MB of pickled tables per batch through the pipe held the collector's
GIL longer than the whole writer did.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.reduction import ForkingPickler
from typing import Any

import pyarrow as pa

from annotrace.collector.pipeline.decode import decode
from annotrace.collector.pipeline.malloc import use_system_allocator_for_arrow
from annotrace.collector.pipeline.spool import Record, read_payloads
from annotrace.collector.telemetry import Batch

Encoder = Callable[[Batch], Any]


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    """What a worker needs to rebuild one pipeline: picklable classes, configs and functions."""

    processors: tuple[tuple[type, Any], ...]
    encoders: tuple[Encoder, ...]


_PIPELINES: list[tuple[list[Any], tuple[Encoder, ...]]] = []


_SHM = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
_TABLE_FILE = re.compile(r"annotrace-(\d+)-\d+\.arrow")  # the writing worker's pid, a counter
_names = itertools.count()


def _reduce_table(table: pa.Table) -> tuple[Callable[[str], pa.Table], tuple[str]]:
    path = os.path.join(_SHM, f"annotrace-{os.getpid()}-{next(_names)}.arrow")
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return load_table, (path,)


def remove_stale_tables(directory: str = _SHM) -> int:
    """Delete the tables of workers that are gone; returns how many.

    A table lives in ``/dev/shm`` (memory) from the moment its worker writes it until the
    collector maps it; a collector killed in between (``kill -9``, OOM) never unlinks it, and the
    memory would stay taken until the machine restarts. Files of live workers are left alone."""
    removed = 0
    for name in os.listdir(directory):
        match = _TABLE_FILE.fullmatch(name)
        if match is None:
            continue
        try:
            os.kill(int(match.group(1)), 0)
            continue  # its worker is alive
        except ProcessLookupError:
            pass
        except PermissionError:  # alive, another user's
            continue
        try:
            os.unlink(os.path.join(directory, name))
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def load_table(path: str) -> pa.Table:
    """Map a table a worker wrote; the mapping outlives the unlinked file."""
    try:
        return pa.ipc.open_file(pa.memory_map(path)).read_all()
    finally:
        os.unlink(path)


def tune_gc() -> None:
    """The decode loop allocates a dict per span and frees it a batch later, so Python's default
    cycle collector (a pass every 700 allocations, full passes over every live object) would spend
    its time scanning batches that reference counting frees anyway. Objects alive now (modules,
    processors) are frozen out of every later pass."""
    gc.freeze()
    gc.set_threshold(200_000, 50, 1000)


def _exit_with_parent(parent: int) -> None:
    """A collector killed with -9 cannot stop its workers; they notice and leave by themselves."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


@contextlib.contextmanager
def spawned_without_sigint() -> Iterator[None]:
    """Processes spawned inside start with SIGINT blocked. Ctrl-C reaches the whole process group,
    and a worker still importing (1-5 s, before ``init`` ignores SIGINT itself) printed a
    ``KeyboardInterrupt`` traceback from Python's start-up. A blocked signal stays blocked across
    fork and exec, and a worker never unblocks it. Only this thread blocks it meanwhile: a Ctrl-C
    then is handled by another thread, or waits until the block ends, and still stops the
    collector (ignoring it here instead lost a Ctrl-C pressed during the spawn).

    multiprocessing's resource tracker is started first: the first spawn context object that
    needs it (the pool's queue lock) starts it, and its start ends by UNBLOCKING SIGINT in the
    calling thread, which let the workers spawned after it print the traceback again."""
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def init(specs: Sequence[PipelineSpec], parent: int) -> None:
    """Process initializer: build every pipeline's processors once. ``parent`` comes from the
    collector, not ``os.getppid()``: if the collector died while this worker started, its ppid is
    already 1.

    SIGINT is ignored: Ctrl-C in a terminal reaches the whole process group, and the collector
    already stops its workers in order (the runner drains, then shuts the pool down); a worker
    taking the interrupt itself only printed a ``KeyboardInterrupt`` traceback over a clean stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    ForkingPickler.register(pa.Table, _reduce_table)
    use_system_allocator_for_arrow()
    tune_gc()
    _PIPELINES.clear()
    for spec in specs:
        processors = [cls(config) for cls, config in spec.processors]
        for processor in processors:
            processor.start()
        _PIPELINES.append((processors, spec.encoders))


def _released_once_read(records: list[Record]) -> Iterator[Record]:
    """Each record, its payload dropped once decoded: the protobuf bytes (~1.3 MB per 512 2.6 KB
    spans) are not needed past the parse, and the worker peaks later, building the Arrow tables
    (~18 MiB less at that peak for 8,192 such spans). The records are this worker's copies."""
    for record in records:
        yield record
        record.payload = b""


def run(index: int, spool_directory: str, records: list[Record]) -> list[Any]:
    """Read the payloads of the spool's ``records``, decode them, run pipeline ``index``'s
    processors, encode for each of its exporters."""
    processors, encoders = _PIPELINES[index]
    read_payloads(spool_directory, records)
    batch = decode(_released_once_read(records))
    for processor in processors:
        batch = processor.process(batch)
    return [encode(batch) for encode in encoders]
