"""The trace explorer's table: one page of an experiment's traces with its total, the assessment
columns the experiment has, and the export of chosen traces to a labeling session (a writer job).

Why not only ``trace_search.search_page``: the table needs a total, the span count, sort keys
MLflow's ``order_by`` has none for (tokens, span count, an assessment's value) and filters the
search grammar has no short form for (a time range, free text over the previews). The filter
text box still compiles through ``trace_search.compile_filter``, so a filter means on the page
exactly what it means to ``search_traces``; its WHERE fragment is ANDed with ours below.

Like ``trace_search``, a page is read in two steps: the ids of the page (a Top-N over a few
columns), then their rows and their assessments (``assessments.for_traces``, only those ids).
Measured at 100,096 traces in one experiment (DuckDB 2.0, this 2-core machine): page ids 3 ms
(first page) to 23 ms (last page), their rows 2 ms, the count 0.5 ms, the assessment columns
7 ms, sorting by an assessment 10-38 ms; free text over the previews 8-14 ms, while the full
``request``/``response`` JSON took 135-175 ms, which is why free text reads the previews.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from annotrace.collector.errors import AlreadyExists, InvalidParameter, NotFound
from annotrace.collector.store.queries import assessments as assessment_queries
from annotrace.collector.store.queries import label_schemas as schema_queries
from annotrace.collector.store.queries import labeling
from annotrace.collector.store.queries.assessments import Assessment
from annotrace.collector.store.queries.trace_search import ORDER_KEYS, Compiled, translate_errors

STATES = ("OK", "ERROR", "IN_PROGRESS")
KINDS = ("feedback", "expectation")
NAME = ORDER_KEYS["name"]  # the trace name tag when set, else the root span name (as search_traces)
SORT_KEYS = {
    "request_time": "t.request_time",
    "name": NAME,
    "state": "t.state",
    "duration": "t.execution_duration_ms",
    "tokens": "t.total_tokens",
    "spans": "t.span_count",
    "trace_id": "t.trace_id",
}
MAX_SESSION_NAME_CHARS = 500
MAX_EXPORT = 1000  # the REST API's limit per add_traces call

IDS = "SELECT t.trace_id FROM traces t{join} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
COUNT = "SELECT count(*) FROM traces t WHERE {where}"
ROWS = (
    f"SELECT t.trace_id, {NAME}, t.state, t.request_time, t.execution_duration_ms, t.request_preview, "
    "t.response_preview, t.span_count, t.input_tokens, t.output_tokens, t.total_tokens, "
    f"t.tags->>'{labeling.SOURCE_TRACE_KEY}' FROM traces t WHERE list_contains(?::VARCHAR[], t.trace_id)"
)
# The latest valid value of one assessment per trace, for sorting by an assessment column.
SORT_JOIN = (
    " LEFT JOIN (SELECT trace_id, arg_max_null(value_number, last_update_time) AS num, "
    "arg_max_null(value_label, last_update_time) AS label FROM assessments "
    "WHERE kind = ? AND assessment_name = ? AND valid GROUP BY trace_id) srt ON srt.trace_id = t.trace_id"
)
COLUMNS = (
    "SELECT DISTINCT a.kind, a.assessment_name FROM assessments a JOIN traces t ON t.trace_id = a.trace_id "
    "WHERE t.experiment_id = ? ORDER BY 1 DESC, 2"
)
NAMES = (
    f"SELECT {NAME} AS n, count(*) AS c FROM traces t WHERE t.experiment_id = ? AND n IS NOT NULL "
    "GROUP BY n ORDER BY c DESC, n LIMIT ?"
)
IN_EXPERIMENT = "SELECT trace_id FROM traces WHERE experiment_id = ? AND list_contains(?::VARCHAR[], trace_id)"
TEXT = "(contains(lower(t.request_preview), ?) OR contains(lower(t.response_preview), ?) OR contains(lower({n}), ?))"


@dataclass(frozen=True, slots=True)
class Column:
    """One assessment column: every assessment of this kind and name, on the trace or a span."""

    kind: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TableQuery:
    """What the table shows; ``where`` is ANDed in (from ``trace_search.compile_filter``)."""

    experiment_id: str
    time_from: datetime | None = None
    time_to: datetime | None = None
    states: tuple[str, ...] = ()
    name: str | None = None
    text: str | None = None
    where: Compiled = field(default_factory=lambda: Compiled("true", []))
    sort: str = "request_time"
    sort_column: Column | None = None  # sort by this assessment's latest valid value instead of ``sort``
    descending: bool = True
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class TableRow:
    trace_id: str
    name: str | None
    state: str
    request_time: datetime
    execution_duration_ms: float
    request_preview: str | None
    response_preview: str | None
    span_count: int
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    assessments: list[Assessment]
    source_trace_id: str | None = None  # set on a labeling session's copy of a trace


@dataclass(frozen=True, slots=True)
class Exported:
    session: labeling.Session
    added: int
    already: int


def all_of(*parts: Compiled) -> Compiled:
    """Several compiled filters ANDed, parameters in order."""
    return Compiled(" AND ".join(f"({p.where})" for p in parts) or "true", [v for p in parts for v in p.params])


def _where(q: TableQuery) -> Compiled:
    parts: list[str] = ["t.experiment_id = ?"]
    params: list[Any] = [q.experiment_id]
    if q.time_from is not None:
        parts.append("t.request_time >= ?")
        params.append(q.time_from)
    if q.time_to is not None:
        parts.append("t.request_time <= ?")
        params.append(q.time_to)
    if q.states:
        unknown = [s for s in q.states if s not in STATES]
        if unknown:
            raise InvalidParameter(
                f"Invalid value for parameter 'status': {unknown[0]!r}; expected one of " + ", ".join(STATES)
            )
        parts.append("list_contains(?::VARCHAR[], t.state)")
        params.append(list(q.states))
    if q.name:
        parts.append(f"{NAME} = ?")
        params.append(q.name)
    if q.text:
        parts.append(TEXT.format(n=NAME))
        params.extend([q.text.lower()] * 3)
    return all_of(Compiled(" AND ".join(parts), params), q.where)


def _order(q: TableQuery) -> str:
    direction = "DESC" if q.descending else "ASC"
    if q.sort_column is not None:
        return f"srt.num {direction} NULLS LAST, srt.label {direction} NULLS LAST, t.request_time DESC, t.trace_id"
    if q.sort not in SORT_KEYS:
        raise InvalidParameter(
            f"Invalid value for parameter 'sort': {q.sort!r}; expected one of "
            + ", ".join(SORT_KEYS)
            + ", or feedback.<name> / expectation.<name>"
        )
    return f"{SORT_KEYS[q.sort]} {direction} NULLS LAST, t.trace_id"


def count(cursor: duckdb.DuckDBPyConnection, q: TableQuery) -> int:
    where = _where(q)
    with translate_errors():
        return int(cursor.execute(COUNT.format(where=where.where), where.params).fetchall()[0][0])


def page(cursor: duckdb.DuckDBPyConnection, q: TableQuery) -> list[TableRow]:
    """The rows of one page in table order, each with all its assessments (valid or not)."""
    where = _where(q)
    join, params = "", list(where.params)
    if q.sort_column is not None:
        if q.sort_column.kind not in KINDS:
            raise InvalidParameter(
                f"Invalid value for parameter 'sort': unknown assessment kind "
                f"{q.sort_column.kind!r}; expected feedback or expectation"
            )
        join, params = SORT_JOIN, [q.sort_column.kind, q.sort_column.name, *params]
    sql = IDS.format(join=join, where=where.where, order=_order(q))
    with translate_errors():
        ids = [row[0] for row in cursor.execute(sql, [*params, q.limit, q.offset]).fetchall()]
    if not ids:
        return []
    found = {row[0]: row for row in cursor.execute(ROWS, [ids]).fetchall()}
    assessments = assessment_queries.for_traces(cursor, ids)
    return [_table_row(found[i], assessments[i]) for i in ids if i in found]


def _table_row(values: tuple[Any, ...], found: list[Assessment]) -> TableRow:
    (
        trace_id,
        name,
        state,
        request_time,
        duration_ms,
        request_preview,
        response_preview,
        span_count,
        input_tokens,
        output_tokens,
        total_tokens,
        source_trace_id,
    ) = values
    return TableRow(
        trace_id,
        name,
        state,
        request_time,
        duration_ms,
        request_preview,
        response_preview,
        int(span_count),
        input_tokens,
        output_tokens,
        total_tokens,
        found,
        source_trace_id,
    )


def columns(cursor: duckdb.DuckDBPyConnection, experiment_id: str) -> list[Column]:
    """The assessment names present in the experiment: feedback first, then expectations."""
    return [Column(kind, name) for kind, name in cursor.execute(COLUMNS, [experiment_id]).fetchall()]


def trace_names(cursor: duckdb.DuckDBPyConnection, experiment_id: str, limit: int = 200) -> list[str]:
    """The experiment's most common trace names (suggestions for the name filter)."""
    return [row[0] for row in cursor.execute(NAMES, [experiment_id, limit]).fetchall()]


def latest(found: list[Assessment]) -> dict[Column, Assessment]:
    """The latest valid assessment of each column among one trace's assessments."""
    out: dict[Column, Assessment] = {}
    for a in found:
        if not a.valid:
            continue
        key = Column(a.kind, a.name)
        seen = out.get(key)
        if seen is None or (a.last_update_time, a.create_time, a.assessment_id) >= (
            seen.last_update_time,
            seen.create_time,
            seen.assessment_id,
        ):
            out[key] = a
    return out


# -- writer job ----------------------------------------------------------------------------------
def export(
    conn: duckdb.DuckDBPyConnection,
    experiment_id: str,
    trace_ids: list[str],
    *,
    session_id: str | None = None,
    new_name: str | None = None,
    label_schemas: list[str] | None = None,
    now: datetime,
) -> Exported:
    """Add the experiment's traces ``trace_ids`` to an existing session of the experiment, or to a
    new one named ``new_name``; one writer job, so on any error nothing is created or added."""
    ids = list(dict.fromkeys(trace_ids))
    if not ids:
        raise InvalidParameter("Select at least one trace to export.")
    if len(ids) > MAX_EXPORT:
        raise InvalidParameter(f"Export at most {MAX_EXPORT} traces at a time.")
    present = {row[0] for row in conn.execute(IN_EXPERIMENT, [experiment_id, ids]).fetchall()}
    missing = [i for i in ids if i not in present]
    if missing:
        raise NotFound(f"Trace '{missing[0]}' is not a trace of experiment {experiment_id}.")
    session = (
        _new_session(conn, experiment_id, new_name, label_schemas or [], now)
        if session_id is None
        else _existing_session(conn, experiment_id, session_id)
    )
    done = labeling.add_traces(conn, session.session_id, ids, now)
    added = sum(1 for _, _, was_added in done if was_added)
    return Exported(session, added, len(done) - added)


def _existing_session(conn: duckdb.DuckDBPyConnection, experiment_id: str, session_id: str) -> labeling.Session:
    session = labeling.get(conn, session_id)
    if session.experiment_id != experiment_id:
        raise NotFound(f"Labeling session {session_id} is not a session of experiment {experiment_id}.")
    return session


def _new_session(
    conn: duckdb.DuckDBPyConnection, experiment_id: str, name: str | None, schemas: list[str], now: datetime
) -> labeling.Session:
    name = (name or "").strip()
    if not name:
        raise InvalidParameter("Name the new labeling session, or choose an existing one.")
    if len(name) > MAX_SESSION_NAME_CHARS:
        raise InvalidParameter(f"A session name has at most {MAX_SESSION_NAME_CHARS} characters.")
    if any(s.name == name for s in labeling.list_sessions(conn, experiment_id)):
        raise AlreadyExists(
            f"A labeling session named '{name}' already exists in this experiment: "
            "choose it under 'Existing session' instead."
        )
    for schema in schemas:
        if schema_queries.find(conn, experiment_id, schema) is None:
            raise InvalidParameter(f"Label schema '{schema}' does not exist in this experiment (any more).")
    return labeling.create(
        conn, labeling.NewSession(experiment_id=experiment_id, name=name, assigned_users=[], label_schemas=schemas), now
    )
