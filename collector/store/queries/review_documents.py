"""Per-document relevance labels: in the Review App each document a RETRIEVER span returned gets a
relevant / not relevant answer, stored as a span-level assessment on that span.

Why span-level assessments and not a table of their own: they are then what every other reader
already understands (search_traces, the trace page, the assessment API, exporters), under the
name MLflow's retrieval judges use (``retrieval_relevance``, one feedback per retrieved chunk,
its position in metadata ``chunk_index``). A labeler's second answer on the same document updates
the first, so one labeler has at most one per document; the answers are saved in the Submit's
writer job (``labeling_review.submit``), all or none.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.ids import new_assessment_id
from annotrace.collector.store.queries import assessments as assessments_queries

NAME = "retrieval_relevance"
POSITION_KEY = "chunk_index"  # MLflow's key for the chunk a retrieval judgement is about

MINE = (
    "SELECT span_id, json_extract_string(metadata, '$.chunk_index'), value = 'true', assessment_id "
    "FROM assessments WHERE trace_id = ? AND assessment_name = 'retrieval_relevance' AND span_id IS NOT NULL "
    "AND source_type = 'HUMAN' AND source_id = ? AND valid ORDER BY create_time"
)
DOCUMENTS = (
    "SELECT span_id, position, document_id FROM documents "
    "WHERE trace_key = coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0) AND trace_id = $1"
)


def mine(cursor: duckdb.DuckDBPyConnection, trace_id: str, user: str) -> dict[tuple[str, int], bool]:
    """(span id, position) -> my answer (True: relevant) on the item's documents."""
    out = {}
    for span_id, position, relevant, _ in cursor.execute(MINE, [trace_id, user]).fetchall():
        if position is not None and str(position).isdigit():
            out[(str(span_id), int(position))] = bool(relevant)
    return out


def save(
    conn: duckdb.DuckDBPyConnection,
    session_id: str,
    trace_id: str,
    user: str,
    marks: list[tuple[str, int, bool]],
    now: datetime,
) -> None:
    """Store ``(span id, position, relevant)`` answers of ``user`` on the item's documents (part of
    a writer job that has already checked the session, the item and the labeler)."""
    if not marks:
        return
    known = {(str(s), int(p)): d for s, p, d in conn.execute(DOCUMENTS, [trace_id]).fetchall()}
    earlier = {
        (str(s), int(p)): aid
        for s, p, _, aid in conn.execute(MINE, [trace_id, user]).fetchall()
        if p is not None and str(p).isdigit()
    }
    for span_id, position, relevant in marks:
        if (span_id, position) not in known:
            raise InvalidParameter(f"Trace '{trace_id}' has no retrieved document {position} in span '{span_id}'.")
        metadata = {POSITION_KEY: str(position), "annotrace.labeling_session_id": session_id}
        document_id = known[(span_id, position)]
        if document_id is not None:
            metadata["annotrace.document_id"] = str(document_id)
        previous = earlier.get((span_id, position))
        if previous is not None:
            patch = assessments_queries.AssessmentPatch(kind="feedback", value=relevant, metadata=metadata)
            assessments_queries.update(conn, trace_id, previous, patch, now)
            continue
        new = assessments_queries.NewAssessment(
            trace_id=trace_id,
            span_id=span_id,
            name=NAME,
            kind="feedback",
            value=relevant,
            source_type="HUMAN",
            source_id=user,
            metadata=metadata,
        )
        assessments_queries.create(conn, new, new_assessment_id(), now)
