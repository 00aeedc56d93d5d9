"""``SpanType`` names and ``Span``: OTel proto JSON in, MLflow's span dict out, decoded views."""

from __future__ import annotations

import base64

from annotrace.entities import Span, SpanStatusCode, SpanType

MLFLOW_SPAN_TYPES = {
    "LLM",
    "CHAT_MODEL",
    "RETRIEVER",
    "TOOL",
    "AGENT",
    "CHAIN",
    "EMBEDDING",
    "RERANKER",
    "PARSER",
    "MEMORY",
    "GUARDRAIL",
    "EVALUATOR",
    "WORKFLOW",
    "TASK",
    "UNKNOWN",
}
TRACE_HEX = "f6e7b6c9af3a8346750e019d3d7a4bae"
SPAN_HEX = "922794fad5d00622"
PARENT_HEX = "0102030405060708"


def b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


# A span as GET /api/3.0/mlflow/traces/get sends it (captured from the collector).
REST_SPAN = {
    "trace_id": b64(TRACE_HEX),
    "span_id": b64(SPAN_HEX),
    "parent_span_id": b64(PARENT_HEX),
    "name": "retrieve",
    "kind": "SPAN_KIND_INTERNAL",
    "start_time_unix_nano": 1795440284907718035,
    "end_time_unix_nano": 1795440284907880921,
    "attributes": [
        {"key": "mlflow.spanType", "value": {"string_value": '"RETRIEVER"'}},
        {"key": "mlflow.spanInputs", "value": {"string_value": '{"query": "hi"}'}},
        {"key": "mlflow.spanOutputs", "value": {"string_value": "42"}},
        {"key": "http.route", "value": {"string_value": "/ask"}},
        {"key": "count", "value": {"int_value": "3"}},
        {"key": "tags", "value": {"array_value": {"values": [{"string_value": "a"}, {"bool_value": True}]}}},
        {"key": "text_number", "value": {"string_value": "123"}},
    ],
    "events": [{"time_unix_nano": 5, "name": "cache-miss", "attributes": [{"key": "size", "value": {"int_value": 2}}]}],
    "links": [],
    "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
}


def test_constants_are_their_own_names() -> None:
    names = {name for name in vars(SpanType) if not name.startswith("_")}
    assert names == MLFLOW_SPAN_TYPES
    assert all(getattr(SpanType, name) == name for name in names)


def test_span_from_rest_json() -> None:
    span = Span.from_otel_json(REST_SPAN)
    assert (span.trace_id, span.span_id, span.parent_id, span.name) == (
        f"tr-{TRACE_HEX}",
        SPAN_HEX,
        PARENT_HEX,
        "retrieve",
    )
    assert (span.span_type, span.inputs, span.outputs) == ("RETRIEVER", {"query": "hi"}, 42)
    assert (span.start_time_ns, span.end_time_ns) == (1795440284907718035, 1795440284907880921)
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.status.description == "boom"
    assert span.get_attribute("http.route") == "/ask"
    assert span.attributes["count"] == 3
    assert span.attributes["tags"] == ["a", True]
    assert span.attributes["text_number"] == "123"  # a string stays a string
    assert [(e.name, e.timestamp, e.attributes) for e in span.events] == [("cache-miss", 5, {"size": 2})]


def test_span_dict_is_mlflows_shape_and_round_trips() -> None:
    span = Span.from_otel_json(REST_SPAN)
    d = span.to_dict()
    assert list(d) == [
        "trace_id",
        "span_id",
        "parent_span_id",
        "name",
        "kind",
        "start_time_unix_nano",
        "end_time_unix_nano",
        "events",
        "status",
        "attributes",
        "links",
    ]
    assert (d["trace_id"], d["span_id"], d["parent_span_id"]) == (b64(TRACE_HEX), b64(SPAN_HEX), b64(PARENT_HEX))
    assert d["status"] == {"code": "STATUS_CODE_ERROR", "message": "boom"}
    assert d["attributes"] == {
        "mlflow.spanType": '"RETRIEVER"',
        "mlflow.spanInputs": '{"query": "hi"}',
        "mlflow.spanOutputs": "42",
        "http.route": '"/ask"',
        "count": "3",
        "tags": '["a", true]',
        "text_number": '"123"',
    }
    assert d["events"] == [{"name": "cache-miss", "time_unix_nano": 5, "attributes": {"size": 2}}]
    assert Span.from_dict(d) == span
    hex_ids = {**d, "trace_id": TRACE_HEX, "span_id": SPAN_HEX, "parent_span_id": None}
    root = Span.from_dict(hex_ids)
    assert (root.trace_id, root.span_id, root.parent_id) == (f"tr-{TRACE_HEX}", SPAN_HEX, None)
