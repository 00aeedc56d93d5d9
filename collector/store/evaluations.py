"""Writer step: staged evaluation results (``genai/evaluations.py``) -> ``assessments`` + history.

Runs inside ``SpanWrites.write`` (``store.span_writes``), in the batch's transaction, so the spans, logs and the
assessments they carry are stored together or not at all. Rows are written exactly as the REST
layer's ``queries.assessments.create`` writes them (same value shadow columns, same history
snapshot, built by the same functions), so GET, search filters and history cannot tell them apart.

- No trace check: an evaluation may arrive before the span it assesses (logs and spans travel
  separately). Assessments are linked rows keyed by trace/span id, so it is stored at once and
  shows up in the trace's assessments as soon as the trace is stored.
- Idempotent: ids are derived from the source record, and an id already in ``assessments`` *or*
  in ``assessment_history`` is skipped. The history check means a replayed export neither
  duplicates an assessment nor resurrects one a user deleted, nor undoes a user's update.
  Its cost is one scan of ``assessment_history.assessment_id``, paid only by batches that carry
  evaluation results.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from annotrace.collector.store.db import registered
from annotrace.collector.store.queries.assessment_rows import snapshot, value_columns
from annotrace.collector.store.queries.assessments import Assessment, AssessmentError

if TYPE_CHECKING:
    import duckdb

__all__ = ["write_evaluations"]

NEW_EVALUATIONS = """
SELECT s.* FROM batch_evaluations s
ANTI JOIN assessments a USING (assessment_id)
ANTI JOIN (SELECT DISTINCT assessment_id FROM assessment_history) h USING (assessment_id)
"""
INSERT_ASSESSMENTS = (
    "INSERT INTO assessments BY NAME "
    "SELECT *, coalesce(try_cast('0x' || right(trace_id, 16) AS UBIGINT), 0) AS trace_key FROM evaluations_new"
)
INSERT_HISTORY = "INSERT INTO assessment_history BY NAME SELECT * FROM evaluations_history"
_STR = pa.string()


def write_evaluations(conn: duckdb.DuckDBPyConnection, evaluations: pa.Table | None) -> int:
    """Store the staged evaluations not seen before; returns how many were new."""
    if evaluations is None or not evaluations.num_rows:
        return 0
    with registered(conn, batch_evaluations=evaluations):
        rows = conn.execute(NEW_EVALUATIONS).fetchall()
    if not rows:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # MLflow times are milliseconds
    created = [_assessment(row) for row in rows]
    shadows = [value_columns(a.value) for a in created]
    tables = {
        "evaluations_new": pa.table(
            {
                "assessment_id": [a.assessment_id for a in created],
                "trace_id": [a.trace_id for a in created],
                "span_id": pa.array([a.span_id for a in created], _STR),
                "assessment_name": [a.name for a in created],
                "kind": [a.kind for a in created],
                "value": pa.array([s[0] for s in shadows], _STR),
                "value_label": pa.array([s[1] for s in shadows], _STR),
                "value_number": pa.array([s[2] for s in shadows], pa.float64()),
                "rationale": pa.array([a.rationale for a in created], _STR),
                "source_type": [a.source_type for a in created],
                "source_id": pa.array([a.source_id for a in created], _STR),
                "error_code": pa.array([a.error and a.error.error_code for a in created], _STR),
                "error_message": pa.array([None] * len(created), _STR),
                "error_stack_trace": pa.array([None] * len(created), _STR),
                "metadata": [orjson.dumps(a.metadata).decode() for a in created],
                "create_time": pa.array([a.create_time for a in created], pa.timestamp("us")),
                "last_update_time": pa.array([a.last_update_time for a in created], pa.timestamp("us")),
                "overrides": pa.array([None] * len(created), _STR),
                "valid": [True] * len(created),
                "version": pa.array([1] * len(created), pa.int32()),
            }
        ),
        "evaluations_history": pa.table(
            {
                "assessment_id": [a.assessment_id for a in created],
                "trace_id": [a.trace_id for a in created],
                "version": pa.array([1] * len(created), pa.int32()),
                "operation": ["create"] * len(created),
                "change_time": pa.array([now] * len(created), pa.timestamp("us")),  # when it was committed
                "caused_by": pa.array([None] * len(created), _STR),
                "snapshot": [orjson.dumps(snapshot(a)).decode() for a in created],
            }
        ),
    }
    with registered(conn, **tables):
        conn.execute(INSERT_ASSESSMENTS)
        conn.execute(INSERT_HISTORY)
    return len(created)


def _assessment(row: tuple[Any, ...]) -> Assessment:
    """A staged row (``genai/evaluations.py::SCHEMA`` order) as the REST layer's ``Assessment``."""
    key, trace_id, span_id, name, value, rationale, source_type, source_id, error_code, metadata, when = row
    error = AssessmentError(error_code=error_code) if error_code is not None else None
    return Assessment(
        key,
        trace_id,
        span_id,
        name,
        "feedback",
        None if value is None else orjson.loads(value),
        rationale,
        source_type,
        source_id,
        error,
        orjson.loads(metadata),
        when,
        when,
        None,
        True,
        1,
    )
