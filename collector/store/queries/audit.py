"""The audit trail: ``record`` writes one ``audit_log`` row inside the writer job that made the
change, so a write and its audit row commit together or not at all.

Writer jobs that change assessments, label schemas, sessions, queues and their items, datasets,
trace and experiment tags, traces (deletes), users, tokens or permissions, MLflow runs (not their
metrics: logged data, by the thousand), logged models, scorers and artifacts, or that hand out a
labeling lease or start or end a Review App sign-in (a failed one too), call it with the object
before and after. Who the actor is comes from the request's authenticated user
(``auth.principal``); the store only records it.

Ids: on the file ``audit_log_seq`` numbers the rows in commit order. A DuckLake store has no
sequences (and several collectors append at once), so there the collector gives each row an id
made of the time in microseconds and 10 bits drawn once per process (``lake_audit_ids``): ids keep
increasing with time across collectors, and two collectors collide only by drawing the same 10 bits
and writing in the same microsecond.
"""

from __future__ import annotations

import secrets
import threading
import time as clock
from contextvars import ContextVar
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.store import lake

ACTOR: ContextVar[str | None] = ContextVar("annotrace_actor", default=None)
"""The authenticated user of the request being served (set by ``auth.middleware``); ``Access.write``
carries it to the writer thread, where the jobs that call ``record`` read it."""

INSERT = """
INSERT INTO audit_log (time, actor, action, object_type, object_id, previous, new)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
INSERT_WITH_ID = """
INSERT INTO audit_log (audit_id, time, actor, action, object_type, object_id, previous, new)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
INSERT_SELECTED = """
INSERT INTO audit_log (time, actor, action, object_type, object_id, previous, new)
SELECT ?, ?, ?, ?, object_id, previous, new FROM ({rows})
"""
INSERT_SELECTED_WITH_IDS = """
INSERT INTO audit_log (audit_id, time, actor, action, object_type, object_id, previous, new)
SELECT ((?::BIGINT + row_number() OVER () - 1) << {node_bits}) | {node}, ?, ?, ?, ?, object_id, previous, new FROM ({rows})
"""
_NODE_BITS = 10
_NODE = secrets.randbelow(1 << _NODE_BITS)
_last_micros = 0
_ids_lock = threading.Lock()


def lake_audit_ids(count: int = 1) -> int:
    """The first of ``count`` consecutive ids for rows written on a lake (see the module docstring):
    (microseconds since 1970 << 10 | this process's bits), never repeating within the process.
    52 bits of microseconds last until 2112."""
    global _last_micros
    with _ids_lock:
        micros = max(clock.time_ns() // 1000, _last_micros + 1)
        _last_micros = micros + count - 1
    return (micros << _NODE_BITS) | _NODE


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, default=str).decode()


def _now(time: datetime | None) -> datetime:
    return time or datetime.now(UTC).replace(tzinfo=None)


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
    values = [_now(time), actor or ACTOR.get(), action, object_type, object_id, _json(previous), _json(new)]
    if lake.is_lake(conn):
        conn.execute(INSERT_WITH_ID, [lake_audit_ids(), *values])
    else:
        conn.execute(INSERT, values)


def record_selected(
    conn: duckdb.DuckDBPyConnection,
    *,
    action: str,
    object_type: str,
    rows: str,
    params: list[Any],
    count: int,
    time: datetime | None = None,
) -> None:
    """One audit row per row of ``rows``, a SELECT of ``object_id``, ``previous`` and ``new`` (JSON)
    with ``params``, ``count`` rows long: a bulk write's trail (thousands of traces deleted) in one
    statement instead of one insert per row."""
    if count <= 0:
        return
    values = [_now(time), ACTOR.get(), action, object_type, *params]
    if lake.is_lake(conn):
        sql = INSERT_SELECTED_WITH_IDS.format(node_bits=_NODE_BITS, node=_NODE, rows=rows)
        conn.execute(sql, [lake_audit_ids(count) >> _NODE_BITS, *values])
    else:
        conn.execute(INSERT_SELECTED.format(rows=rows), values)


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


def record_items(
    conn: duckdb.DuckDBPyConnection,
    action: str,
    session: Any,
    item_ids: list[str],
    time: datetime | None = None,
) -> None:
    """One row per item added to (``add``) or removed from (``remove``) a session or queue: the
    object is ``<session id>/<trace id>``; ``new`` / ``previous`` names the session."""
    kind = "labeling_item" if session.queue_type is None else "review_queue_item"
    item = "json_object('session_id', ?, 'trace_id', t)"
    record_selected(
        conn,
        action=action,
        object_type=kind,
        rows=f"SELECT ? || '/' || t AS object_id, {'NULL' if action != 'remove' else item} AS previous, "
        f"{'NULL' if action == 'remove' else item} AS new FROM unnest(?::VARCHAR[]) AS u(t)",
        params=[session.session_id, session.session_id, item_ids],
        count=len(item_ids),
        time=time,
    )
