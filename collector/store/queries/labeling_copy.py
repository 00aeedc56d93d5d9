"""Copying source traces into a labeling session, batched: the same ~11 statements for 1 or 1,000 traces.

Why apart from ``labeling.py``, and why batched: a labeling session holds *copies* of traces
(MLflow semantics), and the Traces page's export and the SDK's ``session.add_traces(df)`` add up to
1,000 at once, all in one writer job that blocks ingest while it runs. Copying trace by trace took
~10 statements per trace (3 lookups, 6 ``INSERT ... SELECT``, the item), each scanning its table for
one trace id: 10,002 statements and ~15-19 s for 1,000 traces. Here every lookup takes the whole id
list (``unnest``), the copy ids are made in Python, and one registered Arrow table (``MAPPING``:
source -> copy, position, tag and metadata patches) drives ONE ``INSERT ... SELECT ... JOIN`` per
copied table, so each table is scanned once per call whatever the number of traces.

Invariants: each distinct source appears once in the answer, in input order, and is copied into a
session at most once (a source already there, or one of the session's own copies, keeps its copy);
the copy gets a new ``tr-`` id, the session's experiment, tag ``SOURCE_TRACE_KEY`` and metadata
``SOURCE_TRACE_KEY`` + ``SOURCE_RUN_KEY`` (so ``search_traces(run_id=...)`` finds it), and spans lose
``mlflow.traceRequestId``. All or nothing: every check (the first unknown id in input order raises
``NotFound``) runs before the first write, and the writer rolls its transaction back on any error.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import duckdb
import orjson
import pyarrow as pa

from annotrace.collector.errors import NotFound
from annotrace.collector.ids import trace_id as public_trace_id
from annotrace.collector.store import lake

SOURCE_TRACE_KEY = "annotrace.source_trace_id"
SOURCE_RUN_KEY = "mlflow.sourceRun"
MAPPING = "labeling_copy_mapping"  # the registered Arrow table, only while a call runs

# The session's items whose source, or whose copy, is one of $ids; earliest first.
KNOWN = (
    "SELECT source_trace_id, trace_id FROM labeling_items WHERE session_id = $session "
    "AND (source_trace_id IN (SELECT unnest($ids::VARCHAR[])) OR trace_id IN (SELECT unnest($ids::VARCHAR[]))) "
    "ORDER BY position"
)
FOUND = "SELECT trace_id FROM traces WHERE trace_id IN (SELECT unnest($ids::VARCHAR[]))"
NEXT_POSITION = "SELECT coalesce(max(position) + 1, 0) FROM labeling_items WHERE session_id = ?"
INSERT_ITEMS = (
    f"INSERT INTO labeling_items (session_id, trace_id, source_trace_id, position, create_time) "
    f"SELECT $session::VARCHAR, copy_id, source_id, position, $now::TIMESTAMP FROM {MAPPING}"
)

# Per-trace tables copied into a session, each by one statement, with the columns to rewrite.
_FROM = f"FROM {{table}} t JOIN {MAPPING} m ON t.trace_id = m.source_id"
_DROP_REQUEST_ID = "json_merge_patch(t.attributes, '{\"mlflow.traceRequestId\": null}') AS attributes"
COPY = {
    "traces": (
        "INSERT INTO traces SELECT t.* REPLACE (m.copy_id AS trace_id, $experiment::VARCHAR AS experiment_id, "
        "json_merge_patch(t.tags, m.tags::JSON) AS tags, "
        "json_merge_patch(t.trace_metadata, m.trace_metadata::JSON) AS trace_metadata, "
        "coalesce(try_cast('0x' || right(m.copy_id, 16) AS UBIGINT), 0) AS trace_key) " + _FROM.format(table="traces")
    ),
    "spans": (
        f"INSERT INTO spans SELECT t.* REPLACE (m.copy_id AS trace_id, $experiment::VARCHAR AS experiment_id, "
        f"{_DROP_REQUEST_ID}) " + _FROM.format(table="spans")
    ),
    **{
        table: f"INSERT INTO {table} SELECT t.* REPLACE (m.copy_id AS trace_id) " + _FROM.format(table=table)
        for table in ("span_events", "span_links")
    },
    **{  # with the copy's trace_key (schema 0083)
        table: f"INSERT INTO {table} SELECT t.* REPLACE (m.copy_id AS trace_id, "
        "coalesce(try_cast('0x' || right(m.copy_id, 16) AS UBIGINT), 0) AS trace_key) " + _FROM.format(table=table)
        for table in ("documents", "messages")
    },
}
_WITH_EXPERIMENT = ("traces", "spans")


def add_copies(
    conn: duckdb.DuckDBPyConnection, session_id: str, experiment_id: str, source_ids: list[str], now: datetime
) -> list[tuple[str, str, bool]]:
    """Copy each new source into the session; ``(source, copy, added)`` per distinct source, in order.

    The caller has checked that the session exists (``labeling.add_traces``)."""
    wanted = list(dict.fromkeys(source_ids))
    if not wanted:
        return []
    held = known(conn, session_id, wanted)
    new = [source for source in wanted if source not in held]
    copies: dict[str, str] = {}
    if new:
        found = {row[0] for row in conn.execute(FOUND, {"ids": new}).fetchall()}
        for source in new:
            if source not in found:
                raise NotFound(f"Trace with ID '{source}' not found.")
        copies = {source: public_trace_id(uuid.uuid4().hex) for source in new}
        position = conn.execute(NEXT_POSITION, [session_id]).fetchall()[0][0]
        _copy(conn, session_id, experiment_id, copies, position, now)
    return [(source, held[source], False) if source in held else (source, copies[source], True) for source in wanted]


def known(conn: duckdb.DuckDBPyConnection, session_id: str, wanted: list[str]) -> dict[str, str]:
    """Which of ``wanted`` the session already holds, and their copies: a source of an item first,
    else an id that is itself one of the session's copies (it maps to itself)."""
    by_source: dict[str, str] = {}
    own: set[str] = set()
    for source, copy in conn.execute(KNOWN, {"session": session_id, "ids": wanted}).fetchall():
        by_source.setdefault(source, copy)
        own.add(copy)
    return {source: by_source.get(source, source) for source in wanted if source in by_source or source in own}


def _copy(
    conn: duckdb.DuckDBPyConnection,
    session_id: str,
    experiment_id: str,
    copies: dict[str, str],
    position: int,
    now: datetime,
) -> None:
    """One statement per table, joined to the source -> copy mapping (positions in input order)."""
    sources = list(copies)
    mapping = pa.table(
        {
            "source_id": pa.array(sources, pa.string()),
            "copy_id": pa.array(list(copies.values()), pa.string()),
            "position": pa.array(range(position, position + len(sources)), pa.int32()),
            "tags": pa.array([orjson.dumps({SOURCE_TRACE_KEY: s}).decode() for s in sources], pa.string()),
            "trace_metadata": pa.array(
                [orjson.dumps({SOURCE_TRACE_KEY: s, SOURCE_RUN_KEY: session_id}).decode() for s in sources], pa.string()
            ),
        }
    )
    conn.register(MAPPING, mapping)
    try:
        on_lake = lake.is_lake(conn)  # there traces is a view over trace_parts, whose columns it has in order
        for table, sql in COPY.items():
            sql = sql.replace("INTO traces ", "INTO trace_parts ") if on_lake else sql
            conn.execute(sql, {"experiment": experiment_id} if table in _WITH_EXPERIMENT else None)
        conn.execute(INSERT_ITEMS, {"session": session_id, "now": now})
    finally:
        conn.unregister(MAPPING)
