"""The SDK's read API (``get_trace``, ``search_traces``) against a real collector.

The scripted-server tests (``test_traces.py``) pin what the SDK sends; these check that the
collector's answers come back as MLflow's shapes: spans with decoded inputs, paging over several
real pages, ordering, assessment filters, ``include_spans=False`` and the ``model_id`` filter.
"""

from __future__ import annotations

import pytest

import annotrace
import annotrace as mlflow
from annotrace.client import traces as traces_client
from annotrace.entities import Trace
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import app, run_app

__all__ = ["app"]  # the fixture, imported for pytest


def test_span_level_feedback(app: Collector) -> None:
    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(query: str) -> list[str]:
        return ["Paris is the capital of France."]

    @mlflow.trace
    def answer(question: str) -> str:
        return retrieve(question)[0]

    answer("What is the capital of France?")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    trace = mlflow.get_trace(trace_id)  # on the next line, as a user writes it
    assert trace is not None
    [retriever] = trace.search_spans(span_type="RETRIEVER")
    assert retriever.inputs == {"query": "What is the capital of France?"}
    relevant = mlflow.log_feedback(trace_id=trace_id, name="relevance", value="yes", span_id=retriever.span_id)
    assert relevant.span_id == retriever.span_id
    again = mlflow.get_trace(trace_id)
    assert again is not None
    assert again.search_assessments("relevance", span_id=retriever.span_id)[0].value == "yes"
    df = annotrace.sql(f"SELECT span_id FROM assessments WHERE trace_id = '{trace_id}'")
    assert list(df["span_id"]) == [retriever.span_id]


def test_search_traces_pages_and_shapes(app: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    trace_ids = [run_app(app, f"q{n}") for n in range(3)]
    mlflow.log_feedback(trace_id=trace_ids[0], name="quality", value=5)
    monkeypatch.setattr(traces_client, "MAX_PAGE_SIZE", 2)  # force several pages of the real server
    df = mlflow.search_traces()
    assert list(df.columns) == [
        "trace_id",
        "trace",
        "client_request_id",
        "state",
        "request_time",
        "execution_duration",
        "request",
        "response",
        "trace_metadata",
        "tags",
        "spans",
        "assessments",
    ]
    assert list(df["trace_id"]) == trace_ids[::-1]  # newest first
    assert list(df["request"]) == [{"input": "q2"}, {"input": "q1"}, {"input": "q0"}]
    assert list(df["response"]) == ["q2_output", "q1_output", "q0_output"]
    assert set(df["state"]) == {"OK"}
    assert all(len(spans) == 1 and spans[0]["name"] == "my_app" for spans in df["spans"])
    assert Trace.from_json(df["trace"][2]).info.assessments[0].name == "quality"
    assert list(mlflow.search_traces(max_results=2)["trace_id"]) == trace_ids[:0:-1]
    assert list(mlflow.search_traces(order_by=["timestamp_ms ASC"])["trace_id"]) == trace_ids
    assert list(mlflow.search_traces(filter_string="feedback.quality = 5")["trace_id"]) == [trace_ids[0]]
    listed = mlflow.search_traces(return_type="list", include_spans=False)
    assert [t.info.trace_id for t in listed] == trace_ids[::-1]
    assert all(t.data.spans == [] for t in listed)


def test_model_id_filter(app: Collector) -> None:
    plain = run_app(app, "before")
    model = mlflow.set_active_model(name="my-agent-v1")
    tagged = run_app(app, "after")
    assert plain != tagged
    found = mlflow.search_traces(model_id=model.model_id)
    assert list(found["trace_id"]) == [tagged]
    assert found["trace_metadata"][0]["mlflow.modelId"] == model.model_id


def test_update_current_trace_sets_the_client_request_id(app: Collector) -> None:
    """MLflow's ``update_current_trace(client_request_id=...)``: the trace's ``client_request_id``,
    returned by get_trace and search_traces and filtered on, not left in its metadata."""

    @mlflow.trace
    def handle(question: str) -> str:
        mlflow.update_current_trace(tags={"route": "faq"}, client_request_id="req-12345")
        return question.upper()

    handle("hello")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    assert trace.info.client_request_id == "req-12345"
    assert trace.info.tags["route"] == "faq" and "mlflow.clientRequestId" not in trace.info.trace_metadata
    found = mlflow.search_traces(filter_string="trace.client_request_id = 'req-12345'")
    assert list(found["trace_id"]) == [trace_id] and list(found["client_request_id"]) == ["req-12345"]
