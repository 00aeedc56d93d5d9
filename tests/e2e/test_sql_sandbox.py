"""DROP-style attacks through every path that runs a user's SQL, against a real collector: the HTTP
endpoint (JSON and Arrow answers), ``annotrace.sql``, ``annotrace sql --url`` and, once the
collector is stopped, ``annotrace sql --db``; and through the paths that turn user text into SQL
(search filters and order_by over REST, the SDK and the traces page). Each is refused with a 400 and afterwards nothing has
changed, health says ok and the next export is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

import annotrace
from annotrace.collector.cli import main as annotrace_cli
from annotrace.exceptions import MlflowException
from tests.collector.store.test_sandbox import HOSTILE
from tests.collector_process import Collector
from tests.otlp_builders import new_span_id, new_trace_id, request, span

STATE = {
    "tables": "SELECT table_name, column_count FROM duckdb_tables() ORDER BY ALL",
    "counts": "SELECT (SELECT count(*) FROM traces) AS traces, (SELECT count(*) FROM assessments) AS assessments",
    "objects": "SELECT function_name AS name FROM duckdb_functions() WHERE NOT internal UNION ALL "
    "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1",
    "spans": "SELECT trace_id, span_id, name FROM spans ORDER BY ALL",
    "experiments": "SELECT experiment_id, name FROM experiments ORDER BY ALL",
}


def _export(collector: Collector, name: str) -> str:
    trace_id = new_trace_id()
    body = request([span(trace_id, new_span_id(), name=name)]).SerializeToString()
    httpx.post(
        f"{collector.http}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
    ).raise_for_status()
    return "tr-" + trace_id.hex()


def _state(collector: Collector) -> dict[str, Any]:
    return {key: collector.sql(query) for key, query in STATE.items()}


def test_hostile_sql_through_every_path_changes_nothing(
    fresh_collector: Callable[..., Collector], capsys: pytest.CaptureFixture[str]
) -> None:
    collector = fresh_collector()
    tid = _export(collector, "before")
    collector.wait_for(f"SELECT name FROM spans WHERE trace_id = '{tid}'", [{"name": "before"}])
    before = _state(collector)
    annotrace.set_tracking_uri(collector.web)

    for query in HOSTILE:
        for fmt in ("json", "arrow"):
            response = httpx.post(f"{collector.web}/api/v1/sql", json={"query": query, "format": fmt}, timeout=30)
            assert response.status_code == 400, (query, fmt, response.text)
            assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        with pytest.raises(MlflowException) as raised:
            annotrace.sql(query)
        assert raised.value.error_code == "INVALID_PARAMETER_VALUE", query
        assert annotrace_cli(["sql", query, "--url", collector.web]) == 1, query
        assert "annotrace:" in capsys.readouterr().err

    for clause in (
        "tags.x = 'a'; DROP TABLE spans; --",
        "name = 'x' OR 1=1; DELETE FROM spans",
        "trace.status = 'OK'); DROP TABLE spans; --",
    ):
        with pytest.raises(MlflowException):
            annotrace.search_traces(experiment_ids=["0"], filter_string=clause)
        searched = httpx.post(
            f"{collector.web}/api/3.0/mlflow/traces/search",
            json={
                "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}}],
                "filter": clause,
            },
        )
        assert searched.status_code == 400, (clause, searched.text)
    with pytest.raises(MlflowException):
        annotrace.search_traces(experiment_ids=["0"], order_by=["timestamp_ms; DROP TABLE spans"])
    quoted = "metadata.`a'); DROP TABLE spans; --` = 'b'"  # a strange key is only a key (a bound parameter)
    assert len(annotrace.search_traces(experiment_ids=["0"], filter_string=quoted)) == 0
    page = httpx.get(f"{collector.web}/experiments/0/traces", params={"filter": "name = 'x'; DROP TABLE spans"})
    assert page.status_code < 500

    assert _state(collector) == before
    health = httpx.get(f"{collector.web}/api/v1/health").json()
    assert health["status"] == "ok" and health["dead_letters"] == 0
    after = _export(collector, "after")
    assert collector.wait_for(f"SELECT name FROM spans WHERE trace_id = '{after}'", [{"name": "after"}])

    assert collector.stop() == 0
    for query in HOSTILE:
        assert annotrace_cli(["sql", query, "--db", str(collector.db_path)]) == 1, query
    capsys.readouterr()
    assert (
        annotrace_cli(["sql", "SELECT count(*) AS n FROM spans", "--db", str(collector.db_path), "--format", "json"])
        == 0
    )
    assert capsys.readouterr().out.strip() == '[{"n":2}]'
