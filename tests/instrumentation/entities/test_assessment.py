"""Assessment entities: MLflow's exact JSON both ways, defaults, and MLflow's validation messages."""

from __future__ import annotations

import copy
import json
import re
import warnings

import pytest

from annotrace.entities import (
    Assessment,
    AssessmentError,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
)
from annotrace.entities.assessment import ExpectationValue, FeedbackValue
from annotrace.exceptions import AnnotraceException, MlflowException

TRACE_ID = "tr-0af7651916cd43dd8448eb211c80319c"
CREATED = "2025-06-01T10:00:00.123Z"
CREATED_MS = 1748772000123

# What MLflow's client sends for log_feedback(..., value=4) (reference 5), and the server's answer.
FEEDBACK_JSON = {
    "assessment_name": "quality",
    "trace_id": TRACE_ID,
    "source": {"source_type": "HUMAN", "source_id": "bob@example.com"},
    "create_time": CREATED,
    "last_update_time": CREATED,
    "feedback": {"value": 4.0},
    "rationale": "clear answer",
    "metadata": {"k": "v"},
    "valid": True,
}
STORED_FEEDBACK_JSON = {"assessment_id": "a-" + "1" * 32, **FEEDBACK_JSON}
EXPECTATION_JSON = {
    "assessment_id": "a-" + "2" * 32,
    "assessment_name": "expected_facts",
    "trace_id": TRACE_ID,
    "source": {"source_type": "HUMAN", "source_id": "qa_team@example.com"},
    "create_time": CREATED,
    "last_update_time": CREATED,
    "expectation": {"serialized_value": {"serialization_format": "JSON_FORMAT", "value": '{"facts": ["a", "b"]}'}},
    "valid": True,
}
ERROR_FEEDBACK_JSON = {
    "assessment_id": "a-" + "3" * 32,
    "assessment_name": "failed_evaluation",
    "trace_id": TRACE_ID,
    "source": {"source_type": "LLM_JUDGE", "source_id": "gpt-4o"},
    "create_time": CREATED,
    "last_update_time": CREATED,
    "feedback": {"value": None, "error": {"error_code": "RATE_LIMIT_EXCEEDED", "error_message": "API rate limit"}},
    "metadata": {"retry_count": "3"},
    "valid": True,
}


def test_feedback_to_dictionary_is_mlflows_create_body() -> None:
    feedback = Feedback(
        name="quality",
        value=4,
        source=AssessmentSource(source_type="HUMAN", source_id="bob@example.com"),
        trace_id=TRACE_ID,
        rationale="clear answer",
        metadata={"k": "v"},
        create_time_ms=CREATED_MS,
        last_update_time_ms=CREATED_MS,
    )
    assert feedback.to_dictionary() == FEEDBACK_JSON
    assert list(feedback.to_dictionary()) == list(FEEDBACK_JSON)  # MessageToDict's field order
    # google.protobuf.Value stores numbers as doubles: 4 goes out (and comes back) as 4.0.
    assert type(feedback.to_dictionary()["feedback"]["value"]) is float


@pytest.mark.parametrize("payload", [STORED_FEEDBACK_JSON, EXPECTATION_JSON, ERROR_FEEDBACK_JSON])
def test_rest_json_round_trips(payload: dict[str, object]) -> None:
    original = copy.deepcopy(payload)
    assessment = Assessment.from_dictionary(payload)
    assert assessment.to_dictionary() == original
    assert payload == original  # the input is not mutated


def test_from_dictionary_picks_the_class_and_decodes_values() -> None:
    feedback = Assessment.from_dictionary(STORED_FEEDBACK_JSON)
    assert isinstance(feedback, Feedback)
    assert (feedback.assessment_id, feedback.name, feedback.value, feedback.trace_id) == (
        "a-" + "1" * 32,
        "quality",
        4.0,
        TRACE_ID,
    )
    assert feedback.create_time_ms == CREATED_MS
    assert feedback.source == AssessmentSource("HUMAN", "bob@example.com")
    expectation = Assessment.from_dictionary(EXPECTATION_JSON)
    assert isinstance(expectation, Expectation)
    assert expectation.value == {"facts": ["a", "b"]}
    failed = Assessment.from_dictionary(ERROR_FEEDBACK_JSON)
    assert isinstance(failed, Feedback)
    assert failed.value is None
    assert (failed.error_code, failed.error_message) == ("RATE_LIMIT_EXCEEDED", "API rate limit")


def test_overrides_and_valid_survive() -> None:
    payload = {**STORED_FEEDBACK_JSON, "overrides": "a-" + "9" * 32, "valid": False}
    feedback = Assessment.from_dictionary(payload)
    assert (feedback.overrides, feedback.valid) == ("a-" + "9" * 32, False)
    assert feedback.to_dictionary() == payload


def test_defaults_follow_mlflow() -> None:
    feedback = Feedback()
    assert feedback.name == "feedback"
    assert feedback.source == AssessmentSource(source_type="CODE", source_id="default")
    assert feedback.valid is True
    assert feedback.create_time_ms == feedback.last_update_time_ms
    expectation = Expectation(name="expected", value="Paris")
    assert expectation.source == AssessmentSource(source_type="HUMAN", source_id="default")
    assert expectation.valid is None
    assert "valid" not in expectation.to_dictionary()
    assert expectation.to_dictionary()["trace_id"] == ""  # proto2: set to "" when unknown
    assert expectation.to_dictionary()["expectation"] == {"value": "Paris"}


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("The capital of France is Paris.", {"value": "The capital of France is Paris."}),
        (42, {"value": 42.0}),
        (True, {"value": True}),
        ({"a": [1]}, {"serialized_value": {"serialization_format": "JSON_FORMAT", "value": '{"a": [1]}'}}),
        (["x", "y"], {"serialized_value": {"serialization_format": "JSON_FORMAT", "value": '["x", "y"]'}}),
    ],
)
def test_expectation_wire_encoding(value: object, wire: dict[str, object]) -> None:
    assert ExpectationValue(value).to_dictionary() == wire
    assert ExpectationValue.from_dictionary(wire).value == value


def test_feedback_values_keep_structure_numbers_become_floats() -> None:
    assert FeedbackValue(["helpful", 1, True]).to_dictionary() == {"value": ["helpful", 1.0, True]}
    assert FeedbackValue({"a": 2}).to_dictionary() == {"value": {"a": 2.0}}


def test_error_forms() -> None:
    try:
        raise TimeoutError("judge timed out")
    except TimeoutError as caught:
        from_exception = Feedback(name="f", error=caught)
    assert from_exception.error_code == "TimeoutError"
    assert from_exception.error_message == "judge timed out"
    assert from_exception.feedback is not None and from_exception.feedback.error is not None
    assert "TimeoutError: judge timed out" in (from_exception.feedback.error.stack_trace or "")
    from_text = Feedback(name="f", error="boom")
    assert (from_text.error_code, from_text.error_message) == ("ASSESSMENT_ERROR", "boom")
    with pytest.raises(
        MlflowException, match=re.escape("'error' must be an Exception, AssessmentError, or string. Got: ")
    ):
        Feedback(name="f", error=42)  # type: ignore[arg-type]


def test_long_stack_traces_are_cut_to_their_tail() -> None:
    error = AssessmentError(error_code="E", stack_trace="x" * 9990 + "TAIL" + "y" * 100)
    wire = Feedback(name="f", error=error).to_dictionary()["feedback"]["error"]
    assert len(wire["stack_trace"]) == 10000
    assert wire["stack_trace"].startswith("[Stack trace is truncated]\n...\n")
    assert wire["stack_trace"].endswith("TAIL" + "y" * 100)
    assert error.to_dictionary() == {"error_code": "E", "error_message": None, "stack_trace": error.stack_trace}


def test_validation_messages() -> None:
    with pytest.raises(MlflowException, match=r"^The `value` field must be specified\.$") as caught:
        Expectation(name="e", value=None)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="Exactly one of `expectation`, `feedback`, or `issue` should be"):
        Assessment(name="x", source=AssessmentSource("HUMAN"))
    with pytest.raises(MlflowException, match=re.escape("Cannot set `error` when `expectation` is specified.")):
        Assessment(
            name="x", source=AssessmentSource("HUMAN"), expectation=ExpectationValue(1), error=AssessmentError("E")
        )
    with pytest.raises(
        MlflowException, match=re.escape("`source` must be an instance of `AssessmentSource`. Got <class 'str'>")
    ):
        Feedback(name="x", value=1, source="HUMAN")  # type: ignore[arg-type]
    with pytest.raises(
        MlflowException, match=r"Failed to serialize value .* Expectation value must be JSON-serializable"
    ):
        Expectation(name="e", value={"a": object()}).to_dictionary()
    with pytest.raises(
        MlflowException, match=re.escape("Unknown serialization format: PICKLE. Only JSON_FORMAT is supported.")
    ):
        ExpectationValue.from_dictionary({"serialized_value": {"serialization_format": "PICKLE", "value": "x"}})
    with pytest.raises(MlflowException, match="Either 'value' or 'serialized_value' must be present"):
        ExpectationValue.from_dictionary({})
    with pytest.raises(MlflowException, match="Unknown assessment type: nameless"):
        Assessment.from_dictionary({"assessment_name": "nameless"})


def test_source_types() -> None:
    assert AssessmentSource(source_type="llm_judge", source_id="gpt").source_type == "LLM_JUDGE"
    assert AssessmentSource(source_type=AssessmentSourceType.CODE).to_dictionary() == {
        "source_type": "CODE",
        "source_id": "default",
    }
    with pytest.warns(FutureWarning, match="AI_JUDGE is deprecated. Use LLM_JUDGE instead."):
        assert AssessmentSource(source_type=AssessmentSourceType.AI_JUDGE).source_type == "LLM_JUDGE"
    with pytest.raises(AnnotraceException) as caught:
        AssessmentSource(source_type="robot")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert caught.value.message == (
        "Invalid assessment source type: ROBOT. Valid source types: "
        "['SOURCE_TYPE_UNSPECIFIED', 'LLM_JUDGE', 'HUMAN', 'CODE']"
    )
    assert AssessmentSource.from_dictionary({"source_type": "HUMAN"}).source_id == "default"


def test_metadata_values_are_strings_on_the_wire_and_run_id_is_read() -> None:
    feedback = Feedback(name="f", value=1, metadata={"n": 3, "mlflow.assessment.sourceRunId": "run-1"})
    assert feedback.run_id == "run-1"
    assert feedback.to_dictionary()["metadata"] == {"n": "3", "mlflow.assessment.sourceRunId": "run-1"}


def test_entities_json_is_plain_json() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = json.dumps(Assessment.from_dictionary(EXPECTATION_JSON).to_dictionary())
    assert json.loads(text) == EXPECTATION_JSON
