"""The assessment RPCs send exactly MLflow's paths and bodies and read the answers back."""

from __future__ import annotations

from annotrace.client import assessments
from annotrace.entities import AssessmentSource, Expectation, Feedback
from annotrace.entities.assessment import ExpectationValue, FeedbackValue
from tests.instrumentation.entities.test_assessment import EXPECTATION_JSON, STORED_FEEDBACK_JSON
from tests.instrumentation.scripted_server import Recorded, Reply, ScriptedServer

TRACE_ID = STORED_FEEDBACK_JSON["trace_id"]
ASSESSMENT_ID = STORED_FEEDBACK_JSON["assessment_id"]
BASE = f"/api/3.0/mlflow/traces/{TRACE_ID}/assessments"


def test_create_posts_the_assessment_json(server: ScriptedServer) -> None:
    server.route("POST", BASE, Reply(200, {"assessment": STORED_FEEDBACK_JSON}))
    feedback = Feedback(
        name="quality",
        value=4,
        trace_id=TRACE_ID,
        source=AssessmentSource("HUMAN", "bob@example.com"),
        rationale="clear answer",
        metadata={"k": "v"},
    )
    stored = assessments.create_assessment(feedback)
    sent = server.requests[0]
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {"assessment": feedback.to_dictionary()}
    assert isinstance(stored, Feedback)
    assert stored.assessment_id == ASSESSMENT_ID


def test_get(server: ScriptedServer) -> None:
    server.route("GET", f"{BASE}/{ASSESSMENT_ID}", Reply(200, {"assessment": EXPECTATION_JSON}))
    got = assessments.get_assessment(TRACE_ID, ASSESSMENT_ID)
    assert isinstance(got, Expectation)
    assert got.value == {"facts": ["a", "b"]}


def test_update_sends_an_update_mask_of_the_given_fields(server: ScriptedServer) -> None:
    def echo(request: Recorded) -> Reply:
        return Reply(200, {"assessment": {**STORED_FEEDBACK_JSON, **request.body["assessment"]}})

    server.route("PATCH", f"{BASE}/{ASSESSMENT_ID}", echo)
    updated = assessments.update_assessment(
        TRACE_ID, ASSESSMENT_ID, name="quality", feedback=FeedbackValue(5), rationale="revised"
    )
    assert server.requests[0].body == {
        "assessment": {
            "assessment_id": ASSESSMENT_ID,
            "trace_id": TRACE_ID,
            "assessment_name": "quality",
            "feedback": {"value": 5.0},
            "rationale": "revised",
        },
        "update_mask": "assessment_name,feedback,rationale",
    }
    assert isinstance(updated, Feedback) and updated.value == 5
    assessments.update_assessment(TRACE_ID, ASSESSMENT_ID, expectation=ExpectationValue(["x"]), metadata={"n": 1})
    assert server.requests[1].body == {
        "assessment": {
            "assessment_id": ASSESSMENT_ID,
            "trace_id": TRACE_ID,
            "expectation": {"serialized_value": {"serialization_format": "JSON_FORMAT", "value": '["x"]'}},
            "metadata": {"n": "1"},
        },
        "update_mask": "expectation,metadata",
    }


def test_delete_sends_mlflows_body(server: ScriptedServer) -> None:
    server.route("DELETE", f"{BASE}/{ASSESSMENT_ID}", Reply(200, {}))
    assert assessments.delete_assessment(TRACE_ID, ASSESSMENT_ID) is None
    assert server.requests[0].body == {"trace_id": TRACE_ID, "assessment_id": ASSESSMENT_ID}
