"""Every bad-input rule of the assessment routes: status, MLflow error code, a message that names
the field, and no record written by a refused request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.collector.api.rest import MakeTrace, assert_error
from tests.collector_process import Collector

ASSESSMENTS = "/api/3.0/mlflow/traces/{}/assessments"
FB = {"feedback": {"value": 1}}
BIG = "x" * (64 * 1024 + 1)
UNKNOWN_TRACE = "tr-" + "0" * 31 + "1"


def body(**fields: Any) -> dict[str, Any]:
    return {"assessment": {"assessment_name": "q", **fields}}


# (id, request body, status, error code, words the message must contain)
CREATE_CASES: list[tuple[str, Any, int, str, tuple[str, ...]]] = [
    ("no assessment", {}, 400, "INVALID_PARAMETER_VALUE", ("'assessment'",)),
    ("assessment not an object", {"assessment": [1]}, 400, "INVALID_PARAMETER_VALUE", ("'assessment'", "object")),
    ("no name", {"assessment": FB}, 400, "INVALID_PARAMETER_VALUE", ("assessment.assessment_name",)),
    ("empty name", body(assessment_name=" ", **FB), 400, "INVALID_PARAMETER_VALUE", ("assessment.assessment_name",)),
    (
        "name not a string",
        body(assessment_name=3, **FB),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.assessment_name", "string"),
    ),
    (
        "name too long",
        body(assessment_name="n" * 251, **FB),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.assessment_name", "250"),
    ),
    (
        "neither kind",
        body(rationale="r"),
        400,
        "INVALID_PARAMETER_VALUE",
        ("Unknown assessment type", "assessment.feedback", "assessment.expectation"),
    ),
    (
        "both kinds",
        body(feedback={"value": 1}, expectation={"value": 2}),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.feedback", "assessment.expectation"),
    ),
    ("issue", body(issue={"issue_name": "x"}), 400, "INVALID_PARAMETER_VALUE", ("assessment.issue",)),
    ("feedback not an object", body(feedback=4), 400, "INVALID_PARAMETER_VALUE", ("assessment.feedback", "object")),
    (
        "value too large",
        body(feedback={"value": BIG}),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.feedback.value", "65536"),
    ),
    (
        "expectation value too large",
        body(expectation={"value": [BIG]}),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.expectation.value", "65536"),
    ),
    (
        "serialized value too large",
        body(expectation={"serialized_value": {"serialization_format": "JSON_FORMAT", "value": f'"{BIG}"'}}),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.expectation.serialized_value.value",),
    ),
    (
        "expectation without value",
        body(expectation={}),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.expectation.value",),
    ),
    (
        "expectation null value",
        body(expectation={"value": None}),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.expectation.value",),
    ),
    (
        "serialized value not JSON",
        body(expectation={"serialized_value": {"serialization_format": "JSON_FORMAT", "value": "{oops"}}),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.expectation.serialized_value.value", "JSON"),
    ),
    (
        "serialized value without format",
        body(expectation={"serialized_value": {"value": "1"}}),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.expectation.serialized_value.serialization_format",),
    ),
    (
        "error with expectation",
        body(expectation={"value": 1}, error={"error_code": "E"}),
        400,
        "INVALID_PARAMETER_VALUE",
        ("`error`", "expectation"),
    ),
    (
        "error without code",
        body(feedback={"error": {"error_message": "m"}}),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.feedback.error.error_code",),
    ),
    ("rationale not a string", body(rationale=5, **FB), 400, "INVALID_PARAMETER_VALUE", ("assessment.rationale",)),
    (
        "rationale too long",
        body(rationale=BIG, **FB),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.rationale", "65536"),
    ),
    ("metadata not an object", body(metadata=["a"], **FB), 400, "INVALID_PARAMETER_VALUE", ("assessment.metadata",)),
    (
        "metadata value not a string",
        body(metadata={"n": 3}, **FB),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.metadata.n", "string"),
    ),
    (
        "metadata too large",
        body(metadata={"k": BIG}, **FB),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.metadata", "65536"),
    ),
    ("source not an object", body(source="HUMAN", **FB), 400, "INVALID_PARAMETER_VALUE", ("assessment.source",)),
    (
        "bad source type",
        body(source={"source_type": "ROBOT"}, **FB),
        400,
        "INVALID_PARAMETER_VALUE",
        ("Invalid assessment source type: ROBOT", "assessment.source.source_type"),
    ),
    (
        "source id not a string",
        body(source={"source_type": "HUMAN", "source_id": 7}, **FB),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.source.source_id",),
    ),
    ("malformed span id", body(span_id="zz", **FB), 400, "INVALID_PARAMETER_VALUE", ("assessment.span_id", "zz")),
    (
        "span of another trace",
        body(span_id="0123456789abcdef", **FB),
        400,
        "INVALID_PARAMETER_VALUE",
        ("assessment.span_id", "0123456789abcdef"),
    ),
    (
        "unknown override target",
        body(overrides="a-" + "f" * 32, **FB),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        ("a-" + "f" * 32,),
    ),
]


@pytest.mark.parametrize(
    ("payload", "status", "code", "words"), [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES]
)
def test_create_refuses_bad_input_and_writes_nothing(
    api: httpx.Client,
    collector: Collector,
    make_trace: MakeTrace,
    payload: Any,
    status: int,
    code: str,
    words: tuple[str, ...],
) -> None:
    trace = make_trace()
    assert_error(api.post(ASSESSMENTS.format(trace.trace_id), json=payload), status, code, *words)
    assert collector.sql(f"SELECT count(*) AS n FROM assessments WHERE trace_id = '{trace.trace_id}'") == [{"n": 0}]


def test_create_on_unknown_or_malformed_trace_is_404(api: httpx.Client) -> None:
    assert_error(
        api.post(ASSESSMENTS.format(UNKNOWN_TRACE), json=body(**FB)),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        f"Trace with ID '{UNKNOWN_TRACE}' not found",
    )
    assert_error(
        api.post(ASSESSMENTS.format("not-a-trace"), json=body(**FB)), 404, "RESOURCE_DOES_NOT_EXIST", "not-a-trace"
    )


def test_create_needs_a_json_body(api: httpx.Client, make_trace: MakeTrace) -> None:
    url = ASSESSMENTS.format(make_trace().trace_id)
    assert_error(api.post(url, content=b'{"assessment": '), 400, "INVALID_PARAMETER_VALUE", "Content-Type")
    assert_error(
        api.post(url, content=b"assessment=1", headers={"content-type": "application/x-www-form-urlencoded"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Content-Type must be one of ['application/json']",
    )
    assert_error(
        api.post(url, content=b'{"assessment": ', headers={"content-type": "application/json"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Malformed JSON",
    )
    assert_error(api.post(url, json=[1, 2]), 400, "INVALID_PARAMETER_VALUE", "request body", "object")
    assert_error(
        api.post(url, content=b"{" + b" " * (5 * 1024 * 1024) + b"}", headers={"content-type": "application/json"}),
        413,
        "PAYLOAD_TOO_LARGE",
        "limit",
    )


def test_unknown_assessment_is_404_but_delete_is_idempotent(api: httpx.Client, make_trace: MakeTrace) -> None:
    trace = make_trace()
    missing = "a-" + "0" * 32
    url = f"{ASSESSMENTS.format(trace.trace_id)}/{missing}"
    message = f"Assessment with ID '{missing}' not found for trace '{trace.trace_id}'"
    assert_error(api.get(url), 404, "RESOURCE_DOES_NOT_EXIST", message)
    assert_error(
        api.patch(url, json={"assessment": {"rationale": "r"}, "update_mask": "rationale"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        message,
    )
    response = api.delete(url)
    assert response.status_code == 200 and response.json() == {}


def test_unknown_trace_is_404_on_every_assessment_route(api: httpx.Client) -> None:
    url = f"{ASSESSMENTS.format(UNKNOWN_TRACE)}/a-{'0' * 32}"
    for response in (
        api.get(url),
        api.delete(url),
        api.patch(url, json={"assessment": {"rationale": "r"}, "update_mask": "rationale"}),
    ):
        assert_error(response, 404, "RESOURCE_DOES_NOT_EXIST", UNKNOWN_TRACE)


UPDATE_CASES: list[tuple[str, Any, str, tuple[str, ...]]] = [
    ("no update_mask", {"assessment": {"rationale": "r"}}, "INVALID_PARAMETER_VALUE", ("'update_mask'",)),
    ("no assessment", {"update_mask": "rationale"}, "INVALID_PARAMETER_VALUE", ("'assessment'",)),
    ("empty mask", {"assessment": {}, "update_mask": " , "}, "INVALID_PARAMETER_VALUE", ("update_mask",)),
    ("mask not a string", {"assessment": {}, "update_mask": 3}, "INVALID_PARAMETER_VALUE", ("update_mask",)),
    (
        "unknown field",
        {"assessment": {}, "update_mask": "rationale,colour"},
        "INVALID_PARAMETER_VALUE",
        ("update_mask", "colour"),
    ),
    (
        "immutable field",
        {"assessment": {"source": {"source_type": "HUMAN"}}, "update_mask": "source"},
        "INVALID_PARAMETER_VALUE",
        ("update_mask", "source"),
    ),
    (
        "both kinds",
        {"assessment": {"feedback": {"value": 1}}, "update_mask": "feedback,expectation"},
        "INVALID_PARAMETER_VALUE",
        ("expectation", "feedback"),
    ),
    (
        "masked value missing",
        {"assessment": {"rationale": "r"}, "update_mask": "feedback"},
        "INVALID_PARAMETER_VALUE",
        ("assessment.feedback",),
    ),
    (
        "unmasked other kind",
        {"assessment": {"feedback": {"value": 1}, "expectation": {"value": 1}}, "update_mask": "feedback"},
        "INVALID_PARAMETER_VALUE",
        ("assessment.expectation",),
    ),
    (
        "switch to expectation",
        {"assessment": {"expectation": {"value": "x"}}, "update_mask": "expectation"},
        "INVALID_PARAMETER_VALUE",
        ("Cannot update expectation value on a Feedback assessment.",),
    ),
    (
        "empty new name",
        {"assessment": {"assessment_name": ""}, "update_mask": "assessment_name"},
        "INVALID_PARAMETER_VALUE",
        ("assessment.assessment_name",),
    ),
    (
        "value too large",
        {"assessment": {"feedback": {"value": BIG}}, "update_mask": "feedback"},
        "INVALID_PARAMETER_VALUE",
        ("assessment.feedback.value",),
    ),
    (
        "metadata value not a string",
        {"assessment": {"metadata": {"k": 1}}, "update_mask": "metadata"},
        "INVALID_PARAMETER_VALUE",
        ("assessment.metadata.k",),
    ),
]


@pytest.mark.parametrize(("payload", "code", "words"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES])
def test_update_refuses_bad_input_and_changes_nothing(
    api: httpx.Client, make_trace: MakeTrace, payload: Any, code: str, words: tuple[str, ...]
) -> None:
    trace = make_trace()
    created = api.post(
        ASSESSMENTS.format(trace.trace_id), json=body(feedback={"value": 1}, rationale="keep", metadata={"a": "1"})
    ).json()["assessment"]
    url = f"{ASSESSMENTS.format(trace.trace_id)}/{created['assessment_id']}"
    assert_error(api.patch(url, json=payload), 400, code, *words)
    assert api.get(url).json()["assessment"] == created


def test_expectation_cannot_become_feedback(api: httpx.Client, make_trace: MakeTrace) -> None:
    trace = make_trace()
    created = api.post(ASSESSMENTS.format(trace.trace_id), json=body(expectation={"value": "Paris"})).json()[
        "assessment"
    ]
    url = f"{ASSESSMENTS.format(trace.trace_id)}/{created['assessment_id']}"
    assert_error(
        api.patch(url, json={"assessment": {"feedback": {"value": 1}}, "update_mask": "feedback"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Cannot update feedback value on an Expectation assessment.",
    )
    assert api.get(url).json()["assessment"] == created


# A body with several faults is refused for the first of: the envelope's required fields, the
# feedback/expectation oneof, then the fields in MLflow's field-number order whatever the JSON order
# (a stock MLflow server answers "Unknown assessment type" or "update_mask" missing for these too).
FIRST_FAULT_CASES: list[tuple[str, str, Any, str]] = [
    ("oneof before fields", "POST", {"assessment": {"assessment_name": 3, "rationale": 5}}, "Unknown assessment type"),
    (
        "name before rationale",
        "POST",
        {"assessment": {"rationale": 5, "assessment_name": 3, **FB}},
        "'assessment.assessment_name'",
    ),
    (
        "source before metadata",
        "POST",
        {"assessment": {"metadata": {"n": 3}, "source": {"source_type": "ROBOT"}, "assessment_name": "q", **FB}},
        "Invalid assessment source type: ROBOT",
    ),
    ("mask before fields", "PATCH", {"assessment": {"rationale": 5}}, "'update_mask'"),
    (
        "name before metadata",
        "PATCH",
        {"assessment": {"metadata": {"k": 1}, "assessment_name": ""}, "update_mask": "metadata,assessmentName"},
        "'assessment.assessment_name': must not be empty",
    ),
]


@pytest.mark.parametrize(
    ("method", "payload", "words"), [c[1:] for c in FIRST_FAULT_CASES], ids=[c[0] for c in FIRST_FAULT_CASES]
)
def test_the_first_fault_is_named_in_mlflow_field_order(
    api: httpx.Client, make_trace: MakeTrace, method: str, payload: Any, words: str
) -> None:
    url = ASSESSMENTS.format(make_trace().trace_id)
    if method == "PATCH":
        url += "/" + api.post(url, json=body(**FB)).json()["assessment"]["assessment_id"]
    assert_error(api.request(method, url, json=payload), 400, "INVALID_PARAMETER_VALUE", words)
