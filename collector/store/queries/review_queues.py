"""MLflow OSS review queues (3.14+, ``mlflow.genai.review_queues``) as labeling sessions.

One review model (ARCHITECTURE 4): a queue is a ``labeling_sessions`` row with ``queue_type`` set
and an ``rq-`` id, so the Review App, the progress counts, agreement and every reader of sessions
see queues with no second code path. What differs lives in the queue's columns (schema 0040):
its items are the traces themselves (``review_queue_items.py``), its users are lowercased, a
USER queue asks every schema of its experiment (resolved at read time by ``labeling._session``),
and names are unique per experiment case-insensitively, checked inside the writer job so two
racing creates cannot both win.

The rules and their wording are MLflow's (``mlflow/genai/review_queues/validation.py`` and the
SQLAlchemy store of 3.18), because the stock client shows these messages to its users.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import AlreadyExists, InvalidParameter, NotFound
from annotrace.collector.store.queries import audit, experiments, labeling

PREFIX = "rq-"
QUEUE_TYPES = ("user", "custom")
QUEUE_NAME_MAX_LENGTH = 250
USER_MAX_LENGTH = 250
SCHEMA_ID_MAX_LENGTH = 36
MAX_ASSIGNED_USERS = 10
RESERVED_QUEUE_NAME = "default"

QUEUES = (
    f"SELECT {labeling.SESSION_COLUMNS} FROM labeling_sessions WHERE experiment_id = ? "
    "AND queue_type IS NOT NULL ORDER BY create_time DESC, session_id"
)
BY_NAME = (
    f"SELECT {labeling.SESSION_COLUMNS} FROM labeling_sessions WHERE experiment_id = ? "
    "AND queue_type IS NOT NULL AND lower(name) = lower(?)"
)
WITH_ITEM = "SELECT DISTINCT session_id FROM labeling_items WHERE trace_id = ?"
SCHEMA_IDS = "SELECT name, schema_id FROM label_schemas WHERE experiment_id = ?"
UPDATE = (
    "UPDATE labeling_sessions SET name = ?, assigned_users = ?, label_schemas = ?, created_by = ?, "
    "last_update_time = ? WHERE session_id = ?"
)
ITEM_COUNT = "SELECT count(*) FROM labeling_items WHERE session_id = ?"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewQueue:
    experiment_id: str
    name: str
    queue_type: str
    users: list[str]
    schema_ids: list[str]
    created_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuePatch:
    """MLflow's update: None leaves a field as it is (``users``/``schema_ids`` [] clears them)."""

    name: str | None = None
    new_owner: str | None = None
    users: list[str] | None = None
    schema_ids: list[str] | None = None


# -- MLflow's validation (validation.py), messages word for word ------------------------------------
def _non_empty(value: str, field: str, max_length: int) -> None:
    if not value:
        raise InvalidParameter(f"`{field}` must be a non-empty string; got {value!r}.")
    if len(value) > max_length:
        raise InvalidParameter(f"`{field}` must be at most {max_length} characters; got {len(value)}.")


def normalize_user(user: str) -> str:
    """Lowercased and stripped: MLflow matches queue users to assessment source ids this way."""
    return user.strip().lower()


def normalize_users(users: list[str]) -> list[str]:
    normalized = []
    for user in users:
        one = normalize_user(user)
        _non_empty(one, "user", USER_MAX_LENGTH)
        normalized.append(one)
    deduped = list(dict.fromkeys(normalized))
    if len(deduped) > MAX_ASSIGNED_USERS:
        raise InvalidParameter(
            f"A review queue can have at most {MAX_ASSIGNED_USERS} assigned users; got {len(deduped)}."
        )
    return deduped


def normalize_schema_ids(schema_ids: list[str]) -> list[str]:
    normalized = []
    for schema_id in schema_ids:
        one = schema_id.strip()
        _non_empty(one, "schema_id", SCHEMA_ID_MAX_LENGTH)
        normalized.append(one)
    return list(dict.fromkeys(normalized))


def custom_queue_name(name: str) -> str:
    normalized = name.strip()
    _non_empty(normalized, "name", QUEUE_NAME_MAX_LENGTH)
    if normalized.lower() == RESERVED_QUEUE_NAME:
        raise InvalidParameter(f"`{normalized}` is a reserved queue name and cannot be used for a custom queue.")
    return normalized


def queue_owner(owner: str) -> str:
    stripped = owner.strip()
    _non_empty(stripped, "new_owner", USER_MAX_LENGTH)
    return stripped


def checked(new: NewQueue) -> NewQueue:
    """``new`` normalized, with the user-vs-custom invariants of MLflow's ``validate_queue_for_create``."""
    users = normalize_users(new.users)
    schema_ids = normalize_schema_ids(new.schema_ids)
    if new.queue_type == "user":
        name = normalize_user(new.name)
        _non_empty(name, "name", QUEUE_NAME_MAX_LENGTH)
        if not users:
            users = [name]
        elif users != [name]:
            raise InvalidParameter(
                "A user queue must have exactly one assigned user equal to its name; "
                f"got name={name!r} and users={users!r}."
            )
        if schema_ids:
            raise InvalidParameter(
                "A user queue cannot have explicitly-attached schemas; it resolves to all of the experiment's "
                "label schemas."
            )
    else:
        name = custom_queue_name(new.name)
    return NewQueue(
        experiment_id=new.experiment_id,
        name=name,
        queue_type=new.queue_type,
        users=users,
        schema_ids=schema_ids,
        created_by=new.created_by,
    )


# -- reads ---------------------------------------------------------------------------------------
def _queue(cursor: duckdb.DuckDBPyConnection, row: tuple[Any, ...]) -> labeling.Session:
    return labeling.list_from_rows(cursor, [row])[0]


def get(cursor: duckdb.DuckDBPyConnection, queue_id: str) -> labeling.Session:
    rows = cursor.execute(labeling.GET, [queue_id]).fetchall()
    found = labeling.list_from_rows(cursor, rows)
    if not found or not found[0].is_queue:
        raise NotFound(f"Review queue with id '{queue_id}' not found.")
    return found[0]


def get_by_name(cursor: duckdb.DuckDBPyConnection, experiment_id: str, name: str) -> labeling.Session:
    experiments.get(cursor, experiment_id)
    rows = cursor.execute(BY_NAME, [experiment_id, name]).fetchall()
    if not rows:
        raise NotFound(f"Review queue with name '{name}' not found for experiment '{experiment_id}'.")
    return _queue(cursor, rows[0])


def list_queues(
    cursor: duckdb.DuckDBPyConnection,
    experiment_id: str,
    *,
    user: str | None,
    item_id: str | None,
    limit: int,
    offset: int,
) -> list[labeling.Session]:
    """Newest first; ``user``: queues that user is assigned to; ``item_id``: queues holding that trace.
    Returns up to ``limit + 1`` so the caller knows whether there is a next page."""
    experiments.get(cursor, experiment_id)
    found = labeling.list_from_rows(cursor, cursor.execute(QUEUES, [experiment_id]).fetchall())
    if user is not None:
        found = [q for q in found if normalize_user(user) in q.assigned_users]
    if item_id is not None:
        holding = {row[0] for row in cursor.execute(WITH_ITEM, [item_id]).fetchall()}
        found = [q for q in found if q.session_id in holding]
    return found[offset : offset + limit + 1]


def schema_ids(cursor: duckdb.DuckDBPyConnection, queue: labeling.Session) -> list[str]:
    """The ids of a CUSTOM queue's schemas, sorted as MLflow lists them; [] for a USER queue."""
    if queue.queue_type == "user":
        return []
    ids = dict(cursor.execute(SCHEMA_IDS, [queue.experiment_id]).fetchall())
    return sorted(ids[name] for name in queue.label_schemas if name in ids)


def _schema_names(conn: duckdb.DuckDBPyConnection, experiment_id: str, ids: list[str]) -> list[str]:
    by_id = {schema_id: name for name, schema_id in conn.execute(SCHEMA_IDS, [experiment_id]).fetchall()}
    if missing := [schema_id for schema_id in ids if schema_id not in by_id]:
        raise InvalidParameter(f"Label schema id(s) {missing} not found for experiment '{experiment_id}'.")
    return [by_id[schema_id] for schema_id in ids]


# -- writer jobs ---------------------------------------------------------------------------------
def create(conn: duckdb.DuckDBPyConnection, new: NewQueue, now: datetime) -> labeling.Session:
    new = checked(new)
    experiments.get(conn, new.experiment_id)
    names = _schema_names(conn, new.experiment_id, new.schema_ids)
    if conn.execute(BY_NAME, [new.experiment_id, new.name]).fetchall():
        raise AlreadyExists(f"Review queue with name '{new.name}' already exists (names are case-insensitive).")
    queue_id = PREFIX + uuid.uuid4().hex
    conn.execute(
        labeling.INSERT,
        [
            queue_id,
            new.experiment_id,
            new.name,
            orjson.dumps(new.users).decode(),
            None,
            orjson.dumps(names).decode(),
            False,
            None,
            now,
            now,
            new.queue_type,
            new.created_by,
            None,
        ],
    )
    created = get(conn, queue_id)
    audit.record(conn, action="create", object_type="review_queue", object_id=queue_id, new=asdict(created), time=now)
    return created


def get_or_create_user_queue(
    conn: duckdb.DuckDBPyConnection, experiment_id: str, user: str, now: datetime
) -> labeling.Session:
    """Idempotent: the user's queue, created on first call (MLflow's ``get_or_create_user_queue``)."""
    name = normalize_user(user)
    try:
        return create(
            conn,
            NewQueue(
                experiment_id=experiment_id, name=name, queue_type="user", users=[], schema_ids=[], created_by=name
            ),
            now,
        )
    except AlreadyExists:
        existing = get_by_name(conn, experiment_id, name)
        if existing.queue_type != "user":
            raise AlreadyExists(
                f"A non-user queue named '{name}' already exists; cannot get-or-create a user queue with that name."
            ) from None
        return existing


def update(conn: duckdb.DuckDBPyConnection, queue_id: str, patch: QueuePatch, now: datetime) -> labeling.Session:
    queue = get(conn, queue_id)
    if queue.queue_type == "user":
        raise InvalidParameter(
            "A user queue's name, assigned user, schemas, and owner are fixed and cannot be updated."
        )
    if patch == QueuePatch():
        return queue
    owner = queue_owner(patch.new_owner) if patch.new_owner is not None else queue.created_by
    name = queue.name
    if patch.name is not None:
        name = custom_queue_name(patch.name)
        if name.lower() != queue.name.lower() and conn.execute(BY_NAME, [queue.experiment_id, name]).fetchall():
            raise AlreadyExists(f"Review queue with name '{name}' already exists (names are case-insensitive).")
    users = normalize_users(patch.users) if patch.users is not None else queue.assigned_users
    schemas = queue.label_schemas
    if patch.schema_ids is not None:
        if conn.execute(ITEM_COUNT, [queue_id]).fetchall()[0][0] > 0:
            raise InvalidParameter(
                "A review queue's questions are locked once items are assigned to it. Remove the items before "
                "changing its questions."
            )
        schemas = _schema_names(conn, queue.experiment_id, normalize_schema_ids(patch.schema_ids))
    conn.execute(UPDATE, [name, orjson.dumps(users).decode(), orjson.dumps(schemas).decode(), owner, now, queue_id])
    updated = get(conn, queue_id)
    audit.record(
        conn,
        action="update",
        object_type="review_queue",
        object_id=queue_id,
        previous=asdict(queue),
        new=asdict(updated),
        time=now,
    )
    return updated


def delete(conn: duckdb.DuckDBPyConnection, queue_id: str) -> None:
    """No-op when the queue does not exist; the traces and the answers on them stay."""
    rows = conn.execute(labeling.GET, [queue_id]).fetchall()
    if rows and labeling.list_from_rows(conn, rows)[0].is_queue:
        labeling.delete(conn, queue_id)
