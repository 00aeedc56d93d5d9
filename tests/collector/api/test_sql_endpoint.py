"""The SQL endpoint: JSON and Arrow IPC answers, limits, and refusals that change nothing."""

from __future__ import annotations

import httpx
import pyarrow as pa
import pytest

from tests.collector_process import Collector


def _post(collector: Collector, body: dict[str, object], **headers: str) -> httpx.Response:
    return httpx.post(f"{collector.web}/api/v1/sql", json=body, headers=headers, timeout=30)


def test_arrow_ipc_answer_keeps_types(collector: Collector) -> None:
    query = "SELECT 1::BIGINT AS n, 'x' AS s, TIMESTAMP '2026-01-02 03:04:05' AS t, [1, 2] AS l FROM range(3)"
    response = _post(collector, {"query": query, "format": "arrow"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apache.arrow.stream"
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.num_rows == 3
    assert table.schema.field("n").type == pa.int64()
    assert pa.types.is_timestamp(table.schema.field("t").type)
    assert table.column("l").to_pylist() == [[1, 2]] * 3
    assert response.headers["x-annotrace-truncated"] == "false"
    by_accept = _post(collector, {"query": "SELECT 42 AS answer"}, accept="application/vnd.apache.arrow.stream")
    assert pa.ipc.open_stream(by_accept.content).read_all().to_pydict() == {"answer": [42]}


def test_row_limit_truncates_and_says_so(collector: Collector) -> None:
    body = _post(collector, {"query": "SELECT * FROM range(100)", "max_rows": 10}).json()
    assert len(body["rows"]) == 10 and body["truncated"] is True
    arrow = _post(collector, {"query": "SELECT * FROM range(100)", "max_rows": 10, "format": "arrow"})
    assert pa.ipc.open_stream(arrow.content).read_all().num_rows == 10
    assert arrow.headers["x-annotrace-truncated"] == "true"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "Not allowed"),
        ("COPY spans TO '/tmp/annotrace-copy.csv'", "Only read-only queries"),
        ("ATTACH '/tmp/annotrace-attach.db' AS other", "Only read-only queries"),
        ("INSTALL httpfs", "Only read-only queries"),
        ("LOAD httpfs", "Only read-only queries"),
        ("SET enable_external_access = true", "Only read-only queries"),
        ("SET memory_limit = '100GB'", "Only read-only queries"),
        ("RESET memory_limit", "Only read-only queries"),
        ("PRAGMA database_list", "Only read-only queries"),
        ("DROP TABLE spans", "Only read-only queries"),
        ("SELECT 1; DROP TABLE spans", "Exactly one SQL statement"),
        ("SELECT * FROM glob('/*')", "Not allowed"),
        ("SELEC 1", "Invalid SQL"),
    ],
)
def test_hostile_sql_is_refused_and_changes_nothing(collector: Collector, query: str, words: str) -> None:
    before = collector.sql("SELECT count(*) AS n FROM duckdb_tables()")
    for fmt in ("json", "arrow"):
        response = _post(collector, {"query": query, "format": fmt})
        assert response.status_code == 400, response.text
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert words in response.json()["message"]
    assert collector.sql("SELECT count(*) AS n FROM duckdb_tables()") == before


@pytest.mark.parametrize(
    "body",
    [{}, {"query": ""}, {"query": 5}, {"query": "SELECT 1", "max_rows": 0}, {"query": "SELECT 1", "format": "xml"}],
)
def test_bad_bodies_name_the_field(collector: Collector, body: dict[str, object]) -> None:
    response = _post(collector, body)
    assert response.status_code == 400
    message = response.json()["message"]
    assert any(field in message for field in ("'query'", "'max_rows'", "'format'"))
