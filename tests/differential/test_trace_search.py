"""search_traces filters, order_by and client_request_id through the stock mlflow client: the same
traces, in the same order, from annotrace as from mlflow server."""

from __future__ import annotations

from tests.differential.harness import Differential

ERROR = {"error_code": "INVALID_PARAMETER_VALUE", "http_status": 400}


def test_filters_order_and_client_request_id(differential: Differential) -> None:
    stock = differential.assert_same("trace_search.py", "filters_and_order")
    assert stock["client_request_id"] == "req-42" and stock["client_request_id_in_search"] == ["req-42"]
    assert stock["filters"]["trace.execution_time_ms > 1000"] == ["beta", "gamma"]
    assert stock["filters"]["tags.env IN ('prod', 'dev')"] == ERROR
    assert stock["orders"]["tags.env"] == ["beta", "gamma", "alpha", "delta"]
    assert stock["filters"]["feedback.quality > 3"] == ["alpha"]


def test_where_annotrace_answers_more_than_mlflow(differential: Differential) -> None:
    """Deliberate differences, kept apart so the comparison above stays exact: annotrace takes OR
    (and parentheses), ``trace.name IN (...)`` and ``feedback.<name> = <number>``, which the stock
    server refuses, and refuses a number compared with text, which the stock server silently
    matches with nothing."""
    runs = differential.run("trace_search.py", "extensions")
    for by_server in runs.values():
        stock, ours = by_server["stock"].result["filters"], by_server["annotrace"].result["filters"]
        assert stock["trace.name IN ('alpha', 'gamma')"] == ERROR
        assert ours["trace.name IN ('alpha', 'gamma')"] == ["alpha", "gamma"]
        assert stock["trace.name = 'alpha' OR trace.name = 'beta'"] == ERROR
        assert ours["trace.name = 'alpha' OR trace.name = 'beta'"] == ["alpha", "beta"]
        assert stock["feedback.quality = 2"] == ERROR and ours["feedback.quality = 2"] == ["beta"]
        assert stock["trace.execution_time_ms > 'slow'"] == []
        assert ours["trace.execution_time_ms > 'slow'"] == ERROR
