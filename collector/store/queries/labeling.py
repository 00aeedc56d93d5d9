"""Labeling sessions: a run (a real ``runs`` row of the session's id) holding *copies* of traces that
experts label with label schemas.

Copying keeps labels off the original (Databricks' behaviour): ``add_traces`` gives each source
trace a new ``tr-`` id and copies its rows in every per-trace table in one writer job, tagging the
copy with ``annotrace.source_trace_id`` and metadata ``mlflow.sourceRun`` = the session's run id,
so ``search_traces(run_id=...)`` finds it. A source is copied into a session at most once. The
copying itself is ``labeling_copy.py``: batched, the same few statements for 1 or 1,000 traces.
A labeler's answers, and the status each labeler has on each item, are ``labeling_answers.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.ids import name_problem
from annotrace.collector.store.queries import audit, experiments, labeling_copy
from annotrace.collector.store.queries import label_schemas as label_schemas_queries
from annotrace.collector.store.queries import runs as runs_queries

# re-exported (``X as X``): trace_table.py and other readers take the keys from this module
from annotrace.collector.store.queries.labeling_copy import SOURCE_RUN_KEY as SOURCE_RUN_KEY
from annotrace.collector.store.queries.labeling_copy import SOURCE_TRACE_KEY as SOURCE_TRACE_KEY

STATUSES = ("pending", "in_progress", "completed", "skipped")
MAX_USERS = 100

SESSION_COLUMNS = (
    "session_id, experiment_id, name, assigned_users, agent, label_schemas, enable_multi_turn_chat, "
    "custom_inputs, create_time, last_update_time, queue_type, created_by, reviewers_per_item"
)
GET = f"SELECT {SESSION_COLUMNS} FROM labeling_sessions WHERE session_id = ?"
LIST = (
    f"SELECT {SESSION_COLUMNS} FROM labeling_sessions WHERE (?::VARCHAR IS NULL OR experiment_id = ?) "
    "ORDER BY create_time DESC, session_id"
)
INSERT = f"INSERT INTO labeling_sessions ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
EXPERIMENT_SCHEMAS = "SELECT name FROM label_schemas WHERE experiment_id = ? ORDER BY created_at, schema_id"
SET_USERS = "UPDATE labeling_sessions SET assigned_users = ?, last_update_time = ? WHERE session_id = ?"
SET_REVIEWERS = "UPDATE labeling_sessions SET reviewers_per_item = ?, last_update_time = ? WHERE session_id = ?"
SCHEMAS_OF = "SELECT session_id, label_schemas FROM labeling_sessions WHERE experiment_id = ?"
SET_SCHEMAS = "UPDATE labeling_sessions SET label_schemas = ?, last_update_time = ? WHERE session_id = ?"
ITEMS = (
    "SELECT i.trace_id, i.source_trace_id, i.position, i.create_time, t.request_preview, t.response_preview "
    "FROM labeling_items i LEFT JOIN traces t USING (trace_id) WHERE i.session_id = ? ORDER BY i.position"
)
ITEM = "SELECT 1 FROM labeling_items WHERE session_id = ? AND trace_id = ?"
STATUSES_OF = "SELECT trace_id, user_id, status FROM labeling_item_status WHERE session_id = ?"
DELETE_SESSION = {
    table: f"DELETE FROM {table} WHERE session_id = ?"
    for table in ("routing_rules", "labeling_leases", "labeling_item_status", "labeling_items", "labeling_sessions")
}


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    experiment_id: str
    name: str
    assigned_users: list[str]
    agent: str | None
    label_schemas: list[str]
    enable_multi_turn_chat: bool
    custom_inputs: dict[str, Any] | None
    create_time: datetime
    last_update_time: datetime
    queue_type: str | None = None  # None: a labeling session; user | custom: an MLflow review queue
    created_by: str | None = None
    reviewers_per_item: int | None = None  # None: every assigned user answers every item

    @property
    def is_queue(self) -> bool:
        return self.queue_type is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSession:
    experiment_id: str
    name: str
    assigned_users: list[str]
    agent: str | None = None
    label_schemas: list[str] = field(default_factory=list)
    enable_multi_turn_chat: bool = False
    custom_inputs: dict[str, Any] | None = None
    reviewers_per_item: int | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One item of a session, with the status of each labeler who touched it."""

    trace_id: str
    source_trace_id: str
    position: int
    create_time: datetime
    request_preview: str | None
    response_preview: str | None
    statuses: dict[str, str]

    def status_for(self, user: str) -> str:
        return self.statuses.get(user, "pending")


def _session(cursor: duckdb.DuckDBPyConnection, row: tuple[Any, ...]) -> Session:
    """A row as a Session; a user review queue asks every schema of its experiment, resolved here
    at read time (as MLflow does), so the Review App and the answer rules need no special case."""
    values = list(row)
    values[3] = orjson.loads(values[3])
    values[5] = orjson.loads(values[5])
    values[7] = orjson.loads(values[7]) if values[7] else None
    if values[10] == "user":
        values[5] = [name for (name,) in cursor.execute(EXPERIMENT_SCHEMAS, [values[1]]).fetchall()]
    return Session(*values)


def list_from_rows(cursor: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> list[Session]:
    """Rows of ``SESSION_COLUMNS`` as Sessions (for readers of sessions by other keys: review queues)."""
    return [_session(cursor, row) for row in rows]


def may_label(session: Session, user: str) -> bool:
    """The one rule of who may label: anyone when no users are assigned, else the assigned users
    (case-insensitively in a review queue, whose users MLflow lowercases). (Identity itself, who
    ``user`` is, belongs to the caller: ``web/identity.py`` for the pages.)"""
    if not session.assigned_users:
        return True
    return (user.strip().lower() if session.is_queue else user) in session.assigned_users


# -- reads ---------------------------------------------------------------------------------------
def get(cursor: duckdb.DuckDBPyConnection, session_id: str) -> Session:
    rows = cursor.execute(GET, [session_id]).fetchall()
    if not rows:
        raise NotFound(f"Labeling session with run_id `{session_id}` not found")
    return _session(cursor, rows[0])


def list_sessions(
    cursor: duckdb.DuckDBPyConnection, experiment_id: str | None, user: str | None = None
) -> list[Session]:
    """Newest first; with ``user``, only the sessions that user may label."""
    found = [_session(cursor, row) for row in cursor.execute(LIST, [experiment_id, experiment_id]).fetchall()]
    return [s for s in found if user is None or may_label(s, user)]


def items(cursor: duckdb.DuckDBPyConnection, session_id: str) -> list[Item]:
    get(cursor, session_id)
    statuses: dict[str, dict[str, str]] = {}
    for trace_id, user, status in cursor.execute(STATUSES_OF, [session_id]).fetchall():
        statuses.setdefault(trace_id, {})[user] = status
    return [
        Item(trace_id, source, position, created, request, response, statuses.get(trace_id, {}))
        for trace_id, source, position, created, request, response in cursor.execute(ITEMS, [session_id]).fetchall()
    ]


# -- writer jobs ---------------------------------------------------------------------------------
def create(conn: duckdb.DuckDBPyConnection, new: NewSession, now: datetime) -> Session:
    """Insert a session; every schema must exist (built-ins are created on first use)."""
    if not new.name.strip():
        raise InvalidParameter("Invalid value for parameter 'name': a labeling session needs a name.")
    _check_users(new.assigned_users)
    experiments.get(conn, new.experiment_id)  # 404 RESOURCE_DOES_NOT_EXIST, as MLflow
    for name in new.label_schemas:
        label_schemas_queries.ensure(conn, new.experiment_id, name, now)
    session_id = uuid.uuid4().hex
    conn.execute(
        INSERT,
        [
            session_id,
            new.experiment_id,
            new.name,
            orjson.dumps(new.assigned_users).decode(),
            new.agent,
            orjson.dumps(list(dict.fromkeys(new.label_schemas))).decode(),
            new.enable_multi_turn_chat,
            orjson.dumps(new.custom_inputs).decode() if new.custom_inputs is not None else None,
            now,
            now,
            None,
            None,
            _check_reviewers(new.reviewers_per_item),
        ],
    )
    runs_queries.insert_for_session(conn, session_id, new.experiment_id, new.name, now)
    created = get(conn, session_id)
    audit.record_session(conn, "create", new=created, time=now)
    return created


def set_assigned_users(conn: duckdb.DuckDBPyConnection, session_id: str, users: list[str], now: datetime) -> Session:
    old = get(conn, session_id)
    _check_users(users)
    conn.execute(SET_USERS, [orjson.dumps(list(dict.fromkeys(users))).decode(), now, session_id])
    updated = get(conn, session_id)
    audit.record_session(conn, "set-assigned-users", previous=old, new=updated, time=now)
    return updated


def set_reviewers_per_item(
    conn: duckdb.DuckDBPyConnection, session_id: str, reviewers: int | None, now: datetime
) -> Session:
    old = get(conn, session_id)
    conn.execute(SET_REVIEWERS, [_check_reviewers(reviewers), now, session_id])
    updated = get(conn, session_id)
    audit.record_session(conn, "set-reviewers-per-item", previous=old, new=updated, time=now)
    return updated


def _check_reviewers(reviewers: int | None) -> int | None:
    if reviewers is not None and not 1 <= reviewers <= MAX_USERS:
        raise InvalidParameter(
            f"Invalid value {reviewers} for parameter 'reviewers_per_item': must be between 1 and {MAX_USERS}."
        )
    return reviewers


def rename_schema(conn: duckdb.DuckDBPyConnection, experiment_id: str, old: str, new: str, now: datetime) -> None:
    """A renamed label schema keeps its place in every session of its experiment (sessions name
    their schemas); part of the rename's writer job (``label_schema_update.update``)."""
    for session_id, raw in conn.execute(SCHEMAS_OF, [experiment_id]).fetchall():
        names = orjson.loads(raw)
        if old in names:
            renamed = list(dict.fromkeys(new if name == old else name for name in names))
            conn.execute(SET_SCHEMAS, [orjson.dumps(renamed).decode(), now, session_id])


def delete(conn: duckdb.DuckDBPyConnection, session_id: str) -> bool:
    """Delete the session and its item rows; the copied traces, and the labels on them, stay."""
    rows = conn.execute(GET, [session_id]).fetchall()
    if not rows:
        return False
    audit.record_session(conn, "delete", previous=_session(conn, rows[0]))  # same transaction as the delete
    for sql in DELETE_SESSION.values():
        conn.execute(sql, [session_id])
    return True


def add_traces(
    conn: duckdb.DuckDBPyConnection, session_id: str, source_ids: list[str], now: datetime
) -> list[tuple[str, str, bool]]:
    """Copy each source trace into the session; ``(source, copy, added)`` per source, in order.

    A source already in the session keeps its copy (``added`` False), so adding twice is harmless;
    so does one of the session's own copies (``search_traces()`` over the experiment finds them too).
    An unknown source raises ``NotFound`` and nothing is written (``labeling_copy.add_copies``).
    A review queue holds the traces themselves: they are attached, not copied (source = item).
    """
    session = get(conn, session_id)
    if session.is_queue:
        # imported here: review_queue_items builds on review_queues, which builds on this module
        from annotrace.collector.store.queries import review_queue_items

        before = set(review_queue_items.already_attached(conn, session_id, source_ids))
        added = review_queue_items.add(conn, session_id, source_ids, now)
        return [(item.item_id, item.item_id, item.item_id not in before) for item in added]
    done = labeling_copy.add_copies(conn, session.session_id, session.experiment_id, source_ids, now)
    audit.record_items(conn, "add", session, [copy for _, copy, added in done if added], now)
    return done


def _check_users(users: list[str]) -> None:
    if len(users) > MAX_USERS:
        raise InvalidParameter(f"Invalid value for parameter 'assigned_users': more than {MAX_USERS} users.")
    for user in users:
        problem = name_problem(user)
        if not user.strip() or len(user) > label_schemas_queries.MAX_NAME_CHARS or problem:
            why = f" ({problem})" if problem else ""
            raise InvalidParameter(f"Invalid value for parameter 'assigned_users': bad user name {user!r}{why}.")
