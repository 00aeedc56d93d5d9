"""Opens the DuckDB file and hands out read cursors.

One process owns the file: the writer thread writes through ``Database.conn`` and everything else
reads through its own cursor. After migrations the instance is locked down
(``enable_external_access=false``), so no query, even one that slips past the sandbox's checks
(``store.sandbox``), can read files, attach databases or install extensions. The configuration is
not locked (``lock_configuration`` is one-way): the writer moves the memory limit as the key indexes
that remain grow (``fit_memory_limit``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from annotrace.collector.errors import Unavailable
from annotrace.collector.store import lake, lake_reads
from annotrace.collector.store.migrate import migrate

log = logging.getLogger(__name__)

CHECKPOINT_THRESHOLD = "256MB"
ROW_GROUP_ROWS = 16_384
"""Rows per row group (DuckDB's default is 122,880). A transaction that appends at least a row
group to a table has DuckDB compress those rows straight into the file instead of logging them in
the WAL and compressing them again at the next checkpoint, which measured ~40% of the writer's
time per span. Smaller row groups let commits of a few batches take that path (the writer commits
``commit_rows``, see ``store.writer``), so a commit needs ~130 MB of memory, not ~1 GB. The size
is an option of the attached file, not stored in it: every writable open sets it."""
MEMORY_STEP = 16 * 1024 * 1024
INDEX_BYTES = "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'ART_INDEX'"
"""What DuckDB reports for its ART indexes. The tables that grow with the data have none (traces
since schema 0080, log_records, genai_log_events_seen and assessments since 0081-0084: each held
~75-96 bytes per row); the keys left are those of small tables (experiments, users, sessions)."""
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
QUIET = "SET enable_progress_bar = false"
"""On a lake: a statement that waits on the catalog past 2 s would print DuckDB's progress bar on
stdout (a setting of each connection, so of each cursor)."""
_BOOT = "annotrace_boot"  # the in-memory catalog a connection starts with, detached once the file is in


def parse_bytes(value: str) -> int:
    """A size as DuckDB writes one ("256MB", "1.5GB", "512MiB"; KB/MB/GB are powers of 1000)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(f"{value!r} is not a size such as 256MB, 1GB or 512MiB")
    return int(float(match.group(1)) * _UNITS[unit])


class Database:
    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
        threads: int | None = None,
        lock_timeout_s: float = 0.0,
        lake_catalog: str | None = None,
        lake_data_path: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.lake_catalog = lake_catalog
        """A DuckLake catalog (libpq connection string) to open instead of the file (``store.lake``)."""
        self.lake_data_path = lake_data_path or str(self.path.parent / "lake")
        self.read_only = read_only
        self.working_memory = parse_bytes(memory_limit) if memory_limit else None
        self._memory_limit = 0
        config: dict[str, Any] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        if not read_only:
            # DuckDB checkpoints (compresses and rewrites) after every 16 MB of WAL by default;
            # under load that was most of the writer's time. 256 MB measured ~15% more spans/s
            # and bounds what a restart after a crash replays.
            config["checkpoint_threshold"] = CHECKPOINT_THRESHOLD
            # A checkpoint "vacuums" by merging partial row groups into full ones, i.e. rewrites
            # the partial last row group every large commit leaves in each table: the file then
            # kept ~20% free blocks (865 instead of 694 bytes per span), for no gain in speed.
            config["max_vacuum_tasks"] = 0
        if read_only:
            config["access_mode"] = "READ_ONLY"
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._config = config
        self._lock_timeout_s = lock_timeout_s
        self.conn = self._connect()

    @property
    def is_lake(self) -> bool:
        return self.lake_catalog is not None

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self.lake_catalog is not None:
            return self._connect_lake(self.lake_catalog)
        if self.read_only:
            conn = _locked(lambda: duckdb.connect(str(self.path), config=self._config), self.path, self._lock_timeout_s)
        else:
            conn = _locked(lambda: _attach(self.path, self._config), self.path, self._lock_timeout_s)
            try:
                migrate(conn, str(self.path))
            except BaseException:
                conn.close()  # nothing committed: the file stays as it was
                raise
            self._memory_limit = 0
            self.fit_memory_limit(conn)
        conn.execute("SET enable_external_access = false")
        return conn

    def _connect_lake(self, catalog: str) -> duckdb.DuckDBPyConnection:
        """Attach the DuckLake and bring its schema forward. External access stays on: the
        instance reads and writes the lake's Parquet files and its catalog over the network; the
        SQL API's sandbox (``store.sandbox``) still refuses file functions and ATTACH."""
        conn = duckdb.connect(
            config={
                k: v
                for k, v in self._config.items()
                if k not in ("checkpoint_threshold", "max_vacuum_tasks", "access_mode")  # read-only: the ATTACH
            }
        )
        conn.execute(QUIET)
        try:
            lake.attach(conn, catalog, self.lake_data_path, read_only=self.read_only)
            if not self.read_only:  # a reader (``annotrace sql --db``) takes the schema as it is
                migrate(conn, f"the DuckLake catalog {catalog}", lake.translate, lake.create_traces_view)
                lake_reads.give_statistics(conn)
        except BaseException:
            conn.close()
            raise
        return lake.register(conn)

    def reopen(self) -> None:
        """Close and open the file again. After a fatal error (a checkpoint that failed on a full
        disk, say) DuckDB refuses all work on the instance "until the database is restarted";
        what was committed is in the file and its WAL, and comes back. Cursors of the old
        instance are closed with it, so readers take new ones (``cursor``) per query."""
        try:
            self.conn.close()
        except duckdb.Error:
            pass
        self.conn = self._connect()

    def fit_memory_limit(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Memory limit = the configured working memory + the ART indexes, rounded up to 16 MiB.

        DuckDB keeps ART indexes in memory and never evicts them: inside a fixed limit the
        ``traces`` primary key (~74 bytes per trace, gone since schema 0080) left less and less
        room for the inserts until every insert failed ("could not allocate block"); so did the
        keys of ``log_records``, ``assessments`` and ``genai_log_events_seen`` (gone since
        0081-0084). The indexes left belong to small tables (``INDEX_BYTES``).
        The writer calls this after commits, at most once a second; the setting changes in steps
        of 16 MiB."""
        if self.working_memory is None or self.is_lake:  # a lake has no ART indexes
            return
        index_bytes = conn.execute(INDEX_BYTES).fetchall()[0][0]
        limit = self.working_memory + -(-int(index_bytes) // MEMORY_STEP) * MEMORY_STEP
        if limit != self._memory_limit:
            conn.execute(f"SET memory_limit = '{limit}B'")
            self._memory_limit = limit

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own on this instance. On a lake it starts in the lake: a cursor
        starts in the instance's default catalog, which for a lake is the empty in-memory one."""
        cursor = self.conn.cursor()
        if self.is_lake:
            try:
                cursor.execute(f"USE {lake.LAKE_NAME}")
                cursor.execute(QUIET)
            except duckdb.Error as exc:  # the catalog is down: 503 and a reason, not a 500
                cursor.close()
                raise Unavailable(f"The DuckLake catalog is unreachable: {str(exc).splitlines()[0]}") from None
            lake.register(cursor)
        return cursor

    def close(self) -> None:
        """Checkpoint first, so the next start does not replay the WAL (if the disk has no
        room for it, the next start replays the WAL instead: nothing committed is lost)."""
        if not self.read_only and not self.is_lake:
            try:
                self.conn.execute("CHECKPOINT")
            except duckdb.Error as exc:
                log.warning("store: no checkpoint at close (%s); the next start replays the WAL", exc)
        try:
            self.conn.close()
        except duckdb.Error:
            pass


class _Lent:
    """An Arrow table lent to DuckDB for one ``registered`` block, through the Arrow C stream interface.

    DuckDB keeps what ``register`` was given until the transaction ends, even once unregistered: the
    registration is a temporary view, and a dropped catalog entry stays alive for the transaction that
    dropped it. Given a table, that kept every batch of the writer's open commit in memory until the
    COMMIT (~240 MiB of mapped Arrow tables for a commit of 32,768 2.6 KB spans, measured 2026-12-08).
    DuckDB asks this object for a fresh stream at every scan; after the block it holds nothing."""

    __slots__ = ("table",)

    def __init__(self, table: pa.Table) -> None:
        self.table: pa.Table | None = table

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        if self.table is None:
            raise RuntimeError("an Arrow table was read after its registered block ended")
        return self.table.__arrow_c_stream__(requested_schema)


@contextlib.contextmanager
def registered(conn: duckdb.DuckDBPyConnection, **tables: pa.Table) -> Iterator[None]:
    """Each Arrow table visible to ``conn``'s SQL under its keyword's name for the ``with`` block,
    and held by DuckDB no longer than that (``_Lent``).

    A registration outlives the statement, and a name registered again replaces the table, so one
    left behind would keep the table in memory, or answer a later statement that forgot its own.
    When the block fails, its error is the one raised, not one from a connection it left unusable."""
    lent = {name: _Lent(table) for name, table in tables.items()}
    for name, stream in lent.items():
        conn.register(name, stream)
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            for name in tables:
                conn.unregister(name)
        raise
    finally:
        for stream in lent.values():
            stream.table = None
    for name in tables:
        conn.unregister(name)


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")
LOCK_RETRY_S = 0.2


def _locked(
    open_file: Callable[[], duckdb.DuckDBPyConnection], path: Path, timeout_s: float
) -> duckdb.DuckDBPyConnection:
    """``open_file()``, retried while another process holds the file's lock, for up to ``timeout_s``.

    DuckDB lets one process write a file, or any number read it. A collector restarted while an
    ``annotrace sql --db`` (or the old collector, still stopping) has the file open would die on
    DuckDB's raw IOException; it waits for the holder instead, and past ``timeout_s`` names it
    (DuckDB's message carries its program and PID) in one line."""
    deadline = time.monotonic() + timeout_s
    waiting_for = None
    while True:
        try:
            return open_file()
        except duckdb.IOException as exc:
            holder = _LOCK_HOLDER.search(str(exc))
            if holder is None:
                raise Unavailable(f"cannot open {path}: {str(exc).splitlines()[0]}") from None
            if timeout_s and holder.group(2) != waiting_for:
                waiting_for = holder.group(2)
                log.warning(
                    "waiting up to %g s for process %s (%s) to let go of %s",
                    timeout_s,
                    holder.group(2),
                    holder.group(1),
                    path,
                )
            if time.monotonic() >= deadline:
                waited = f" after waiting {timeout_s:g} s" if timeout_s else ""
                raise Unavailable(
                    f"{path} is in use by process {holder.group(2)} ({holder.group(1)}){waited}: "
                    "another collector, or an `annotrace sql --db` still running"
                ) from None
            time.sleep(LOCK_RETRY_S)


def _attach(path: Path, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """Open ``path`` with ``ROW_GROUP_SIZE``, which only ``ATTACH`` takes, under the name a plain
    ``duckdb.connect(path)`` gives it (file name without extension), as the only catalog."""
    conn = duckdb.connect(config=config)
    try:
        return _attach_to(conn, path)
    except BaseException:
        conn.close()
        raise


def _attach_to(conn: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyConnection:
    conn.execute(f"ATTACH ':memory:' AS {_BOOT}")
    conn.execute(f"USE {_BOOT}")
    conn.execute("DETACH memory")  # a file named memory.duckdb may take its name
    literal = str(path).replace("'", "''")
    conn.execute(f"ATTACH '{literal}' (ROW_GROUP_SIZE {ROW_GROUP_ROWS})")
    name = conn.execute(
        "SELECT database_name FROM duckdb_databases() WHERE NOT internal AND database_name <> ?", [_BOOT]
    ).fetchall()[0][0]
    conn.execute('USE "' + name.replace('"', '""') + '"')
    conn.execute(f"DETACH {_BOOT}")
    return conn
