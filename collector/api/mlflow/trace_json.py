"""MLflow's ``TraceInfoV3`` and ``Trace`` JSON (reference 6.2, 6.3) built from store rows.

OTLP traces carry no MLflow bookkeeping, so the tags and metadata MLflow clients read are
derived here when the trace did not set them: ``mlflow.traceName`` from the root span name,
session/user/token usage from the canonical columns, and always
``mlflow.trace.spansLocation = TRACKING_STORE``, which tells the stock MLflow client that spans
come from ``GET /traces/get`` (never from an artifact upload).

Spans use the OTel proto JSON of ``Trace.spans`` (what MLflow's server sends and its client parses
with ``Span.from_otel_proto``): base64 ids, ``SPAN_KIND_*``, ``STATUS_CODE_*`` and typed
AnyValue attributes, with ``mlflow.spanType``/``spanInputs``/``spanOutputs`` filled from the
canonical columns when the span was not sent by an MLflow client.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from annotrace.collector.api.mlflow.assessment_json import assessment_json
from annotrace.collector.api.mlflow.wire import MAX_JSON_DEPTH, duration, nesting_depth, rfc3339
from annotrace.collector.store.queries.assessments import Assessment
from annotrace.collector.store.queries.traces import SpanRow, TraceRow

SPANS_LOCATION = "mlflow.trace.spansLocation"
TRACE_SCHEMA_VERSION = "3"


def trace_info(row: TraceRow, assessments: list[Assessment]) -> dict[str, Any]:
    metadata: dict[str, str] = {"mlflow.trace_schema.version": TRACE_SCHEMA_VERSION}
    if row.session_id is not None:
        metadata["mlflow.trace.session"] = row.session_id
    if row.user_id is not None:
        metadata["mlflow.trace.user"] = row.user_id
    usage = {
        k: v
        for k, v in (
            ("input_tokens", row.input_tokens),
            ("output_tokens", row.output_tokens),
            ("total_tokens", row.total_tokens),
        )
        if v is not None
    }
    if usage:
        metadata["mlflow.trace.tokenUsage"] = orjson.dumps(usage).decode()
    metadata.update(row.trace_metadata)
    tags: dict[str, str] = {"mlflow.traceName": row.name} if row.name is not None else {}
    tags.update(row.tags)
    tags[SPANS_LOCATION] = "TRACKING_STORE"
    info: dict[str, Any] = {
        "trace_id": row.trace_id,
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": row.experiment_id}},
    }
    if row.client_request_id is not None:
        info["client_request_id"] = row.client_request_id
    if row.request_preview is not None:
        info["request_preview"] = row.request_preview
    if row.response_preview is not None:
        info["response_preview"] = row.response_preview
    info.update(
        {
            "request_time": rfc3339(row.request_time),
            "execution_duration": duration(row.execution_duration_ms),
            "state": row.state,
            "trace_metadata": metadata,
            "assessments": [assessment_json(a) for a in assessments],
            "tags": tags,
        }
    )
    return info


def trace(row: TraceRow, assessments: list[Assessment], spans: list[SpanRow]) -> dict[str, Any]:
    """``Trace`` JSON: ``{"trace_info": ..., "spans": [OTel proto span JSON]}``."""
    trace_bytes = bytes.fromhex(row.trace_id.removeprefix("tr-"))
    return {"trace_info": trace_info(row, assessments), "spans": [_span(row.trace_id, trace_bytes, s) for s in spans]}


def span_dicts(trace_id: str, spans: list[SpanRow]) -> list[dict[str, Any]]:
    """Spans as MLflow's ``Span.to_dict()`` (reference 8.2: the DataFrame ``spans`` column and
    ``traces.json``): base64 ids, attribute values as JSON text, one layer of OTLP double
    encoding removed as MLflow's OTLP receiver does."""
    trace_b64 = _b64(bytes.fromhex(trace_id.removeprefix("tr-")))
    out = []
    for span in spans:
        attributes = {
            key: orjson.dumps(_strip_double_encoding(value)).decode()
            for key, value in _mlflow_attributes(trace_id, span).items()
        }
        out.append(
            {
                "trace_id": trace_b64,
                "span_id": _b64(bytes.fromhex(span.span_id)),
                "parent_span_id": _b64(bytes.fromhex(span.parent_span_id)) if span.parent_span_id else None,
                "name": span.name,
                "kind": f"SPAN_KIND_{span.kind}",
                "start_time_unix_nano": span.start_time_unix_nano,
                "end_time_unix_nano": span.end_time_unix_nano,
                "events": [
                    {"name": e.name, "time_unix_nano": e.time_unix_nano, "attributes": e.attributes}
                    for e in span.events
                ],
                "status": {"code": f"STATUS_CODE_{span.status_code}", "message": span.status_message or ""},
                "attributes": attributes,
                "links": [
                    {"trace_id": link.trace_id, "span_id": link.span_id, "attributes": link.attributes}
                    for link in span.links
                ],
            }
        )
    return out


def _mlflow_attributes(trace_id: str, span: SpanRow) -> dict[str, Any]:
    """The span's attributes plus MLflow's own keys, filled from the canonical columns when the
    span came from another convention (OTel GenAI, OpenInference)."""
    attributes = dict(span.attributes)
    attributes.setdefault("mlflow.traceRequestId", orjson.dumps(trace_id).decode())
    if span.span_type and span.span_type != "UNKNOWN":
        attributes.setdefault("mlflow.spanType", orjson.dumps(span.span_type).decode())
    if span.inputs is not None:
        attributes.setdefault("mlflow.spanInputs", span.inputs)
    if span.outputs is not None:
        attributes.setdefault("mlflow.spanOutputs", span.outputs)
    return attributes


def _strip_double_encoding(value: Any) -> Any:
    """A string holding JSON text of a string, list or object is that value (MLflow's rule)."""
    if isinstance(value, str) and value[:1] in ('"', "[", "{"):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
        if isinstance(parsed, (str, list, dict)) and nesting_depth(parsed) <= MAX_JSON_DEPTH:  # else kept as text
            return parsed
    return value


def _span(trace_id: str, trace_bytes: bytes, span: SpanRow) -> dict[str, Any]:
    attributes = _mlflow_attributes(trace_id, span)
    out: dict[str, Any] = {
        "trace_id": _b64(trace_bytes),
        "span_id": _b64(bytes.fromhex(span.span_id)),
    }
    if span.trace_state:
        out["trace_state"] = span.trace_state
    if span.parent_span_id:
        out["parent_span_id"] = _b64(bytes.fromhex(span.parent_span_id))
    status: dict[str, Any] = {"code": f"STATUS_CODE_{span.status_code}"}
    if span.status_message:
        status["message"] = span.status_message
    out.update(
        {
            "name": span.name,
            "kind": f"SPAN_KIND_{span.kind}",
            "start_time_unix_nano": span.start_time_unix_nano,
            "end_time_unix_nano": span.end_time_unix_nano,
            "attributes": _key_values(attributes),
            "events": [
                {"time_unix_nano": e.time_unix_nano, "name": e.name, "attributes": _key_values(e.attributes)}
                for e in span.events
            ],
            "links": [_link(link.trace_id, link.span_id, link.trace_state, link.attributes) for link in span.links],
            "status": status,
        }
    )
    return out


def _link(trace_id: str, span_id: str, trace_state: str | None, attributes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "trace_id": _b64(bytes.fromhex(trace_id.removeprefix("tr-"))),
        "span_id": _b64(bytes.fromhex(span_id)),
        "attributes": _key_values(attributes),
    }
    if trace_state:
        out["trace_state"] = trace_state
    return out


def _key_values(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": any_value(value)} for key, value in values.items()]


def any_value(value: Any) -> dict[str, Any]:
    """A decoded attribute value as OTel ``AnyValue`` JSON."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, int):
        return {"int_value": value}
    if isinstance(value, float):
        return {"double_value": value}
    if isinstance(value, str):
        return {"string_value": value}
    if isinstance(value, list):
        return {"array_value": {"values": [any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlist_value": {"values": _key_values(value)}}
    return {"string_value": str(value)}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
