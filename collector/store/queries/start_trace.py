"""StartTraceV3: the trace info the stock MLflow client sends when a trace ends (a writer job).

The MLflow client (>= 3.4 against a server whose ``/version`` says so) sends the spans over OTLP
and then ``POST /api/3.0/mlflow/traces`` with the trace's tags, metadata and any assessments it
logged while the trace was active. The spans and this call travel separately (both queued in
the client), so either may arrive first: when the spans are stored, tags and metadata are merged
into their ``traces`` row; when they are not, a row is created from the trace info and the
span merge (``store/span_writes.py``, ON CONFLICT) completes it later. The client's previews win over
the ones derived from the root span, as on a stock server (its JSON keeps ``", "`` spacing). Assessments keep the ids the
client assigned, so a retried call updates nothing and duplicates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import orjson

from annotrace.collector.store import lake
from annotrace.collector.store.queries import assessments as assessment_queries
from annotrace.collector.store.queries.traces import IMMUTABLE_TAGS

# traces has no index (schema 0080): ``trace_key`` beside ``trace_id`` lets DuckDB scan one
# fixed-width column for the row instead of every trace id (~10 ms instead of ~150 at 5M traces)
EXISTS = (
    "SELECT 1 FROM traces WHERE trace_key = coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0) AND trace_id = $1"
)
LAKE_EXISTS = "SELECT 1 FROM traces WHERE trace_id = ?"
"""On a DuckLake store ``traces`` is a view grouped by trace_id, through which only that filter reaches the parts."""
MERGE = (
    "UPDATE traces SET tags = json_merge_patch(tags, $1::JSON), trace_metadata = json_merge_patch(trace_metadata, "
    "$2::JSON), request_preview = coalesce($3, request_preview), response_preview = coalesce($4, response_preview), "
    "client_request_id = coalesce($5, client_request_id) "
    "WHERE trace_key = coalesce(try_cast('0x' || right($6, 16) AS UBIGINT), 0) AND trace_id = $6"
)
INSERT = (
    "INSERT INTO traces (trace_id, experiment_id, name, state, request_time, end_time, execution_duration_ms, "
    "request_preview, response_preview, tags, trace_metadata, span_count, error_span_count, last_update_time, "
    "client_request_id, trace_key) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, 0, $12, $13, "
    "coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0))"
)
LAKE_MERGE = (
    "INSERT INTO trace_parts (tags, trace_metadata, request_preview, response_preview, client_request_id, trace_id, "
    "last_update_time) VALUES (?::JSON, ?::JSON, ?, ?, ?, ?, current_timestamp::TIMESTAMP)"
)
"""``MERGE`` on a DuckLake store: a part the ``traces`` view merges (``store.lake``); same parameters."""
ASSESSMENT_EXISTS = "SELECT 1 FROM assessments WHERE assessment_id = ?"
NAME_TAG = "mlflow.traceName"


@dataclass(frozen=True, slots=True)
class StartedTrace:
    """The parts of a ``TraceInfoV3`` we keep (the rest is derived from the spans)."""

    trace_id: str
    experiment_id: str
    state: str
    request_time: datetime
    execution_duration_ms: float
    request_preview: str | None = None
    response_preview: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    trace_metadata: dict[str, str] = field(default_factory=dict)
    client_request_id: str | None = None
    assessments: list[tuple[str, assessment_queries.NewAssessment]] = field(default_factory=list)


def start_trace(conn: duckdb.DuckDBPyConnection, info: StartedTrace, now: datetime) -> None:
    tags = {k: v for k, v in info.tags.items() if k not in IMMUTABLE_TAGS}
    tags_json, metadata_json = orjson.dumps(tags).decode(), orjson.dumps(info.trace_metadata).decode()
    on_lake = lake.is_lake(conn)
    if conn.execute(LAKE_EXISTS if on_lake else EXISTS, [info.trace_id]).fetchall():
        conn.execute(
            LAKE_MERGE if on_lake else MERGE,
            [
                tags_json,
                metadata_json,
                info.request_preview,
                info.response_preview,
                info.client_request_id,
                info.trace_id,
            ],
        )
    else:
        end = info.request_time + timedelta(milliseconds=info.execution_duration_ms)
        conn.execute(
            INSERT.replace("INTO traces", "INTO trace_parts") if on_lake else INSERT,
            [
                info.trace_id,
                info.experiment_id,
                tags.get(NAME_TAG),
                info.state,
                info.request_time,
                end,
                info.execution_duration_ms,
                info.request_preview,
                info.response_preview,
                tags_json,
                metadata_json,
                now,
                info.client_request_id,
            ],
        )
    for assessment_id, new in info.assessments:
        if not conn.execute(ASSESSMENT_EXISTS, [assessment_id]).fetchall():
            assessment_queries.create(conn, new, assessment_id, now)
