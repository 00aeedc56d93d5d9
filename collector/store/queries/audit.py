"""The audit trail: ``record`` writes one ``audit_log`` row inside the writer job that made the
change, so a write and its audit row commit together or not at all.

Writer jobs that change assessments, label schemas, sessions, queues, users, tokens or permissions
call it with the object before and after. Who the actor is comes from the request's authenticated
user (``auth.principal``); the store only records it.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson

ACTOR: ContextVar[str | None] = ContextVar("annotrace_actor", default=None)
"""The authenticated user of the request being served (set by ``auth.middleware``); ``Access.write``
carries it to the writer thread, where the jobs that call ``record`` read it."""

INSERT = """
INSERT INTO audit_log (time, actor, action, object_type, object_id, previous, new)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, default=str).decode()


def record(
    conn: duckdb.DuckDBPyConnection,
    *,
    action: str,
    object_type: str,
    object_id: str,
    previous: Any = None,
    new: Any = None,
    time: datetime | None = None,
    actor: str | None = None,
) -> None:
    """One audit row; ``previous`` / ``new`` are JSON-able objects without secrets. ``actor``
    defaults to the request's authenticated user (``ACTOR``)."""
    when = time or datetime.now(UTC).replace(tzinfo=None)
    conn.execute(INSERT, [when, actor or ACTOR.get(), action, object_type, object_id, _json(previous), _json(new)])


def row_as_dict(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> dict[str, Any] | None:
    """The first row of ``sql`` as a dict (for ``previous``), or None."""
    result = conn.execute(sql, params)
    row = result.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in result.description or []], row, strict=True))


def record_session(
    conn: duckdb.DuckDBPyConnection, action: str, previous: Any = None, new: Any = None, time: datetime | None = None
) -> None:
    """An audit row for a labeling session or review queue (a ``labeling.Session``, before / after)."""
    session = new if new is not None else previous
    kind = "labeling_session" if session.queue_type is None else "review_queue"
    record(
        conn,
        action=action,
        object_type=kind,
        object_id=session.session_id,
        time=time,
        previous=None if previous is None else asdict(previous),
        new=None if new is None else asdict(new),
    )
