"""The ``duckdb`` exporter: the store as a pipeline consumer (the OTel Collector's ``next``).

It owns the database file and the single writer thread; the API and web pages get read cursors
and write jobs from the same objects, handed over by ``service.py``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial

from annotrace.collector.config import Duration
from annotrace.collector.genai.log_events import ChatEvents
from annotrace.collector.genai.staging import stage
from annotrace.collector.store.db import Database, parse_bytes
from annotrace.collector.store.genai_expiry import DEFAULT_MAX_AGE_S
from annotrace.collector.store.genai_join import join_pending
from annotrace.collector.store.lake import compact, housekeeping
from annotrace.collector.store.rows import StoreTables
from annotrace.collector.store.span_writes import WriteStats
from annotrace.collector.store.writer import Writer
from annotrace.collector.telemetry import Batch

log = logging.getLogger(__name__)
DEFAULT_PATH = "./annotrace-data/annotrace.duckdb"


@dataclass(frozen=True, kw_only=True, slots=True)
class DuckLakeConfig:
    """The store on DuckLake instead of the file (``store.lake``): several collectors with the same
    ``catalog`` and ``data_path`` write and read one store. Needs the ``lake`` extra (duckdb 1.5.x)."""

    catalog: str = ""
    """The PostgreSQL database holding the catalog, as a libpq connection string
    (``host=db port=5432 dbname=annotrace user=annotrace``; a password is best left to
    ``PGPASSWORD`` or ``~/.pgpass``). Its tables are created on first start."""
    data_path: str = ""
    """Where the Parquet files go: a directory every collector mounts (or an ``s3://`` URL with
    credentials from the environment); default: ``lake/`` beside ``path``."""

    retention_days: int = 0
    """Drop traces that started more than this many days ago, with their spans, events, links,
    messages, documents and log records; a trace with assessments keeps its ``traces`` row and its
    assessments. 0 keeps everything."""
    housekeeping_interval: Duration = 3600.0
    """How often this collector runs housekeeping (``store.lake.housekeeping``: copies of a span
    removed, retention, merging each trace's parts, merging small Parquet files, expiring
    snapshots); 0 = never. Until a round, a span that two collectors stored (an export retried to
    the other) counts twice."""
    snapshot_retention: Duration = 3600.0
    """How long DuckLake keeps old snapshots (time travel) and the files only they use."""

    def validate(self) -> None:
        if self.retention_days < 0:
            raise ValueError(f"retention_days must be >= 0, got {self.retention_days}")
        if self.housekeeping_interval < 0 or self.snapshot_retention < 0:
            raise ValueError("housekeeping_interval and snapshot_retention must not be negative")
        if not self.catalog.strip():
            raise ValueError("catalog must be a PostgreSQL connection string, e.g. 'host=db dbname=annotrace'")


@dataclass(frozen=True, kw_only=True, slots=True)
class DuckDBConfig:
    path: str = DEFAULT_PATH
    """The database file; created with its folder on first start."""
    memory_limit: str = "192MB"
    """DuckDB's working memory (cached blocks, the open commit, queries), the largest part of the
    collector's RSS: with a 512MB limit the whole collector peaked at ~1.2 GiB under sustained
    overload, with 192MB (+ the index) at ~0.94 GiB and the same ingest rate. Queries that need
    more spill to disk; raise it for heavy analytical SQL on a large store. The key indexes of the
    small tables (experiments, users), which DuckDB keeps in memory, come on top
    (``Database.fit_memory_limit``); the tables that grow with the data have none."""
    threads: int = 0
    """DuckDB's worker threads; 0 = one fewer than the machine's cores (at least one)."""
    lock_timeout: Duration = 10.0
    """How long start-up waits for another process (a collector still stopping, an ``annotrace sql
    --db``) to let go of the file before giving up with its PID; e.g. ``10s``, ``0`` = no wait."""
    genai_log_events_max_age: Duration = DEFAULT_MAX_AGE_S
    """How long a GenAI log record (chat content the OpenAI instrumentation sends as OTLP logs)
    waits for its span after it was stored; e.g. ``24h``. After that it is not joined to its span
    (no ``messages`` rows, no ``inputs``/``outputs`` from it) but stays in ``log_records`` like
    every record, and the join's bookkeeping forgets it (``store.genai_expiry``). On DuckLake,
    the housekeeping round does this."""
    ducklake: DuckLakeConfig | None = None
    """Store on DuckLake (catalog in PostgreSQL, Parquet on a shared directory) instead of the file;
    ``path``'s folder still holds this collector's spool."""

    def validate(self) -> None:
        if not self.path:
            raise ValueError("path must not be empty")
        try:
            parse_bytes(self.memory_limit)
        except ValueError as exc:
            raise ValueError(f"memory_limit: {exc}") from None
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads}")
        if self.lock_timeout < 0:
            raise ValueError(f"lock_timeout must not be negative, got {self.lock_timeout}")
        if self.genai_log_events_max_age <= 0:
            raise ValueError(f"genai_log_events_max_age must be positive, got {self.genai_log_events_max_age}")


def default_threads() -> int:
    """One core is left to the decode worker. On 2 cores, DuckDB with 2 threads spent ~30% more
    CPU per stored span than with 1 (its parallel insert competes with the worker for the same
    cores), and a busy collector has no idle core for a query to use anyway."""
    return max(1, (os.cpu_count() or 1) - 1)


JOIN_SWEEP_S = 5.0
JOIN_SWEEP_WINDOW_S = 900


class DuckDBExporter:
    def __init__(self, config: DuckDBConfig) -> None:
        self.config = config
        self.db: Database | None = None
        self.writer: Writer | None = None
        self._stopping = threading.Event()
        self._housekeeper: threading.Thread | None = None

    def start(self) -> None:
        if self.db is None:
            self.db = Database(
                self.config.path,
                memory_limit=self.config.memory_limit,
                threads=self.config.threads or default_threads(),
                lock_timeout_s=self.config.lock_timeout,
                lake_catalog=self.config.ducklake.catalog if self.config.ducklake else None,
                lake_data_path=self.config.ducklake.data_path if self.config.ducklake else None,
            )
            chat = ChatEvents()
            self.writer = Writer(self.db, chat=chat, genai_max_age_s=self.config.genai_log_events_max_age)
            self.writer.start()
            lake_config = self.config.ducklake
            if lake_config is not None:
                self._stopping.clear()
                self._housekeeper = threading.Thread(
                    target=self._housekeeping,
                    args=(lake_config, self.writer, chat),
                    name="annotrace-lake-housekeeping",
                    daemon=True,
                )
                self._housekeeper.start()

    def _housekeeping(self, config: DuckLakeConfig, writer: Writer, chat: ChatEvents) -> None:
        """Every ``housekeeping_interval``, one round as a job on the writer thread (one transaction),
        then DuckLake's compaction on a connection of its own (``store.lake.compact``). Between
        rounds, every ``JOIN_SWEEP_S``, GenAI log events of the last ``JOIN_SWEEP_WINDOW_S`` that
        another collector's overlapping commit left waiting are joined (``genai_join.join_pending``)."""
        every = config.housekeeping_interval or float("inf")  # 0: no housekeeping, the sweeps still run
        next_round = time.monotonic() + every
        while not self._stopping.wait(min(JOIN_SWEEP_S, max(0.0, next_round - time.monotonic()))):
            if time.monotonic() < next_round:
                since = time.time_ns() - JOIN_SWEEP_WINDOW_S * 10**9
                sweep = writer.submit(partial(join_pending, reader=chat, since_ns=since))
                try:
                    sweep.result()
                except Exception as exc:  # noqa: BLE001 - the next sweep tries again
                    log.warning("lake: joining waiting GenAI log events failed (the next sweep tries again): %s", exc)
                continue
            next_round = time.monotonic() + every
            future = writer.submit(
                partial(
                    housekeeping,
                    retention_days=config.retention_days,
                    join_pending=partial(join_pending, reader=chat),
                    genai_max_age_s=self.config.genai_log_events_max_age,
                )
            )
            try:
                log.info("lake housekeeping: %s", future.result())
                assert self.db is not None
                cursor = self.db.cursor()
                try:
                    compact(cursor, keep_snapshots_hours=config.snapshot_retention / 3600)
                finally:
                    cursor.close()
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.warning("lake housekeeping failed (the next round tries again): %s", exc)

    def shutdown(self) -> None:
        self._stopping.set()
        if self._housekeeper is not None:
            self._housekeeper.join()
            self._housekeeper = None
        if self.writer is not None:
            self.writer.shutdown()
            self.writer = None
        if self.db is not None:
            self.db.close()
            self.db = None

    @staticmethod
    def encode(batch: Batch) -> StoreTables:
        """Pure: turns a batch into the store's Arrow tables (runs in the decode workers)."""
        return stage(batch)

    def consume(self, tables: StoreTables, *, more_coming: bool = False) -> Future[WriteStats]:
        """Resolves once the batch is committed; with ``more_coming`` it may wait to share a commit."""
        assert self.writer is not None, "exporter not started"
        return self.writer.write(tables, group=more_coming)

    def pending_bytes(self) -> int:
        """Bytes of the batches consumed and not yet in the store's transaction (``Writer.queued_bytes``)."""
        return 0 if self.writer is None else self.writer.queued_bytes

    def force_flush(self) -> None:
        """Commit the batches consumed so far without waiting for more company."""
        if self.writer is not None:
            self.writer.flush()
