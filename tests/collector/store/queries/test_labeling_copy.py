"""``labeling.add_traces`` on a real Writer and DuckDB file: hundreds of GenAI traces copied at once.

Each source trace has spans, span events, a span link, documents and messages, and its own content,
so comparing every copy with its source table by table (in SQL) proves that each copy got its own
source's rows, all of them and nothing else. Adding again adds nothing; an unknown id anywhere in
the list writes nothing. The statement count is checked to stay the same for 1 and 300 traces.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from annotrace.collector.errors import NotFound
from annotrace.collector.genai.log_events import ChatEvents
from annotrace.collector.genai.staging import stage
from annotrace.collector.pipeline.decode import decode
from annotrace.collector.pipeline.processors.genai import GenAIConfig, GenAINormalizeProcessor
from annotrace.collector.pipeline.spool import Record
from annotrace.collector.store.db import Database
from annotrace.collector.store.queries import labeling
from annotrace.collector.store.writer import Writer
from tests.otlp_builders import any_value, new_span_id, new_trace_id, request, span

N = 300
MS = 1_000_000
NOW = datetime(2025, 6, 1, 10, 0, 0)
SESSION_EXPERIMENT = "77"
TABLES = ("traces", "spans", "span_events", "span_links", "documents", "messages")


def j(value: Any) -> str:
    return json.dumps(value)


def genai_spans(i: int, link_to: tuple[bytes, bytes] | None) -> tuple[tuple[bytes, bytes], list[Any]]:
    """Trace ``i``: agent -> retrieve (2 documents), chat (2 + 1 messages), tool (an event and a link)."""
    trace, root, retriever, chat, tool = new_trace_id(), new_span_id(), new_span_id(), new_span_id(), new_span_id()
    t0 = time.time_ns() - 60_000 * MS + i * MS
    docs = [
        {"id": f"kb-{i}-{k}", "page_content": f"document {k} of trace {i}", "metadata": {"score": k / 2}}
        for k in range(2)
    ]
    messages = [
        {"role": "system", "parts": [{"type": "text", "content": f"system {i}"}]},
        {"role": "user", "parts": [{"type": "text", "content": f"question {i}"}]},
    ]
    spans = [
        span(
            trace,
            root,
            name=f"agent-{i}",
            start=t0,
            duration_ns=9 * MS,
            attributes={
                "mlflow.spanType": j("AGENT"),
                "mlflow.spanInputs": j({"question": f"question {i}"}),
                "mlflow.spanOutputs": j({"answer": f"answer {i}"}),
                "mlflow.traceTag.n": str(i),
            },
        ),
        span(
            trace,
            retriever,
            parent=root,
            name="retrieve",
            start=t0 + MS,
            duration_ns=MS,
            attributes={"mlflow.spanType": j("RETRIEVER"), "mlflow.spanOutputs": j(docs)},
        ),
        span(
            trace,
            chat,
            parent=root,
            name="chat",
            start=t0 + 2 * MS,
            duration_ns=3 * MS,
            kind=3,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": i,
                "gen_ai.input.messages": j(messages),
                "gen_ai.output.messages": j(
                    [{"role": "assistant", "parts": [{"type": "text", "content": f"answer {i}"}]}]
                ),
            },
        ),
        span(
            trace,
            tool,
            parent=root,
            name="lookup",
            start=t0 + 6 * MS,
            duration_ns=MS,
            status=2,
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"},
        ),
    ]
    event = spans[3].events.add()
    event.time_unix_nano, event.name = t0 + 6 * MS + 10, "exception"
    event.attributes.append(KeyValue(key="exception.message", value=any_value(f"failure {i}")))
    if link_to is not None:
        link = spans[3].links.add()
        link.trace_id, link.span_id = link_to
        link.attributes.append(KeyValue(key="i", value=any_value(i)))
    return (trace, root), spans


def store_traces(writer: Writer, n: int) -> list[str]:
    """Write ``n`` GenAI traces through the pipeline's own staging and the writer; their ids, in order."""
    ids: list[str] = []
    batch: list[Any] = []
    previous = None
    for i in range(n):
        previous, spans = genai_spans(i, previous)
        ids.append("tr-" + previous[0].hex())
        batch += spans
        if len(batch) >= 400 or i == n - 1:
            record = Record("traces", b'{"receiver":"otlp"}', request(batch).SerializeToString(), len(batch), 0, 0)
            writer.write(stage(GenAINormalizeProcessor(GenAIConfig()).process(decode([record]))), group=False).result(
                timeout=60
            )
            batch = []
    return ids


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Writer, list[str]]]:
    db = Database(Path(tmp_path_factory.mktemp("labeling")) / "copy.duckdb")
    db.conn.execute("INSERT INTO experiments (experiment_id, name) VALUES (?, 'labeling')", [SESSION_EXPERIMENT])
    writer = Writer(db, chat=ChatEvents())
    writer.start()
    yield writer, store_traces(writer, N)
    writer.shutdown()
    db.close()


def run(writer: Writer, job: Any, *args: Any, **kwargs: Any) -> Any:
    return writer.submit(lambda conn: job(conn, *args, **kwargs)).result(timeout=120)


def sql(writer: Writer, query: str, params: list[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    cursor = writer.db.cursor()
    try:
        return cursor.execute(query, params or []).fetchall()
    finally:
        cursor.close()


def new_session(writer: Writer) -> str:
    session = run(
        writer,
        labeling.create,
        labeling.NewSession(experiment_id=SESSION_EXPERIMENT, name="bulk", assigned_users=[]),
        NOW,
    )
    return str(session.session_id)


def counts(writer: Writer) -> dict[str, int]:
    return {table: sql(writer, f"SELECT count(*) FROM {table}")[0][0] for table in (*TABLES, "labeling_items")}


# Per item: its source's rows as the copy should hold them (``expected``) and the copy's rows
# (``actual``). Both sides of their symmetric difference (EXCEPT ALL: counts matter) must be empty.
EXPECTED = {
    "traces": (
        "* REPLACE ('{exp}' AS experiment_id, json_merge_patch(t.tags, json_object("
        "'annotrace.source_trace_id', i.source_trace_id)) AS tags, json_merge_patch(t.trace_metadata, "
        "json_object('annotrace.source_trace_id', i.source_trace_id, 'mlflow.sourceRun', i.session_id)) "
        "AS trace_metadata, coalesce(try_cast('0x' || right(i.trace_id, 16) AS UBIGINT), 0) AS trace_key)"
    ),
    "spans": (
        "* REPLACE ('{exp}' AS experiment_id, json_merge_patch(t.attributes, "
        "'{{\"mlflow.traceRequestId\": null}}') AS attributes)"
    ),  # a copy's messages and documents carry its own trace_key (schema 0083)
    **dict.fromkeys(
        ("documents", "messages"),
        "* REPLACE (coalesce(try_cast('0x' || right(i.trace_id, 16) AS UBIGINT), 0) AS trace_key)",
    ),
}
DIFFERENCE = """
WITH expected AS (SELECT i.trace_id AS copy, t.{columns} FROM labeling_items i JOIN {table} t
                  ON t.trace_id = i.source_trace_id WHERE i.session_id = $session),
     actual AS (SELECT i.trace_id AS copy, t.* FROM labeling_items i JOIN {table} t
                ON t.trace_id = i.trace_id WHERE i.session_id = $session)
SELECT (SELECT count(*) FROM (SELECT * EXCLUDE (trace_id) FROM expected
                              EXCEPT ALL SELECT * EXCLUDE (trace_id) FROM actual)),
       (SELECT count(*) FROM (SELECT * EXCLUDE (trace_id) FROM actual
                              EXCEPT ALL SELECT * EXCLUDE (trace_id) FROM expected)),
       (SELECT count(*) FROM actual)
"""


def test_many_traces_are_copied_row_for_row(stored: tuple[Writer, list[str]]) -> None:
    writer, sources = stored
    session = new_session(writer)
    before = counts(writer)
    done = run(writer, labeling.add_traces, session, sources, NOW)
    assert [(s, added) for s, _, added in done] == [(s, True) for s in sources]
    copies = [c for _, c, _ in done]
    assert len(set(copies)) == N and not set(copies) & set(sources)
    assert all(c.startswith("tr-") and len(c) == 35 for c in copies)

    items = sql(
        writer,
        "SELECT trace_id, source_trace_id, position, create_time FROM labeling_items "
        "WHERE session_id = ? ORDER BY position",
        [session],
    )
    assert items == [(c, s, p, NOW) for p, (s, c) in enumerate(zip(sources, copies, strict=True))]
    after = counts(writer)
    assert after["labeling_items"] - before["labeling_items"] == N
    for table in TABLES:
        columns = EXPECTED.get(table, "*").format(exp=SESSION_EXPERIMENT)
        missing, extra, copied = sql(writer, DIFFERENCE.format(table=table, columns=columns), {"session": session})[0]
        assert (missing, extra) == (0, 0), table
        assert copied == after[table] - before[table] > 0, table  # and nothing else was written
    source_rows = {
        table: sql(writer, f"SELECT count(*) FROM {table} WHERE list_contains($ids, trace_id)", {"ids": sources})[0][0]
        for table in TABLES
    }
    assert source_rows == {
        "traces": N,
        "spans": 4 * N,
        "span_events": N,
        "span_links": N - 1,
        "documents": 2 * N,
        "messages": 3 * N,
    }

    tagged = sql(
        writer,
        "SELECT i.source_trace_id, t.tags->>'annotrace.source_trace_id', "
        "t.trace_metadata->>'annotrace.source_trace_id', t.trace_metadata->>'mlflow.sourceRun', "
        "t.tags->>'n', t.experiment_id FROM labeling_items i JOIN traces t USING (trace_id) "
        "WHERE i.session_id = ? ORDER BY i.position",
        [session],
    )
    assert tagged == [(s, s, s, session, str(i), SESSION_EXPERIMENT) for i, s in enumerate(sources)]
    assert sql(
        writer,
        "SELECT count(*) FROM spans s JOIN labeling_items i USING (trace_id) WHERE i.session_id = ? "
        "AND s.attributes->>'mlflow.traceRequestId' IS NOT NULL",
        [session],
    ) == [(0,)]

    again = run(writer, labeling.add_traces, session, [*reversed(sources), *sources], NOW)
    assert again == [(s, c, False) for s, c in reversed(list(zip(sources, copies, strict=True)))]
    assert counts(writer) == after


def test_mixed_list_keeps_existing_items_and_continues_positions(stored: tuple[Writer, list[str]]) -> None:
    writer, sources = stored
    session = new_session(writer)
    first = run(writer, labeling.add_traces, session, sources[:3], NOW)
    copy_1 = first[1][1]
    mixed = [sources[5], sources[1], copy_1, sources[5], sources[0], sources[4], copy_1]
    done = run(writer, labeling.add_traces, session, mixed, NOW)
    assert [(s, added) for s, _, added in done] == [
        (sources[5], True),
        (sources[1], False),
        (copy_1, False),
        (sources[0], False),
        (sources[4], True),
    ]
    assert done[1][1] == copy_1 and done[2][1] == copy_1 and done[3][1] == first[0][1]
    items = sql(
        writer,
        "SELECT source_trace_id, trace_id, position FROM labeling_items WHERE session_id = ? ORDER BY position",
        [session],
    )
    assert items == [(s, c, p) for p, (s, c, _) in enumerate([*first, done[0], done[4]])]
    assert run(writer, labeling.add_traces, session, [], NOW) == []


def test_an_unknown_id_writes_nothing_and_is_named(stored: tuple[Writer, list[str]]) -> None:
    writer, sources = stored
    session = new_session(writer)
    run(writer, labeling.add_traces, session, sources[:2], NOW)
    before = counts(writer)
    unknown, later = "tr-" + "0" * 32, "tr-" + "f" * 32
    ids = [*sources[:150], unknown, *sources[150:], later]
    with pytest.raises(NotFound) as raised:
        run(writer, labeling.add_traces, session, ids, NOW)
    assert raised.value.message == f"Trace with ID '{unknown}' not found."
    assert counts(writer) == before
    assert run(writer, labeling.add_traces, session, sources[2:4], NOW)[0][2] is True  # the writer goes on


class CountingConnection:
    """Counts the statements a job runs (``execute`` and ``sql``); everything else is passed on."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn, self.statements = conn, 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 1
        return self.conn.execute(*args, **kwargs)

    def sql(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 1
        return self.conn.sql(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def test_statements_do_not_grow_with_the_number_of_traces(stored: tuple[Writer, list[str]]) -> None:
    writer, sources = stored

    def statements(ids: list[str]) -> int:
        session = new_session(writer)

        def job(conn: duckdb.DuckDBPyConnection) -> int:
            counting = CountingConnection(conn)
            labeling.add_traces(counting, session, ids, NOW)  # type: ignore[arg-type]
            return counting.statements

        return int(writer.submit(job).result(timeout=120))

    assert statements(sources[:1]) == statements(sources) <= 12  # 11 to copy, 1 for the audit trail (all items)
