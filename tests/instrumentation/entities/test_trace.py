"""``TraceInfo``/``Trace``: the REST ``TraceInfoV3`` in, MLflow's dict/JSON and DataFrame row out."""

from __future__ import annotations

import json

import pytest

from annotrace.entities import Expectation, Feedback, Trace, TraceInfo, TraceState
from annotrace.entities.trace import TRACE_SCHEMA_COLUMNS
from annotrace.exceptions import MlflowException
from tests.instrumentation.entities.test_assessment import ERROR_FEEDBACK_JSON, EXPECTATION_JSON, STORED_FEEDBACK_JSON
from tests.instrumentation.entities.test_span import REST_SPAN, SPAN_HEX, TRACE_HEX, b64

TRACE_ID = f"tr-{TRACE_HEX}"
# Reference 6.2's GET /api/3.0/mlflow/traces/{id} example, with assessments.
TRACE_INFO_JSON = {
    "trace_id": TRACE_ID,
    "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "1"}},
    "request_time": "2023-11-14T22:13:20Z",
    "execution_duration": "0.250s",
    "state": "OK",
    "trace_metadata": {"mlflow.trace_schema.version": "3"},
    "tags": {"mlflow.traceName": "predict"},
    "request_preview": '{"q": "hi"}',
    "response_preview": "hello",
    "assessments": [STORED_FEEDBACK_JSON, EXPECTATION_JSON, {**ERROR_FEEDBACK_JSON, "valid": False}],
}
ROOT_SPAN = {
    **REST_SPAN,
    "span_id": b64("aa" * 8),
    "parent_span_id": None,
    "name": "predict",
    "status": {"code": "STATUS_CODE_OK"},
}
REST_TRACE = {"trace_info": TRACE_INFO_JSON, "spans": [ROOT_SPAN, {**REST_SPAN, "parent_span_id": b64("aa" * 8)}]}


def test_trace_info_from_rest_json() -> None:
    info = TraceInfo.from_dict(TRACE_INFO_JSON)
    assert (info.trace_id, info.request_id, info.experiment_id) == (TRACE_ID, TRACE_ID, "1")
    assert (info.request_time, info.timestamp_ms) == (1700000000000, 1700000000000)
    assert (info.execution_duration, info.execution_time_ms) == (250, 250)
    assert info.state is TraceState.OK and info.state == "OK"
    assert info.tags == {"mlflow.traceName": "predict"}
    assert info.request_metadata == {"mlflow.trace_schema.version": "3"}
    assert [type(a) for a in info.assessments] == [Feedback, Expectation, Feedback]


def test_trace_info_to_dict_is_mlflows() -> None:
    d = TraceInfo.from_dict(TRACE_INFO_JSON).to_dict()
    expected = {key: value for key, value in TRACE_INFO_JSON.items() if key != "execution_duration"}
    assert d == {**expected, "execution_duration_ms": 250}
    assert TraceInfo.from_dict(d) == TraceInfo.from_dict(TRACE_INFO_JSON)


def test_trace_from_rest_and_json_round_trip() -> None:
    trace = Trace.from_rest(REST_TRACE)
    assert [span.name for span in trace.data.spans] == ["predict", "retrieve"]
    assert trace.data.spans[1].parent_id == "aa" * 8
    assert trace.data.request == '{"query": "hi"}'  # the root span's raw inputs JSON
    assert trace.data.response == "42"
    again = Trace.from_json(trace.to_json())
    assert again.to_dict() == trace.to_dict()
    assert json.loads(trace.to_json(pretty=True)) == trace.to_dict()
    with pytest.raises(MlflowException, match="both 'info' and 'data' must be present"):
        Trace.from_dict({"info": {}})


def test_dataframe_row_has_mlflows_columns_in_order() -> None:
    trace = Trace.from_rest(REST_TRACE)
    row = trace.to_pandas_dataframe_row()
    assert (
        list(row)
        == TRACE_SCHEMA_COLUMNS
        == [
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
    )
    assert row["trace_id"] == TRACE_ID
    assert json.loads(row["trace"]) == trace.to_dict()
    assert (row["state"], row["request_time"], row["execution_duration"]) == ("OK", 1700000000000, 250)
    assert (row["request"], row["response"]) == ({"query": "hi"}, 42)
    assert row["spans"][1]["span_id"] == b64(SPAN_HEX)
    assert row["assessments"][0] == STORED_FEEDBACK_JSON
    assert row["assessments"][2]["valid"] is False  # invalid (overridden) ones are listed too


def test_search_assessments_and_spans() -> None:
    trace = Trace.from_rest(REST_TRACE)
    assert [a.name for a in trace.search_assessments()] == ["quality", "expected_facts"]
    assert [a.name for a in trace.search_assessments(all=True)] == ["quality", "expected_facts", "failed_evaluation"]
    assert [a.name for a in trace.search_assessments(type="expectation")] == ["expected_facts"]
    assert trace.search_assessments("quality")[0].assessment_id == "a-" + "1" * 32
    with pytest.raises(MlflowException, match="Invalid type: judge"):
        trace.search_assessments(type="judge")
    assert [s.name for s in trace.search_spans(span_type="RETRIEVER")] == ["predict", "retrieve"]
    assert [s.name for s in trace.search_spans(name="retrieve")] == ["retrieve"]
