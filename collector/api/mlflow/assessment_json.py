"""MLflow's ``Assessment`` message in JSON (reference 2 and 5): request parsing and serialising.

Parsing is strict where MLflow's protobuf parser is (types, the feedback/expectation oneof,
JSON_FORMAT) and adds limits MLflow lacks, so one oversized judge output cannot bloat the store:
a value is at most ``MAX_VALUE_BYTES`` of JSON, texts ``MAX_TEXT_CHARS``.
Ignored on create, as the server owns them: ``assessment_id``, ``trace_id`` (the path's wins),
``create_time``/``last_update_time`` (server time) and ``valid`` (a new assessment is valid).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from annotrace.collector.api.mlflow.wire import Fields, invalid, missing, parse_json, rfc3339
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.ids import span_hex
from annotrace.collector.store.queries.assessments import (
    Assessment,
    AssessmentError,
    AssessmentPatch,
    Kind,
    NewAssessment,
)

MAX_VALUE_BYTES = 64 * 1024
MAX_TEXT_CHARS = 64 * 1024
MAX_NAME_CHARS = 250
MAX_SOURCE_ID_CHARS = 250
MAX_METADATA_BYTES = 64 * 1024
SOURCE_TYPES = ("SOURCE_TYPE_UNSPECIFIED", "LLM_JUDGE", "HUMAN", "CODE")
_CAMEL = re.compile(r"[A-Z]")
MASK_PATHS = ("assessment_name", "expectation", "feedback", "rationale", "metadata")
IMMUTABLE_PATHS = (
    "assessment_id",
    "trace_id",
    "span_id",
    "source",
    "create_time",
    "last_update_time",
    "valid",
    "overrides",
)


def parse_create(body: Fields, trace_id: str) -> NewAssessment:
    """``{"assessment": {...}}`` of CreateAssessment -> a validated NewAssessment."""
    a = body.get_obj("assessment", required=True)
    assert a is not None
    name = a.get_str("assessment_name", required=True, max_chars=MAX_NAME_CHARS)
    assert name is not None
    kind, value, error = _value(a)
    source = a.get_obj("source")
    source_type, source_id = "SOURCE_TYPE_UNSPECIFIED", None
    if source is not None:
        source_type = _source_type(source)
        source_id = source.get_str("source_id", max_chars=MAX_SOURCE_ID_CHARS)
    span_id = a.get_str("span_id") or None
    return NewAssessment(
        trace_id=trace_id,
        name=name,
        kind=kind,
        value=value,
        error=error,
        rationale=a.get_str("rationale", max_chars=MAX_TEXT_CHARS),
        source_type=source_type,
        source_id=source_id,
        span_id=span_hex(span_id, a.path("span_id")) if span_id else None,
        metadata=a.get_str_map("metadata", max_key_chars=MAX_NAME_CHARS, max_bytes=MAX_METADATA_BYTES) or {},
        overrides=a.get_str("overrides", max_chars=MAX_NAME_CHARS) or None,
    )


def parse_update(body: Fields) -> AssessmentPatch:
    """UpdateAssessment: ``{"assessment": {...}, "update_mask": "feedback,rationale"}``."""
    a = body.get_obj("assessment", required=True)
    assert a is not None
    paths = _mask(body)
    if "feedback" in paths and "expectation" in paths:
        raise InvalidParameter("Cannot specify both `expectation` and `feedback` parameters. (update_mask)")
    kind: Kind | None = None
    value: Any = None
    error: AssessmentError | None = None
    if "feedback" in paths or "expectation" in paths:
        kind = "feedback" if "feedback" in paths else "expectation"
        if not a.has(kind):
            raise missing(a.path(kind))
        other = "expectation" if kind == "feedback" else "feedback"
        if a.has(other):
            raise InvalidParameter(
                f"Invalid value for parameter 'assessment': 'assessment.{other}' is set but update_mask names "
                f"'{kind}'; exactly one of `expectation` or `feedback` should be specified."
            )
        kind, value, error = _value(a)
    name = None
    if "assessment_name" in paths:
        name = a.get_str("assessment_name", required=True, max_chars=MAX_NAME_CHARS)
    metadata = None
    if "metadata" in paths:
        metadata = a.get_str_map("metadata", max_key_chars=MAX_NAME_CHARS, max_bytes=MAX_METADATA_BYTES) or {}
    rationale = a.get_str("rationale", max_chars=MAX_TEXT_CHARS) if "rationale" in paths else None
    return AssessmentPatch(name=name, kind=kind, value=value, error=error, rationale=rationale, metadata=metadata)


def assessment_json(a: Assessment) -> dict[str, Any]:
    """The stored assessment as MLflow's ``Assessment`` JSON (``to_dictionary`` shape)."""
    out: dict[str, Any] = {"assessment_id": a.assessment_id, "assessment_name": a.name, "trace_id": a.trace_id}
    if a.span_id is not None:
        out["span_id"] = a.span_id
    source: dict[str, Any] = {"source_type": a.source_type}
    if a.source_id is not None:
        source["source_id"] = a.source_id
    out["source"] = source
    out["create_time"] = rfc3339(a.create_time)
    out["last_update_time"] = rfc3339(a.last_update_time)
    if a.kind == "feedback":
        feedback: dict[str, Any] = {"value": a.value}
        if a.error is not None:
            error = {"error_code": a.error.error_code}
            if a.error.error_message is not None:
                error["error_message"] = a.error.error_message
            if a.error.stack_trace is not None:
                error["stack_trace"] = a.error.stack_trace
            feedback["error"] = error
        out["feedback"] = feedback
    elif isinstance(a.value, (str, int, float, bool)):
        out["expectation"] = {"value": a.value}
    else:  # MLflow sends structured expectations as JSON text
        out["expectation"] = {
            "serialized_value": {"serialization_format": "JSON_FORMAT", "value": orjson.dumps(a.value).decode()}
        }
    if a.rationale is not None:
        out["rationale"] = a.rationale
    if a.metadata:
        out["metadata"] = a.metadata
    if a.overrides is not None:
        out["overrides"] = a.overrides
    out["valid"] = a.valid
    return out


def _value(a: Fields) -> tuple[Kind, Any, AssessmentError | None]:
    """The oneof: exactly one of feedback / expectation, with its value or error."""
    has_feedback, has_expectation = a.has("feedback"), a.has("expectation")
    if has_feedback and has_expectation:
        raise InvalidParameter(
            "Invalid value for parameter 'assessment': both 'assessment.feedback' and 'assessment.expectation' are "
            "set; exactly one of `expectation` or `feedback` should be specified."
        )
    if not has_feedback and not has_expectation:
        if a.has("issue"):
            raise InvalidParameter(
                "Invalid value for parameter 'assessment.issue': issue assessments are not "
                "supported; set 'assessment.feedback' or 'assessment.expectation'."
            )
        raise InvalidParameter(
            "Unknown assessment type: None. Exactly one of 'assessment.feedback' or "
            "'assessment.expectation' must be set."
        )
    if has_feedback:
        feedback = a.get_obj("feedback")
        assert feedback is not None
        value = _checked_value(feedback.raw("value"), feedback.path("value"))
        error_fields = feedback.get_obj("error") or a.get_obj("error")  # top-level error: deprecated alias
        return "feedback", value, _error(error_fields) if error_fields is not None else None
    if a.has("error"):
        raise InvalidParameter("Cannot set `error` when `expectation` is specified. ('assessment.error')")
    expectation = a.get_obj("expectation")
    assert expectation is not None
    serialized = expectation.get_obj("serialized_value")
    if serialized is not None and expectation.has("value"):
        raise InvalidParameter(
            "Invalid value for parameter 'assessment.expectation': set either 'value' or 'serialized_value', not both."
        )
    if serialized is not None:
        return "expectation", _deserialize(serialized), None
    if not expectation.has("value"):
        raise InvalidParameter(
            f"The `value` field must be specified. (Missing '{expectation.path('value')}' or "
            f"'{expectation.path('serialized_value')}'.)"
        )
    return "expectation", _checked_value(expectation.raw("value"), expectation.path("value")), None


def _deserialize(serialized: Fields) -> Any:
    fmt = serialized.get_str("serialization_format", required=True)
    if fmt != "JSON_FORMAT":
        raise InvalidParameter(
            f"Unknown serialization format: {fmt}. Only JSON_FORMAT is supported. "
            f"('{serialized.path('serialization_format')}')"
        )
    text = serialized.get_str("value", required=True, max_chars=MAX_VALUE_BYTES)
    assert text is not None
    value = parse_json(text, serialized.path("value"))
    if value is None:
        raise InvalidParameter(f"The `value` field must be specified. ('{serialized.path('value')}' is null)")
    return _checked_value(value, serialized.path("value"))


def _checked_value(value: Any, path: str) -> Any:
    size = len(orjson.dumps(value))
    if size > MAX_VALUE_BYTES:
        raise InvalidParameter(
            f"Invalid value for parameter '{path}': {size} bytes of JSON, more than the limit of {MAX_VALUE_BYTES}."
        )
    return value


def _error(fields: Fields) -> AssessmentError:
    code = fields.get_str("error_code", required=True, max_chars=MAX_NAME_CHARS)
    assert code is not None
    return AssessmentError(
        error_code=code,
        error_message=fields.get_str("error_message", max_chars=MAX_TEXT_CHARS),
        stack_trace=fields.get_str("stack_trace", max_chars=MAX_TEXT_CHARS),
    )


def _source_type(source: Fields) -> str:
    raw = source.get_str("source_type")
    if raw is None:
        return "SOURCE_TYPE_UNSPECIFIED"
    value = "LLM_JUDGE" if raw.upper() == "AI_JUDGE" else raw.upper()
    if value not in SOURCE_TYPES:
        raise InvalidParameter(
            f"Invalid assessment source type: {raw}. Valid source types: {list(SOURCE_TYPES)} "
            f"('{source.path('source_type')}')"
        )
    return value


def _mask(body: Fields) -> list[str]:
    """The FieldMask's paths in snake_case. MLflow's client sends protobuf's JSON form, camelCase
    (``"assessmentName,feedback,rationale"``); snake_case (``assessment_name``) is accepted too."""
    raw = body.raw("update_mask")
    if raw is None or raw == "":
        raise missing("update_mask")
    if isinstance(raw, dict):  # FieldMask as an object: {"paths": [...]}
        raw = raw.get("paths")
    if isinstance(raw, str):
        paths = [p.strip() for p in raw.split(",") if p.strip()]
    elif isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        paths = [p.strip() for p in raw if p.strip()]
    else:
        raise invalid("update_mask", "a comma-separated string of field names", raw)
    paths = [_CAMEL.sub(lambda m: "_" + m.group(0).lower(), p) for p in paths]
    if not paths:
        raise missing("update_mask")
    for path in paths:
        if path in IMMUTABLE_PATHS:
            raise InvalidParameter(f"Invalid value for parameter 'update_mask': field '{path}' cannot be updated.")
        if path not in MASK_PATHS:
            raise InvalidParameter(
                f"Invalid value for parameter 'update_mask': unknown field '{path}'; updatable fields are "
                + ", ".join(MASK_PATHS)
                + "."
            )
    return paths
