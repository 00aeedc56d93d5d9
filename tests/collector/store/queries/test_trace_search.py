"""Trace search SQL against a real DuckDB file with rows written directly: the filters whose
columns come from the genai processor (span types, metadata, run ids, sessions), which the REST
tests cannot set over plain OTLP, and the binding of every user value."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.db import Database
from annotrace.collector.store.queries import trace_search
from annotrace.collector.store.queries.assessment_rows import value_columns

T0 = datetime(2024, 1, 1, 12, 0, 0)
TRACE_INSERT = (
    "INSERT INTO traces (trace_id, experiment_id, name, state, request_time, end_time, execution_duration_ms, "
    "tags, trace_metadata, span_count, error_span_count, session_id, user_id, last_update_time, trace_key) "
    "VALUES ($1, '5', $2, $3, $4, $5, 100, $6, $7, 1, 0, $8, $9, $10, coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0))"
)
SPAN_INSERT = (
    "INSERT INTO spans (trace_id, span_id, experiment_id, name, kind, span_type, start_time, end_time, duration_ms, "
    "start_time_unix_nano, end_time_unix_nano, status_code, inputs, outputs, attributes, resource_attributes) "
    "VALUES (?, ?, '5', ?, 'INTERNAL', ?, ?, ?, 1, 0, 1, 'OK', ?, ?, ?, '{}')"
)
ASSESSMENT_INSERT = (
    "INSERT INTO assessments (assessment_id, trace_id, assessment_name, kind, value, value_label, value_number, "
    "source_type, metadata, create_time, last_update_time, valid, version, trace_key) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, 'HUMAN', '{}', $8, $9, $10, 1, "
    "coalesce(try_cast('0x' || right($2, 16) AS UBIGINT), 0))"
)


def tid(n: int) -> str:
    return f"tr-{n:032x}"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(Path(tmp_path_factory.mktemp("search")) / "search.duckdb")
    conn = database.conn
    rows = [
        # n, name, state, tags, metadata, session, user, span (name, type, inputs)
        (
            1,
            "rag",
            "OK",
            {"env": "prod", "a/b~c": "odd"},
            {"mlflow.sourceRun": "run-1", "mlflow.modelId": "m-1"},
            "s-1",
            "u-1",
            ("retrieve", "RETRIEVER", '{"query": "refund policy"}'),
        ),
        (
            2,
            "chat",
            "ERROR",
            {"mlflow.linkedPrompts": '[{"name": "p"}]'},
            {"mlflow.trace.session": "explicit"},
            "s-2",
            None,
            ("llm", "CHAT_MODEL", '{"messages": [{"role": "user", "content": "hello"}]}'),
        ),
        (3, "tool", "OK", {}, {"mlflow.sourceRun": "run-2"}, None, "u-3", ("calc", "TOOL", None)),
    ]
    for n, name, state, tags, metadata, session, user, (span_name, span_type, inputs) in rows:
        start = T0 + timedelta(seconds=n)
        conn.execute(
            TRACE_INSERT,
            [
                tid(n),
                name,
                state,
                start,
                start + timedelta(milliseconds=100),
                orjson.dumps(tags).decode(),
                orjson.dumps(metadata).decode(),
                session,
                user,
                start,
            ],
        )
        conn.execute(
            SPAN_INSERT,
            [
                tid(n),
                f"{n:016x}",
                span_name,
                span_type,
                start,
                start,
                inputs,
                None,
                orjson.dumps({"gen_ai.system": "openai" if n == 2 else "none"}).decode(),
            ],
        )
    for n, (name, value, valid) in enumerate([("quality", 5, True), ("quality", 1, False), ("verdict", "pass", True)]):
        encoded, label, number = value_columns(value)
        conn.execute(
            ASSESSMENT_INSERT,
            [f"a-{n:032x}", tid(1 if n < 2 else 2), name, "feedback", encoded, label, number, T0, T0, valid],
        )
    yield database
    database.close()


def run(db: Database, text: str, order_by: list[str] | None = None) -> list[str]:
    cursor = db.cursor()
    try:
        rows = trace_search.search(
            cursor,
            ["5"],
            trace_search.compile_filter(text),
            trace_search.compile_order(order_by or ["timestamp_ms ASC"]),
            100,
            0,
        )
    finally:
        cursor.close()
    return [row.trace_id for row in rows]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("span.type = 'RETRIEVER'", [1]),
        ("span.type IN ('CHAT_MODEL', 'TOOL')", [2, 3]),
        ("span.type != 'RETRIEVER'", [2, 3]),
        ("span.attributes.`gen_ai.system` = 'openai'", [2]),
        ("span.content ILIKE '%refund%'", [1]),
        ("trace.text ILIKE '%HELLO%'", [2]),
        ("metadata.`mlflow.sourceRun` = 'run-1'", [1]),
        ("request_metadata.`mlflow.modelId` LIKE 'm-%'", [1]),
        ("metadata.`mlflow.modelId` IS NULL", [2, 3]),
        ("trace.run_id = 'run-2'", [3]),
        ("run_id IN ('run-1', 'run-2')", [1, 3]),
        ("metadata.`mlflow.trace.session` = 's-1'", [1]),  # derived from the session column
        ("metadata.`mlflow.trace.session` = 'explicit'", [2]),  # an explicit value wins
        ("metadata.`mlflow.trace.user` IS NOT NULL", [1, 3]),
        ("trace.prompt LIKE '%\"p\"%'", [2]),
        ("tags.`a/b~c` = 'odd'", [1]),  # '/' and '~' are escaped in the JSON pointer
        ("tag.`mlflow.traceName` = 'chat'", [2]),
        ("feedback.quality = 5", [1]),
        ("feedback.quality < 5", []),  # the invalid 1 does not count
        ("feedback.verdict = 'pass'", [2]),
        ("trace.client_request_id = 'x'", []),
        ("trace.status = 'OK' OR span.type = 'CHAT_MODEL'", [1, 2, 3]),
    ],
)
def test_filters_over_processor_columns(db: Database, text: str, expected: list[int]) -> None:
    assert run(db, text) == [tid(n) for n in expected]


def test_order_and_default_order(db: Database) -> None:
    assert run(db, "", ["trace.name DESC"]) == [tid(3), tid(1), tid(2)]
    assert run(db, "", ["run_id ASC", "timestamp DESC"]) == [tid(1), tid(3), tid(2)]
    assert trace_search.compile_order([]).where == trace_search.DEFAULT_ORDER


def test_order_by_tag_and_metadata_as_mlflow_sorts(db: Database) -> None:
    """Empty values last, then MLflow's tie-breakers: newest first, then the trace id."""
    assert run(db, "", ["tags.env ASC"]) == [tid(1), tid(3), tid(2)]
    assert run(db, "", ["metadata.`mlflow.sourceRun` DESC"]) == [tid(3), tid(1), tid(2)]
    for bad in (["colour"], ["timestamp_ms", "timestamp_ms DESC"], ["name sideways"]):
        with pytest.raises(InvalidParameter):
            trace_search.compile_order(bad)


def test_values_are_bound_parameters(db: Database) -> None:
    compiled = trace_search.compile_filter("tags.`x'); DROP TABLE traces; --` = 'a'' OR ''1''=''1'")
    assert "DROP" not in compiled.where and "OR '1'" not in compiled.where
    assert compiled.params == ["/x'); DROP TABLE traces; --", "a' OR '1'='1"]
    assert run(db, "tags.env = 'a'' OR ''1''=''1'") == []
    assert run(db, "") == [tid(1), tid(2), tid(3)]


def test_bad_regex_is_a_400(db: Database) -> None:
    with pytest.raises(InvalidParameter) as error:
        run(db, "trace.name RLIKE '(unclosed'")
    assert "filter" in error.value.message


def test_pointer_escapes_rfc6901() -> None:
    assert trace_search.pointer("a/b~c") == "/a~1b~0c"
    assert trace_search.pointer("mlflow.traceName") == "/mlflow.traceName"
