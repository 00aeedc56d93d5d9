"""How request handlers (REST and web pages) reach the store: reads on a fresh cursor in the thread pool, writes as one job
on the writer thread (so a request commits all of its rows or none), awaited without blocking
the event loop.

``settle`` covers one race: an OTLP export is acknowledged once it is spooled, and becomes a
``traces`` row a moment later (the batch processor waits up to its timeout). A client that
exports a trace and at once logs feedback on it (``log_feedback`` right after the traced call)
would otherwise get a 404. We wait, bounded, while the trace or span is missing and the
pipeline still has unstored data (``pending``; without it, for the whole grace period).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool

from annotrace.collector.store.queries import assessments as assessment_queries

if TYPE_CHECKING:
    import duckdb

    from annotrace.collector.store.db import Database
    from annotrace.collector.store.writer import Writer

T = TypeVar("T")
ARRIVAL_GRACE_S = 2.0
ARRIVAL_POLL_S = 0.02


@dataclass(frozen=True, slots=True)
class Access:
    """What every handler needs: the database, its writer, and whether the pipeline is idle."""

    db: Database
    writer: Writer
    pending: Callable[[], bool] | None = None

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(cursor, *args, **kwargs)`` on its own cursor, off the event loop."""
        def run() -> T:
            cursor = self.db.cursor()
            try:
                return fn(cursor, *args, **kwargs)
            finally:
                cursor.close()
        return await run_in_threadpool(run)

    async def write(self, job: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """One writer job: committed entirely, or rolled back and its exception raised here."""
        return await asyncio.wrap_future(self.writer.submit(job))

    async def settle(self, trace_id: str, span_id: str | None = None) -> None:
        """Wait (at most ARRIVAL_GRACE_S) for an acknowledged trace/span to become stored."""
        deadline = time.monotonic() + ARRIVAL_GRACE_S
        while await self.read(assessment_queries.missing_reference, trace_id, span_id) is not None:
            if time.monotonic() > deadline or (self.pending is not None and not self.pending()):
                return  # the writer job gives the authoritative 404 / 400
            await asyncio.sleep(ARRIVAL_POLL_S)


def now_ms() -> datetime:
    """Now as naive UTC with millisecond precision: the time every request's writes are stamped
    with (MLflow's assessment times are milliseconds)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
