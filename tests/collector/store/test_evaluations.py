"""Evaluation results -> assessments: the pure extraction, and the writer step on a real DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from annotrace.collector.genai.evaluations import EVENT, evaluation_table
from annotrace.collector.genai.log_events import ChatEvents
from annotrace.collector.genai.staging import stage
from annotrace.collector.store.db import Database
from annotrace.collector.store.queries import assessment_rows
from annotrace.collector.store.queries import assessments as store
from annotrace.collector.store.writer import Writer
from annotrace.collector.telemetry import Batch, SpanBatch

TRACE = "tr-" + "a" * 32
SPAN = "b" * 16
T_NS = 1_750_000_000_123_456_789
EVAL = {
    "gen_ai.evaluation.name": "relevance",
    "gen_ai.evaluation.score.value": 4.0,
    "gen_ai.evaluation.score.label": "relevant",
    "gen_ai.evaluation.explanation": "on topic",
    "gen_ai.response.id": "chatcmpl-1",
    "gen_ai.evaluation.evaluator": "gpt-judge",
    "n": 3,
}


def logs(*records: dict[str, Any]) -> Batch:
    batch = Batch()
    out = batch.logs
    for i, r in enumerate(records):
        out.record_id.append(r.get("record_id", f"{i:032x}"))
        out.experiment.append("id:0")
        out.time_ns.append(r.get("time_ns", T_NS))
        out.observed_ns.append(None)
        out.trace_id.append(r.get("trace_id", TRACE))
        out.span_id.append(r.get("span_id", SPAN))
        out.severity_number.append(0)
        out.severity_text.append(None)
        out.event_name.append(r.get("event_name", EVENT))
        out.body.append(None)
        out.attributes.append(r.get("attributes", EVAL))
        out.resource.append({})
        out.scope_name.append(None)
    return batch


def spans(
    attributes: dict[str, Any],
    events: list[tuple[str, dict[str, Any]]] = (),
    *,
    span_type: str = "LLM",
    links: list[tuple[str, str]] = (),
) -> Batch:
    batch = Batch()
    s: SpanBatch = batch.spans
    s.trace_id.append(TRACE)
    s.span_id.append(SPAN)
    s.start_ns.append(T_NS - 10)
    s.end_ns.append(T_NS)
    s.attributes.append(attributes)
    s.span_type.append(span_type)
    s.events.extend((0, i, T_NS - 5, name, attrs) for i, (name, attrs) in enumerate(events))
    s.links.extend((0, i, trace, span, None, {}) for i, (trace, span) in enumerate(links))
    return batch


def rows(batch: Batch) -> list[dict[str, Any]]:
    table = evaluation_table(batch)
    return [] if table is None else table.to_pylist()


def test_log_record_maps_to_feedback_row() -> None:
    [row] = rows(logs({}))
    assert row["assessment_id"].startswith("a-") and len(row["assessment_id"]) == 34
    assert (row["trace_id"], row["span_id"], row["assessment_name"]) == (TRACE, SPAN, "relevance")
    assert orjson.loads(row["value"]) == 4.0  # the score wins over the label
    assert (row["rationale"], row["source_type"], row["source_id"]) == ("on topic", "LLM_JUDGE", "gpt-judge")
    assert orjson.loads(row["metadata"]) == {
        "gen_ai.evaluation.score.label": "relevant",
        "n": "3",
        "gen_ai.response.id": "chatcmpl-1",
        "annotrace.ingested_from": "otel.log_record",
    }
    assert row["time"] == datetime(2025, 6, 15, 15, 6, 40, 123000)
    assert rows(logs({})) == [row]  # the same record -> the same id


def test_label_source_type_error_and_skips() -> None:
    base = {"gen_ai.evaluation.name": "ok"}
    [label, human, custom, failed, trace_level] = rows(
        logs(
            {"attributes": {**base, "gen_ai.evaluation.score.label": "true"}},
            {
                "attributes": {
                    **base,
                    "gen_ai.evaluation.score.value": 1,
                    "annotrace.assessment.source_type": "human",
                    "annotrace.assessment.source_id": "ann@example.com",
                }
            },
            {"attributes": {**base, "gen_ai.evaluation.score.label": "pass", "annotator_kind": "crowd"}},
            {"attributes": {**base, "error.type": "RATE_LIMIT"}},
            {"attributes": {**base, "gen_ai.evaluation.score.value": 0.5}, "span_id": None},
            {"attributes": {"gen_ai.evaluation.score.value": 1}},  # no name
            {"attributes": base},  # nothing to say
            {"trace_id": None},  # no target
            {"event_name": "gen_ai.choice"},
        )
    )
    assert orjson.loads(label["value"]) == "true"  # labels stay strings
    assert (human["source_type"], human["source_id"]) == ("HUMAN", "ann@example.com")
    assert custom["source_type"] == "SOURCE_TYPE_UNSPECIFIED"
    assert orjson.loads(custom["metadata"])["annotator_kind"] == "crowd"
    assert (failed["value"], failed["error_code"]) == (None, "RATE_LIMIT")
    assert trace_level["span_id"] is None


def test_span_event_targets_its_span_or_the_carrier_link() -> None:
    [own] = rows(spans({}, [("other", {}), (EVENT, EVAL)]))
    assert (own["trace_id"], own["span_id"]) == (TRACE, SPAN)
    assert orjson.loads(own["metadata"])["annotrace.ingested_from"] == "otel.span_event"
    target = ("tr-" + "c" * 32, "d" * 16)
    [linked] = rows(
        spans({"openinference.span.kind": "EVALUATOR"}, [(EVENT, EVAL)], span_type="EVALUATOR", links=[target])
    )
    assert (linked["trace_id"], linked["span_id"]) == target
    [named] = rows(spans({}, [(EVENT, {**EVAL, "annotrace.assessment.span_id": "e" * 16})]))
    assert named["span_id"] == "e" * 16


def test_openinference_annotations() -> None:
    attrs = {
        "openinference.span.kind": "EVALUATOR",
        "annotations.0.annotation.name": "correctness",
        "annotations.0.annotation.label": "correct",
        "annotations.0.annotation.annotator_kind": "LLM",
        "annotations.0.annotation.identifier": "x1",
        "annotations.0.annotation.metadata": '{"model": "m"}',
        "evaluations.1.evaluation.name": "toxicity",
        "evaluations.1.evaluation.score": 0.1,
        "trace.annotations.0.annotation.name": "overall",
        "trace.annotations.0.annotation.explanation": "fine",
        "session.annotations.0.annotation.name": "skipped",
    }
    found = {r["assessment_name"]: r for r in rows(spans(attrs, links=[("tr-" + "c" * 32, "d" * 16)]))}
    assert set(found) == {"correctness", "toxicity", "overall"}
    assert orjson.loads(found["correctness"]["value"]) == "correct"
    assert found["correctness"]["source_type"] == "LLM_JUDGE"
    assert orjson.loads(found["correctness"]["metadata"]) == {
        "identifier": "x1",
        "metadata.model": "m",
        "annotrace.ingested_from": "openinference.span",
    }
    assert orjson.loads(found["toxicity"]["value"]) == 0.1
    assert found["toxicity"]["span_id"] == "d" * 16 and found["overall"]["span_id"] is None
    assert found["overall"]["trace_id"] == "tr-" + "c" * 32 and found["overall"]["value"] is None


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    db = Database(tmp_path / "eval.duckdb")
    running = Writer(db, chat=ChatEvents())
    running.start()
    yield running
    running.shutdown()
    db.close()


def test_writer_stores_once_before_the_trace_and_never_resurrects(writer: Writer) -> None:
    batch = stage(logs({}))
    assert writer.write(batch, group=False).result(timeout=30).assessments == 1
    assert writer.write(stage(logs({})), group=False).result(timeout=30).assessments == 0  # a retry
    cursor = writer.db.cursor()
    [stored] = store.for_traces(cursor, [TRACE])[TRACE]  # stored though the trace is not
    assert (stored.kind, stored.value, stored.source_type, stored.valid, stored.version) == (
        "feedback",
        4.0,
        "LLM_JUDGE",
        True,
        1,
    )
    assert stored.create_time == stored.last_update_time == datetime(2025, 6, 15, 15, 6, 40, 123000)
    [(version, operation, snap)] = cursor.execute(
        "SELECT version, operation, snapshot FROM assessment_history WHERE assessment_id = ?", [stored.assessment_id]
    ).fetchall()
    assert (version, operation, orjson.loads(snap)) == (1, "create", assessment_rows.snapshot(stored))
    assert cursor.execute("SELECT value_label, value_number FROM assessments").fetchall() == [("4.0", 4.0)]
    writer.submit(lambda conn: conn.execute("DELETE FROM assessments")).result(timeout=30)
    assert writer.write(stage(logs({})), group=False).result(timeout=30).assessments == 0  # stays deleted
