"""The fluent assessment API: MLflow's defaults and messages, and what it sends (scripted server)."""

from __future__ import annotations

import pytest

import annotrace
from annotrace.entities import AssessmentSource, Expectation, Feedback
from annotrace.exceptions import MlflowException
from tests.fakes.otlp_sink import OTLPSink
from tests.instrumentation.entities.test_assessment import EXPECTATION_JSON, STORED_FEEDBACK_JSON
from tests.instrumentation.scripted_server import Recorded, Reply, ScriptedServer

TRACE_ID = STORED_FEEDBACK_JSON["trace_id"]
OLD_ID = STORED_FEEDBACK_JSON["assessment_id"]
BASE = f"/api/3.0/mlflow/traces/{TRACE_ID}/assessments"


def stored(request: Recorded) -> Reply:
    """Answer a create like the collector: the body with an id and ``valid``."""
    return Reply(200, {"assessment": {**request.body["assessment"], "assessment_id": "a-" + "f" * 32, "valid": True}})


def test_log_feedback_defaults_to_code_source(server: ScriptedServer) -> None:
    server.route("POST", BASE, stored)
    result = annotrace.log_feedback(trace_id=TRACE_ID, name="is_helpful", value=True, rationale="yes")
    sent = server.requests[0].body["assessment"]
    assert sent["source"] == {"source_type": "CODE", "source_id": "default"}
    assert sent["trace_id"] == TRACE_ID
    assert (sent["assessment_name"], sent["feedback"], sent["rationale"]) == ("is_helpful", {"value": True}, "yes")
    assert isinstance(result, Feedback)
    assert (result.assessment_id, result.value, result.trace_id) == ("a-" + "f" * 32, True, TRACE_ID)


def test_log_expectation_defaults_to_human_source(server: ScriptedServer) -> None:
    server.route("POST", BASE, stored)
    result = annotrace.log_expectation(trace_id=TRACE_ID, name="expected_response", value={"a": 1}, span_id="ab" * 8)
    sent = server.requests[0].body["assessment"]
    assert sent["source"] == {"source_type": "HUMAN", "source_id": "default"}
    assert sent["span_id"] == "ab" * 8
    assert isinstance(result, Expectation) and result.value == {"a": 1}


def test_keyword_only_like_mlflow() -> None:
    with pytest.raises(TypeError):
        annotrace.log_feedback(TRACE_ID, "name", 1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        annotrace.log_expectation(TRACE_ID, "name", 1)  # type: ignore[misc]


def test_no_op_trace_id_logs_nothing(server: ScriptedServer) -> None:
    result = annotrace.log_feedback(trace_id="MLFLOW_NO_OP_SPAN_TRACE_ID", value=1)
    assert result.trace_id == "MLFLOW_NO_OP_SPAN_TRACE_ID" and result.assessment_id is None
    assert server.requests == []


def test_log_assessment_sets_the_trace_id(server: ScriptedServer) -> None:
    server.route("POST", BASE, stored)
    feedback = Feedback(name="quality", value=0.5, source=AssessmentSource("LLM_JUDGE", "judge"))
    result = annotrace.log_assessment(TRACE_ID, feedback)
    assert feedback.trace_id == TRACE_ID
    assert server.requests[0].body["assessment"]["source"] == {"source_type": "LLM_JUDGE", "source_id": "judge"}
    assert result.assessment_id == "a-" + "f" * 32


def test_update_assessment_sends_the_given_fields(server: ScriptedServer) -> None:
    server.route("PATCH", f"{BASE}/{OLD_ID}", Reply(200, {"assessment": STORED_FEEDBACK_JSON}))
    annotrace.update_assessment(TRACE_ID, OLD_ID, Feedback(name="quality", value=5, rationale="revised"))
    body = server.requests[0].body
    assert body["update_mask"] == "assessment_name,feedback,rationale"
    assert body["assessment"]["feedback"] == {"value": 5.0}


def test_override_feedback(server: ScriptedServer) -> None:
    old = {**STORED_FEEDBACK_JSON, "span_id": "cd" * 8}
    server.route("GET", f"{BASE}/{OLD_ID}", Reply(200, {"assessment": old}))
    server.route("POST", BASE, stored)
    new = annotrace.override_feedback(trace_id=TRACE_ID, assessment_id=OLD_ID, value=2, rationale="judge was wrong")
    sent = server.requests[1].body["assessment"]
    assert (sent["assessment_name"], sent["span_id"], sent["overrides"]) == ("quality", "cd" * 8, OLD_ID)
    assert sent["source"] == {"source_type": "CODE", "source_id": "default"}  # MLflow's default, not the old one
    assert (sent["feedback"], sent["rationale"]) == ({"value": 2.0}, "judge was wrong")
    assert isinstance(new, Feedback) and new.overrides == OLD_ID


def test_override_refuses_an_expectation(server: ScriptedServer) -> None:
    eid = EXPECTATION_JSON["assessment_id"]
    server.route("GET", f"{BASE}/{eid}", Reply(200, {"assessment": EXPECTATION_JSON}))
    with pytest.raises(MlflowException, match=f"^The assessment with ID {eid} is not a feedback assessment.$"):
        annotrace.override_feedback(trace_id=TRACE_ID, assessment_id=eid, value=1)


def test_server_errors_surface_with_their_code(server: ScriptedServer) -> None:
    server.route(
        "GET",
        f"{BASE}/a-missing",
        Reply(
            404,
            {
                "error_code": "RESOURCE_DOES_NOT_EXIST",
                "message": f"Assessment with ID 'a-missing' not found for trace '{TRACE_ID}'",
            },
        ),
    )
    with pytest.raises(MlflowException, match="Assessment with ID 'a-missing' not found") as caught:
        annotrace.get_assessment(TRACE_ID, "a-missing")
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_assessing_the_running_trace_is_refused(sdk: OTLPSink) -> None:
    with annotrace.start_span("work") as span, pytest.raises(MlflowException, match="still running") as caught:
        annotrace.log_feedback(trace_id=span.trace_id, value=1)
    assert caught.value.error_code == "INVALID_STATE"
