"""The items of a review queue: traces attached by id (no copy) with one shared workflow status.

Why apart from ``labeling_copy.py``: a labeling session copies its traces, a review queue points
at them (MLflow's ``review_queue_items``), so answers in a queue land on the trace itself and
show up wherever that trace does. Both kinds of item are ``labeling_items`` rows, so the Review
App reads them alike. The shared status follows MLflow's ``ReviewStatus``:

    pending --set-status complete|declined (by any assigned user)--> complete | declined
       ^------------------------ set-status pending (reopen) -----------------/

A same-status write is a no-op (the first completer keeps the attribution), writing an
assessment never moves it, and attaching an item again keeps its row and status.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.ids import trace_hex
from annotrace.collector.ids import trace_id as public_trace_id
from annotrace.collector.store.queries import audit, review_queues

STATUSES = ("pending", "complete", "declined")
ITEM_ID_MAX_LENGTH = 50

ITEM_COLUMNS = (
    "session_id, trace_id, status, create_time, coalesce(last_update_time, create_time), completed_by, completed_time"
)
IN_EXPERIMENT = "SELECT trace_id FROM traces WHERE experiment_id = ? AND trace_id IN (SELECT unnest(?::VARCHAR[]))"
ATTACHED = (
    f"SELECT {ITEM_COLUMNS} FROM labeling_items WHERE session_id = ? AND trace_id IN (SELECT unnest(?::VARCHAR[]))"
)
NEXT_POSITION = "SELECT coalesce(max(position) + 1, 0) FROM labeling_items WHERE session_id = ?"
INSERT = (
    "INSERT INTO labeling_items (session_id, trace_id, source_trace_id, position, create_time, status) "
    "VALUES (?, ?, ?, ?, ?, 'pending')"
)
REMOVE = {
    table: f"DELETE FROM {table} WHERE session_id = ? AND trace_id IN (SELECT unnest(?::VARCHAR[]))"
    for table in ("labeling_item_status", "labeling_items")
}
LIST = (
    f"SELECT {ITEM_COLUMNS} FROM labeling_items WHERE session_id = ? AND (?::VARCHAR IS NULL OR status = ?) "
    "ORDER BY create_time DESC, trace_id LIMIT ? OFFSET ?"
)
SET_STATUS = (
    "UPDATE labeling_items SET status = ?, completed_by = ?, completed_time = ?, last_update_time = ? "
    "WHERE session_id = ? AND trace_id = ?"
)


@dataclass(frozen=True, slots=True)
class QueueItem:
    queue_id: str
    item_id: str
    status: str  # pending | complete | declined
    create_time: datetime
    last_update_time: datetime
    completed_by: str | None
    completed_time: datetime | None


def item_ids(values: list[str]) -> list[str]:
    """MLflow's ``validate_item_ids_for_attach``: stripped, non-empty, de-duplicated, whole batch
    checked first; then each as the trace id we store (``tr-`` optional, as everywhere here). An
    id that is no trace id is kept as given: it cannot exist, and the caller says so."""
    if not values:
        raise InvalidParameter(f"`item_ids` must be a non-empty list; got {values!r}.")
    normalized = []
    for value in values:
        one = value.strip()
        if not one:
            raise InvalidParameter(f"`item_id` must be a non-empty string; got {one!r}.")
        if len(one) > ITEM_ID_MAX_LENGTH:
            raise InvalidParameter(f"`item_id` must be at most {ITEM_ID_MAX_LENGTH} characters; got {len(one)}.")
        try:
            one = public_trace_id(trace_hex(one, "item_id"))
        except InvalidParameter:
            pass
        normalized.append(one)
    return list(dict.fromkeys(normalized))


def _items(rows: list[tuple[Any, ...]]) -> list[QueueItem]:
    return [QueueItem(*row) for row in rows]


def add(conn: duckdb.DuckDBPyConnection, queue_id: str, ids: list[str], now: datetime) -> list[QueueItem]:
    """Attach traces of the queue's experiment, in input order; an attached one keeps its row and
    status (MLflow: idempotent). A trace missing from the experiment fails the whole call."""
    ids = item_ids(ids)
    queue = review_queues.get(conn, queue_id)
    found = {row[0] for row in conn.execute(IN_EXPERIMENT, [queue.experiment_id, ids]).fetchall()}
    if invalid := [i for i in ids if i not in found]:
        raise NotFound(
            f"Cannot attach trace(s) {invalid} to review queue '{queue_id}': they do not exist in "
            f"experiment '{queue.experiment_id}'."
        )
    attached = {row[1] for row in conn.execute(ATTACHED, [queue_id, ids]).fetchall()}
    position = conn.execute(NEXT_POSITION, [queue_id]).fetchall()[0][0]
    for item_id in ids:
        if item_id not in attached:
            conn.execute(INSERT, [queue_id, item_id, item_id, position, now])
            position += 1
    audit.record_items(conn, "add", queue, [i for i in ids if i not in attached], now)
    by_id = {item.item_id: item for item in _items(conn.execute(ATTACHED, [queue_id, ids]).fetchall())}
    return [by_id[i] for i in ids if i in by_id]


def already_attached(cursor: duckdb.DuckDBPyConnection, queue_id: str, ids: list[str]) -> list[str]:
    """Which of ``ids`` the queue already holds (so a caller can say that adding them was a no-op)."""
    return [row[1] for row in cursor.execute(ATTACHED, [queue_id, item_ids(ids)]).fetchall()]


def remove(conn: duckdb.DuckDBPyConnection, queue_id: str, ids: list[str]) -> None:
    """Detach; ids not attached are ignored. Answers on the traces stay (they are the traces')."""
    ids = item_ids(ids)
    queue = review_queues.get(conn, queue_id)
    audit.record_items(conn, "remove", queue, [row[1] for row in conn.execute(ATTACHED, [queue_id, ids]).fetchall()])
    for sql in REMOVE.values():
        conn.execute(sql, [queue_id, ids])


def list_items(
    cursor: duckdb.DuckDBPyConnection, queue_id: str, status: str | None, limit: int, offset: int
) -> list[QueueItem]:
    """Newest attached first (then by id); up to ``limit + 1`` rows, so the caller sees a next page."""
    review_queues.get(cursor, queue_id)
    return _items(cursor.execute(LIST, [queue_id, status, status, limit + 1, offset]).fetchall())


def set_status(
    conn: duckdb.DuckDBPyConnection, queue_id: str, item_id: str, status: str, completed_by: str | None, now: datetime
) -> QueueItem:
    """MLflow's ``set_review_queue_item_status``: ``completed_by`` required for complete/declined,
    refused for pending (reopen clears it); the same status again changes nothing."""
    item_id = item_id.strip()
    try:
        item_id = public_trace_id(trace_hex(item_id, "item_id"))
    except InvalidParameter:
        pass
    by = review_queues.normalize_user(completed_by) if completed_by is not None else None
    if status == "pending":
        if by is not None:
            raise InvalidParameter("`completed_by` must not be set when reopening an item to `pending`.")
    elif not by:
        raise InvalidParameter(f"`completed_by` is required when setting status to `{status}`.")
    if by is not None and len(by) > review_queues.USER_MAX_LENGTH:
        raise InvalidParameter(
            f"`completed_by` must be at most {review_queues.USER_MAX_LENGTH} characters; got {len(by)}."
        )
    review_queues.get(conn, queue_id)
    rows = conn.execute(ATTACHED, [queue_id, [item_id]]).fetchall()
    if not rows:
        raise NotFound(f"Item '{item_id}' is not attached to review queue '{queue_id}'.")
    item = _items(rows)[0]
    if item.status == status:
        return item
    done = None if status == "pending" else now
    conn.execute(SET_STATUS, [status, by, done, now, queue_id, item_id])
    changed = _items(conn.execute(ATTACHED, [queue_id, [item_id]]).fetchall())[0]
    audit.record(
        conn,
        action="set-status",
        object_type="review_queue_item",
        object_id=f"{queue_id}/{item_id}",
        previous=asdict(item),
        new=asdict(changed),
        time=now,
    )
    return changed
