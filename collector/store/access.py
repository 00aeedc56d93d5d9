"""How request handlers (REST and web pages) reach the store: reads on a fresh cursor in the thread pool, writes as one job
on the writer thread (so a request commits all of its rows or none), awaited without blocking
the event loop.

Every request that reaches a handler has already passed the read barrier (``app.ReadBarrier``):
what was acknowledged to any client before it arrived is stored, so handlers read and write
without waiting for the pipeline themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool

from annotrace.collector.store.queries.audit import ACTOR
from annotrace.collector.store.sandbox import read_only_transaction

if TYPE_CHECKING:
    import duckdb

    from annotrace.collector.store.db import Database
    from annotrace.collector.store.writer import Writer

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Access:
    """What every handler needs: the database and its writer."""

    db: Database
    writer: Writer

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(cursor, *args, **kwargs)`` on its own cursor, off the event loop. On a lake, in one
        read-only transaction: one snapshot for the request's queries, so the catalog is read once
        per request rather than once per query (``store.lake_reads``)."""

        def run() -> T:
            cursor = self.db.cursor()
            try:
                if not self.db.is_lake:
                    return fn(cursor, *args, **kwargs)
                with read_only_transaction(cursor):
                    return fn(cursor, *args, **kwargs)
            finally:
                cursor.close()

        return await run_in_threadpool(run)

    async def write(self, job: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """One writer job: committed entirely, or rolled back and its exception raised here. The
        job runs on the writer thread as the request's user (``audit.ACTOR``), for its audit rows."""
        actor = ACTOR.get()
        if actor is None:
            return await asyncio.wrap_future(self.writer.submit(job))

        def as_actor(conn: duckdb.DuckDBPyConnection) -> T:
            token = ACTOR.set(actor)
            try:
                return job(conn)
            finally:
                ACTOR.reset(token)

        return await asyncio.wrap_future(self.writer.submit(as_actor))


def now_ms() -> datetime:
    """Now as naive UTC with millisecond precision: the time every request's writes are stamped
    with (MLflow's assessment times are milliseconds)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
