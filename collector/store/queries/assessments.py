"""Assessments (feedback and expectations): the reads, and the writer jobs that change them.

Each public ``create``/``update``/``delete`` is one writer job (``Writer.submit``): it checks the
trace, span and override target *inside* the transaction it writes in, so a request either
changes every row it must (the assessment, the row it overrides or restores, the history) or
none. Every change appends the new state to ``assessment_history``: ``assessments`` keeps
MLflow's current-state semantics (a deleted assessment is gone, an overridden one is
``valid = false``) and no earlier state is ever lost.

    create(B, overrides=A):  B valid, A.valid = false       history: B create, A invalidate
    delete(B):               B gone; A.valid = true again   history: B delete, A restore
                             (unless another row still overrides A)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import duckdb
import orjson

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.store.queries import audit
from annotrace.collector.store.queries.assessment_rows import snapshot, value_columns

Kind = Literal["feedback", "expectation"]
KIND_SWITCH = {  # MLflow's messages: an assessment never changes kind
    "expectation": "Cannot update expectation value on a Feedback assessment.",
    "feedback": "Cannot update feedback value on an Expectation assessment.",
}

COLUMNS = (
    "assessment_id, trace_id, span_id, assessment_name, kind, value, rationale, source_type, source_id, "
    "error_code, error_message, error_stack_trace, metadata, create_time, last_update_time, overrides, valid, version"
)
GET = (
    f"SELECT {COLUMNS} FROM assessments "
    "WHERE trace_key = coalesce(try_cast('0x' || right($2, 16) AS UBIGINT), 0) AND assessment_id = $1 AND trace_id = $2"
)
"""``assessments`` has no index (schema 0084): the key filter spares comparing every stored id."""
# list_contains, not IN (SELECT unnest(?)): measured 8 ms against 34 ms for a page of 100 traces
FOR_TRACES = (
    f"SELECT {COLUMNS} FROM assessments WHERE list_contains(?::VARCHAR[], trace_id) "
    "ORDER BY trace_id, create_time, assessment_id"
)
FOR_TRACE = (
    f"SELECT {COLUMNS} FROM assessments WHERE trace_key = coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0) "
    "AND trace_id = $1 ORDER BY create_time, assessment_id"
)
HISTORY = (
    "SELECT version, operation, change_time, caused_by, snapshot FROM assessment_history "
    "WHERE assessment_id = ? AND trace_id = ? ORDER BY version"
)
TRACE_EXISTS = (
    "SELECT 1 FROM traces WHERE trace_key = coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0) AND trace_id = $1"
)
"""``traces`` has no index (schema 0080): the key filter spares comparing every stored trace id."""
SPAN_EXISTS = "SELECT 1 FROM spans WHERE trace_id = ? AND span_id = ?"
INSERT = (
    "INSERT INTO assessments (assessment_id, trace_id, span_id, assessment_name, kind, value, value_label, "
    "value_number, rationale, source_type, source_id, error_code, error_message, error_stack_trace, metadata, "
    "create_time, last_update_time, overrides, valid, version, trace_key) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "coalesce(try_cast('0x' || right(?, 16) AS UBIGINT), 0))"
)
UPDATE = (
    "UPDATE assessments SET assessment_name = ?, value = ?, value_label = ?, value_number = ?, rationale = ?, "
    "error_code = ?, error_message = ?, error_stack_trace = ?, metadata = ?, last_update_time = ?, version = ? "
    "WHERE assessment_id = ?"
)
SET_VALID = "UPDATE assessments SET valid = ?, version = ? WHERE assessment_id = ?"
DELETE = "DELETE FROM assessments WHERE assessment_id = ?"
STILL_OVERRIDDEN = "SELECT 1 FROM assessments WHERE overrides = ? AND assessment_id != ?"
# Snapshots are built in Python from the state just written: one plain insert, no read-back
# (a to_json(row) + max(version) statement measured 10-20 ms per write here).
RECORD_HISTORY = "INSERT INTO assessment_history VALUES (?, ?, ?, ?, ?, ?, ?)"


@dataclass(frozen=True, slots=True, kw_only=True)
class AssessmentError:
    """Why a feedback has no value: the evaluator failed (MLflow ``AssessmentError``)."""

    error_code: str
    error_message: str | None = None
    stack_trace: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAssessment:
    """A validated create request; ``value is None`` only for a feedback that carries an error."""

    trace_id: str
    name: str
    kind: Kind
    value: Any
    error: AssessmentError | None = None
    rationale: str | None = None
    source_type: str = "SOURCE_TYPE_UNSPECIFIED"
    source_id: str | None = None
    span_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    overrides: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AssessmentPatch:
    """A validated update: only the fields named by ``update_mask`` are set.

    ``kind`` is set when the mask names ``feedback`` or ``expectation``: value and error are then
    replaced together (MLflow); ``rationale`` None keeps the stored one; ``metadata`` is merged
    into the stored keys.
    """

    name: str | None = None
    kind: Kind | None = None
    value: Any = None
    error: AssessmentError | None = None
    rationale: str | None = None
    metadata: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """One stored assessment, values decoded."""

    assessment_id: str
    trace_id: str
    span_id: str | None
    name: str
    kind: Kind
    value: Any
    rationale: str | None
    source_type: str
    source_id: str | None
    error: AssessmentError | None
    metadata: dict[str, str]
    create_time: datetime
    last_update_time: datetime
    overrides: str | None
    valid: bool
    version: int = 1


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    version: int
    operation: str
    change_time: datetime
    caused_by: str | None
    snapshot: dict[str, Any]


def _row(row: tuple[Any, ...]) -> Assessment:
    (
        assessment_id,
        trace_id,
        span_id,
        name,
        kind,
        value,
        rationale,
        source_type,
        source_id,
        error_code,
        error_message,
        stack_trace,
        metadata,
        create_time,
        last_update_time,
        overrides,
        valid,
        version,
    ) = row
    error = None
    if error_code is not None or error_message is not None or stack_trace is not None:
        error = AssessmentError(error_code=error_code or "", error_message=error_message, stack_trace=stack_trace)
    return Assessment(
        assessment_id,
        trace_id,
        span_id,
        name,
        kind,
        None if value is None else orjson.loads(value),
        rationale,
        source_type,
        source_id,
        error,
        orjson.loads(metadata) if metadata else {},
        create_time,
        last_update_time,
        overrides,
        bool(valid),
        int(version),
    )


# -- reads (request threads, own cursor) --------------------------------------------------------
def get(cursor: duckdb.DuckDBPyConnection, trace_id: str, assessment_id: str) -> Assessment:
    """The assessment, or NotFound naming whichever of trace and assessment is missing."""
    rows = cursor.execute(GET, [assessment_id, trace_id]).fetchall()
    if rows:
        return _row(rows[0])
    _require_trace(cursor, trace_id)
    raise NotFound(f"Assessment with ID '{assessment_id}' not found for trace '{trace_id}'")


def for_traces(cursor: duckdb.DuckDBPyConnection, trace_ids: Iterable[str]) -> dict[str, list[Assessment]]:
    """All assessments (valid or not, as MLflow returns them) of each trace, oldest first."""
    ids = list(trace_ids)
    out: dict[str, list[Assessment]] = {trace_id: [] for trace_id in ids}
    if not ids:
        return out
    query, params = (FOR_TRACE, [ids[0]]) if len(ids) == 1 else (FOR_TRACES, [ids])
    for row in cursor.execute(query, params).fetchall():
        out[row[1]].append(_row(row))
    return out


def of_trace(cursor: duckdb.DuckDBPyConnection, trace_id: str, *, valid_only: bool = False) -> list[Assessment]:
    """The assessments of one stored trace (NotFound if the trace is not stored)."""
    _require_trace(cursor, trace_id)
    found = for_traces(cursor, [trace_id])[trace_id]
    return [a for a in found if a.valid] if valid_only else found


def history(cursor: duckdb.DuckDBPyConnection, trace_id: str, assessment_id: str) -> list[HistoryEntry]:
    rows = cursor.execute(HISTORY, [assessment_id, trace_id]).fetchall()
    if not rows:
        _require_trace(cursor, trace_id)
        raise NotFound(f"Assessment with ID '{assessment_id}' not found for trace '{trace_id}'")
    return [HistoryEntry(v, op, t, by, orjson.loads(s)) for v, op, t, by, s in rows]


# -- writer jobs (run on the writer thread, inside its transaction) ------------------------------
def create(conn: duckdb.DuckDBPyConnection, new: NewAssessment, assessment_id: str, now: datetime) -> Assessment:
    """Insert ``new``; when it overrides another assessment, that one becomes invalid."""
    _require_trace(conn, new.trace_id)
    if new.span_id is not None and not conn.execute(SPAN_EXISTS, [new.trace_id, new.span_id]).fetchall():
        raise InvalidParameter(
            f"Invalid value for parameter 'assessment.span_id': span '{new.span_id}' is not a span of "
            f"trace '{new.trace_id}'"
        )
    overridden = None
    if new.overrides is not None:
        rows = conn.execute(GET, [new.overrides, new.trace_id]).fetchall()
        if not rows:
            raise NotFound(f"Assessment with ID '{new.overrides}' not found for trace '{new.trace_id}'")
        overridden = _row(rows[0])
    created = Assessment(
        assessment_id,
        new.trace_id,
        new.span_id,
        new.name,
        new.kind,
        new.value,
        new.rationale,
        new.source_type,
        new.source_id,
        new.error,
        dict(new.metadata),
        now,
        now,
        new.overrides,
        True,
        1,
    )
    value, label, number = value_columns(created.value)
    error = created.error
    conn.execute(
        INSERT,
        [
            assessment_id,
            created.trace_id,
            created.span_id,
            created.name,
            created.kind,
            value,
            label,
            number,
            created.rationale,
            created.source_type,
            created.source_id,
            error and error.error_code,
            error and error.error_message,
            error and error.stack_trace,
            orjson.dumps(created.metadata).decode(),
            now,
            now,
            created.overrides,
            True,
            1,
            created.trace_id,  # trace_key
        ],
    )
    _record(conn, created, "create", now)
    if overridden is not None and overridden.valid:
        _set_valid(conn, overridden, False, now, caused_by=assessment_id)
    return created


def update(
    conn: duckdb.DuckDBPyConnection, trace_id: str, assessment_id: str, patch: AssessmentPatch, now: datetime
) -> Assessment:
    """Apply ``patch``; source, span, create_time, overrides and valid never change."""
    old = get(conn, trace_id, assessment_id)
    if patch.kind is not None and patch.kind != old.kind:
        raise InvalidParameter(KIND_SWITCH[patch.kind])
    value, error = (patch.value, patch.error) if patch.kind is not None else (old.value, old.error)
    new = replace(
        old,
        name=patch.name if patch.name is not None else old.name,
        value=value,
        error=error,
        rationale=patch.rationale if patch.rationale is not None else old.rationale,
        metadata={**old.metadata, **(patch.metadata or {})},
        # strictly later than the previous change, so clients can order versions by time
        last_update_time=max(now, old.last_update_time + timedelta(milliseconds=1)),
        version=old.version + 1,
    )
    encoded, label, number = value_columns(new.value)
    conn.execute(
        UPDATE,
        [
            new.name,
            encoded,
            label,
            number,
            new.rationale,
            error and error.error_code,
            error and error.error_message,
            error and error.stack_trace,
            orjson.dumps(new.metadata).decode(),
            new.last_update_time,
            new.version,
            assessment_id,
        ],
    )
    _record(conn, new, "update", new.last_update_time, previous=old)
    return new


def delete(conn: duckdb.DuckDBPyConnection, trace_id: str, assessment_id: str, now: datetime) -> bool:
    """Delete (idempotent: False when already gone); an override's target becomes valid again."""
    _require_trace(conn, trace_id)
    rows = conn.execute(GET, [assessment_id, trace_id]).fetchall()
    if not rows:
        return False
    gone = _row(rows[0])
    _record(conn, replace(gone, version=gone.version + 1), "delete", now, previous=gone)
    conn.execute(DELETE, [assessment_id])
    if gone.overrides is not None:
        target = conn.execute(GET, [gone.overrides, trace_id]).fetchall()
        still = conn.execute(STILL_OVERRIDDEN, [gone.overrides, assessment_id]).fetchall()
        if target and not still and not _row(target[0]).valid:
            _set_valid(conn, _row(target[0]), True, now, caused_by=assessment_id)
    return True


def _set_valid(conn: duckdb.DuckDBPyConnection, a: Assessment, valid: bool, now: datetime, caused_by: str) -> None:
    changed = replace(a, valid=valid, version=a.version + 1)
    conn.execute(SET_VALID, [valid, changed.version, a.assessment_id])
    _record(conn, changed, "restore" if valid else "invalidate", now, caused_by=caused_by, previous=a)


def _require_trace(cursor: duckdb.DuckDBPyConnection, trace_id: str) -> None:
    if not cursor.execute(TRACE_EXISTS, [trace_id]).fetchall():
        raise NotFound(f"Trace with ID '{trace_id}' not found.")


def _record(
    conn: duckdb.DuckDBPyConnection,
    a: Assessment,
    operation: str,
    when: datetime,
    caused_by: str | None = None,
    previous: Assessment | None = None,
) -> None:
    """The assessment's own history row, and the audit trail's (who did it)."""
    conn.execute(
        RECORD_HISTORY,
        [a.assessment_id, a.trace_id, a.version, operation, when, caused_by, orjson.dumps(snapshot(a)).decode()],
    )
    audit.record(
        conn,
        action=operation,
        object_type="assessment",
        object_id=a.assessment_id,
        previous=None if previous is None else snapshot(previous),
        new=None if operation == "delete" else snapshot(a),
        time=when,
    )
