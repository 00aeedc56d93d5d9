"""Adjudication: the items where labelers disagree, and the gold label an adjudicator records.

The queue (``disagreements``) is derived, not stored: an (item, schema) is in it while its
labelers' answers differ (for a numeric schema, while their spread is above ``threshold``), with
every answer and rationale side by side, and the gold label once there is one. A gold label is an
ordinary assessment (HUMAN, the adjudicator, metadata ``annotrace.gold`` = "true") that
``overrides`` the labelers' latest answer, so that answer turns invalid while every answer and
the history stay queryable, nothing deleted; recording gold again updates the gold assessment.
``sync(to_dataset=...)`` takes the gold label where one exists, else the labelers' consensus.
Agreement figures leave gold labels out (view ``labeling_labels``), so adjudicating does not
change how far the labelers agreed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.ids import new_assessment_id
from annotrace.collector.store.queries import assessments as assessments_queries
from annotrace.collector.store.queries import label_schemas, labeling, labeling_answers

GOLD_KEY = "annotrace.gold"
ANSWERS = (
    "SELECT l.trace_id, i.source_trace_id, i.position, l.label_schema, l.labeler, l.value, a.rationale, "
    "l.assessment_id, a.valid FROM labeling_labels l JOIN labeling_items i USING (session_id, trace_id) "
    "JOIN assessments a USING (assessment_id) WHERE l.session_id = ? ORDER BY i.position, l.labeler"
)
GOLDS = (
    "SELECT a.trace_id, a.assessment_name, a.assessment_id, a.value, a.source_id, a.rationale "
    "FROM assessments a JOIN labeling_items i ON i.trace_id = a.trace_id "
    "WHERE i.session_id = ? AND a.overrides IS NOT NULL AND a.valid "
    "AND json_extract_string(a.metadata, '$.\"annotrace.gold\"') = 'true'"
)


@dataclass(frozen=True, slots=True)
class Answer:
    labeler: str
    value: Any
    rationale: str | None
    assessment_id: str


@dataclass(frozen=True, slots=True)
class Gold:
    assessment_id: str
    value: Any
    adjudicator: str | None
    rationale: str | None


@dataclass(frozen=True, slots=True)
class Dispute:
    """One item and schema on which the labelers disagree."""

    trace_id: str
    source_trace_id: str
    schema: str
    answers: list[Answer] = field(default_factory=list)
    gold: Gold | None = None


def _differ(values: list[Any], input_type: str, threshold: float) -> bool:
    if len(values) < 2:
        return False
    if input_type == "numeric":
        numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return bool(numbers) and max(numbers) - min(numbers) > threshold
    if input_type in ("categorical_list", "text_list"):
        return len({tuple(sorted(map(str, v))) if isinstance(v, list) else str(v) for v in values}) > 1
    return len({orjson.dumps(v, option=orjson.OPT_SORT_KEYS) for v in values}) > 1


def disagreements(
    cursor: duckdb.DuckDBPyConnection, session_id: str, threshold: float = 0.0, *, include_resolved: bool = True
) -> list[Dispute]:
    """The adjudication queue of a session or review queue, in item order (then schema order)."""
    session = labeling.get(cursor, session_id)
    if not math.isfinite(threshold) or threshold < 0:
        raise InvalidParameter("Invalid value for parameter 'threshold': must be a number >= 0.")
    types = {s.name: s.input_type for s in label_schemas.list_schemas(cursor, session.experiment_id, 10_000, 0)}
    golds = {
        (t, n): Gold(i, orjson.loads(v), who, why)
        for t, n, i, v, who, why in cursor.execute(GOLDS, [session_id]).fetchall()
    }
    grouped: dict[tuple[str, str], tuple[str, int, list[Answer]]] = {}
    for trace_id, source, position, schema, labeler, value, rationale, aid, _valid in cursor.execute(
        ANSWERS, [session_id]
    ).fetchall():
        entry = grouped.setdefault((trace_id, schema), (source, position, []))
        entry[2].append(Answer(labeler, orjson.loads(value), rationale, aid))
    order = {name: i for i, name in enumerate(session.label_schemas)}
    out = []
    for (trace_id, schema), (source, _position, answers) in sorted(
        grouped.items(), key=lambda kv: (kv[1][1], order.get(kv[0][1], len(order)))
    ):
        gold = golds.get((trace_id, schema))
        if _differ([a.value for a in answers], types.get(schema, "text"), threshold) and (
            include_resolved or gold is None
        ):
            out.append(Dispute(trace_id, source, schema, answers, gold))
    return out


def record_gold(
    conn: duckdb.DuckDBPyConnection,
    session_id: str,
    trace_id: str,
    schema_name: str,
    adjudicator: str,
    value: Any,
    rationale: str | None,
    now: datetime,
) -> assessments_queries.Assessment:
    """Writer job: the gold label of ``schema_name`` on the item (checked against the schema), as
    an assessment overriding the labelers' latest answer; a second call updates the first gold."""
    session = labeling.get(conn, session_id)
    if not conn.execute(labeling.ITEM, [session_id, trace_id]).fetchall():
        raise NotFound(f"Trace '{trace_id}' is not an item of labeling session '{session.name}' ({session_id}).")
    schema = labeling_answers.schema_of(conn, session, schema_name)
    label_schemas.check_answer(schema, value)
    golds = [
        row for row in conn.execute(GOLDS, [session_id]).fetchall() if row[0] == trace_id and row[1] == schema_name
    ]
    metadata = {GOLD_KEY: "true", "annotrace.labeling_session_id": session_id, "annotrace.adjudicator": adjudicator}
    if golds:
        patch = assessments_queries.AssessmentPatch(
            kind=schema.type, value=value, rationale=rationale, metadata=metadata
        )
        return assessments_queries.update(conn, trace_id, golds[0][2], patch, now)
    answers = [
        row for row in conn.execute(ANSWERS, [session_id]).fetchall() if row[0] == trace_id and row[3] == schema_name
    ]
    if not answers:
        raise InvalidParameter(f"Item '{trace_id}' has no answer to '{schema_name}' to adjudicate.")
    latest = next((row[7] for row in answers if row[8]), answers[0][7])  # a labeler's answer still in force
    new = assessments_queries.NewAssessment(
        trace_id=trace_id,
        name=schema.name,
        kind=schema.type,
        value=value,
        rationale=rationale or None,
        source_type="HUMAN",
        source_id=adjudicator,
        metadata=metadata,
        overrides=latest,
    )
    return assessments_queries.create(conn, new, new_assessment_id(), now)
