"""Assessment writer jobs on a real Writer and DuckDB file: all-or-nothing, override semantics,
update rules, and the history that keeps every version."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.genai.log_events import ChatEvents
from annotrace.collector.store.db import Database
from annotrace.collector.store.queries import assessment_rows
from annotrace.collector.store.queries import assessments as store
from annotrace.collector.store.queries import traces as trace_store
from annotrace.collector.store.queries.assessments import AssessmentError, AssessmentPatch, NewAssessment
from annotrace.collector.store.writer import Writer

TRACE = "tr-" + "1" * 32
SPAN = "2" * 16
NOW = datetime(2025, 6, 1, 10, 0, 0)


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    db = Database(tmp_path / "jobs.duckdb")
    db.conn.execute(
        "INSERT INTO traces (trace_id, experiment_id, state, request_time, end_time, execution_duration_ms, tags, "
        "trace_metadata, span_count, error_span_count, last_update_time, trace_key) VALUES ($1, '0', 'OK', $2, $3, 1, "
        "'{}', '{}', 1, 0, $4, coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0))",
        [TRACE, NOW, NOW, NOW],
    )
    db.conn.execute(
        "INSERT INTO spans (trace_id, span_id, experiment_id, name, kind, span_type, start_time, end_time, "
        "duration_ms, start_time_unix_nano, end_time_unix_nano, status_code, attributes, resource_attributes) "
        "VALUES (?, ?, '0', 's', 'INTERNAL', 'LLM', ?, ?, 1, 0, 1, 'OK', '{}', '{}')",
        [TRACE, SPAN, NOW, NOW],
    )
    running = Writer(db, chat=ChatEvents())
    running.start()
    yield running
    running.shutdown()
    db.close()


def run(writer: Writer, job: Any, *args: Any, **kwargs: Any) -> Any:
    return writer.submit(lambda conn: job(conn, *args, **kwargs)).result(timeout=30)


def count(writer: Writer, table: str) -> int:
    cursor = writer.db.cursor()
    try:
        return int(cursor.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    finally:
        cursor.close()


def new(**fields: Any) -> NewAssessment:
    return NewAssessment(**{"trace_id": TRACE, "name": "quality", "kind": "feedback", "value": 3, **fields})


def test_refused_create_writes_nothing(writer: Writer) -> None:
    with pytest.raises(NotFound):
        run(writer, store.create, new(overrides="a-" + "9" * 32), "a-" + "1" * 32, NOW)
    with pytest.raises(InvalidParameter, match=re.escape("assessment.span_id")):
        run(writer, store.create, new(span_id="f" * 16), "a-" + "1" * 32, NOW)
    with pytest.raises(NotFound, match="Trace with ID"):
        run(writer, store.create, new(trace_id="tr-" + "3" * 32), "a-" + "1" * 32, NOW)
    assert count(writer, "assessments") == 0 and count(writer, "assessment_history") == 0


def test_override_invalidates_and_delete_restores(writer: Writer) -> None:
    old = run(writer, store.create, new(), "a-" + "1" * 32, NOW)
    newer = run(writer, store.create, new(value=5, overrides=old.assessment_id), "a-" + "2" * 32, NOW)
    cursor = writer.db.cursor()
    assert store.get(cursor, TRACE, old.assessment_id).valid is False
    assert newer.valid is True and newer.overrides == old.assessment_id
    assert run(writer, store.delete, TRACE, newer.assessment_id, NOW) is True
    assert store.get(cursor, TRACE, old.assessment_id).valid is True
    assert run(writer, store.delete, TRACE, newer.assessment_id, NOW) is False
    history = store.history(cursor, TRACE, old.assessment_id)
    assert [(h.version, h.operation, h.caused_by) for h in history] == [
        (1, "create", None),
        (2, "invalidate", newer.assessment_id),
        (3, "restore", newer.assessment_id),
    ]
    assert [h.operation for h in store.history(cursor, TRACE, newer.assessment_id)] == ["create", "delete"]
    cursor.close()


def test_update_rules(writer: Writer) -> None:
    created = run(
        writer,
        store.create,
        new(span_id=SPAN, metadata={"a": "1"}, rationale="r", error=None, source_type="HUMAN", source_id="bob"),
        "a-" + "1" * 32,
        NOW,
    )
    patch = AssessmentPatch(
        kind="feedback", value=None, error=AssessmentError(error_code="TIMEOUT"), metadata={"b": "2"}
    )
    updated = run(writer, store.update, TRACE, created.assessment_id, patch, NOW)  # same clock: still moves on
    assert updated.value is None and updated.error == AssessmentError(error_code="TIMEOUT")
    assert updated.metadata == {"a": "1", "b": "2"} and updated.rationale == "r"
    assert (updated.source_type, updated.source_id, updated.span_id) == ("HUMAN", "bob", SPAN)
    assert updated.create_time == NOW and updated.last_update_time == NOW + timedelta(milliseconds=1)
    with pytest.raises(InvalidParameter, match=re.escape("Cannot update expectation value on a Feedback assessment.")):
        run(writer, store.update, TRACE, created.assessment_id, AssessmentPatch(kind="expectation", value=1), NOW)
    with pytest.raises(NotFound, match="not found for trace"):
        run(writer, store.update, TRACE, "a-" + "0" * 32, AssessmentPatch(name="x"), NOW)


def test_deleting_a_trace_removes_its_assessments_and_history(writer: Writer) -> None:
    run(writer, store.create, new(), "a-" + "1" * 32, NOW)
    assert run(writer, trace_store.delete_traces, "0", trace_ids=[TRACE]) == 1
    for table in ("traces", "spans", "assessments", "assessment_history"):
        assert count(writer, table) == 0, table


def test_value_columns() -> None:
    assert assessment_rows.value_columns(None) == (None, None, None)
    assert assessment_rows.value_columns(True) == ("true", "true", 1.0)
    assert assessment_rows.value_columns(4) == ("4", "4", 4.0)
    assert assessment_rows.value_columns("yes") == ('"yes"', "yes", None)
    assert assessment_rows.value_columns(["a"]) == ('["a"]', '["a"]', None)
