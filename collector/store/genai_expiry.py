"""How long a GenAI log record waits for its span, and the pruning that keeps the join's tables bounded.

The official OpenAI instrumentation sends chat content as log records beside the chat span
(``store.genai_join``). A record waits in ``genai_log_events_pending`` until its span is stored, and
its id stays in ``genai_log_events_seen`` so a retried export is not joined twice. A span may never
come (a sampled-out trace, a crashed app, spans sent to another backend), and both tables grew
forever with such records. So a record waits at most ``max_age`` (the duckdb exporter's
``genai_log_events_max_age``) after it was stored:

    stored ──────── max_age ────────> removed from pending and seen
       └─ its span arrives: joined (messages, inputs/outputs) and removed from pending

The age counts from when the collector stored the record, not from the record's own time, so a
backfill of old traces and logs, or an app whose clock is off, still joins. Nothing acknowledged is
lost: every record, joined or not, is a ``log_records`` row, where its content stays queryable
(``SELECT body, attributes FROM log_records WHERE trace_id = ...``). What an expired record no
longer gets is its ``messages`` rows and the span's ``inputs``/``outputs`` built from it. A copy of
a joined record sent again after its ``seen`` row is gone is still not joined twice: the span's
``messages`` rows name the record (``genai_join._join``).

Where it runs: on the file, in the writer's transaction at most every ``EVERY_S`` (``Expiry``);
on a DuckLake store, in the housekeeping round (``store.lake.housekeeping``), the one job that
deletes rows there in bulk, so that collectors' batches do not conflict with it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import duckdb

DEFAULT_MAX_AGE_S = 24 * 3600.0
"""A day: far beyond the seconds between a span and its records in a running app, or a client's
retries, while the tables hold a day of records at most."""
EVERY_S = 60.0
"""How often the file's writer prunes: two deletes that skip every row group but the oldest."""
EXPIRE_PENDING = (
    "DELETE FROM genai_log_events_pending WHERE stored_time < current_timestamp::TIMESTAMP - to_microseconds(?)"
)
PRUNE_SEEN = "DELETE FROM genai_log_events_seen WHERE seen_time < current_timestamp::TIMESTAMP - to_microseconds(?)"


class Expired(NamedTuple):
    pending: int  # records that stopped waiting for their span
    seen: int  # ids forgotten


def expire(conn: duckdb.DuckDBPyConnection, max_age_s: float) -> Expired:
    """Remove records stored more than ``max_age_s`` ago from ``pending`` and ``seen``, in the
    caller's transaction."""
    age_us = int(max_age_s * 1e6)
    counts = [conn.execute(sql, [age_us]).fetchall() for sql in (EXPIRE_PENDING, PRUNE_SEEN)]
    return Expired(*(int(rows[0][0]) if rows else 0 for rows in counts))


class Expiry:
    """When the file's writer runs ``expire``: at its first batch, then every ``every_s``."""

    def __init__(self, max_age_s: float = DEFAULT_MAX_AGE_S, every_s: float = EVERY_S) -> None:
        self.max_age_s = max_age_s
        self.every_s = every_s
        self._next = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.every_s
        return True
