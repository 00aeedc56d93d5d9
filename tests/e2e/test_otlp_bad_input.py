"""Bad OTLP input gets a clear refusal naming the problem, the rest of the batch is kept, and the
collector never dies (checked after every case by the session collector's clean exit)."""

from __future__ import annotations

import gzip
import os
import time
import zlib

import grpc
import httpx
import orjson
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.collector_process import Collector
from tests.otlp_builders import new_span_id, new_trace_id, request, span

PROTOBUF = {"content-type": "application/x-protobuf"}


def _post(collector: Collector, body: bytes, headers: dict[str, str], path: str = "/v1/traces") -> httpx.Response:
    return httpx.post(f"{collector.http}{path}", content=body, headers=headers, timeout=30)


def _status(response: httpx.Response) -> status_pb2.Status:
    status = status_pb2.Status()
    if response.headers["content-type"].startswith("application/json"):
        json_format.Parse(response.content, status)
    else:
        status.ParseFromString(response.content)
    return status


@pytest.mark.parametrize(
    ("body", "headers", "code", "words"),
    [
        (b"\xff\xff\xff garbage", PROTOBUF, 400, "Invalid OTLP protobuf"),
        (b"{not json", {"content-type": "application/json"}, 400, "Invalid OTLP JSON"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            {"content-type": "application/json"},
            400,
            "is not hex",
        ),
        (b"[1, 2]", {"content-type": "application/json"}, 400, "must be a JSON object"),
        (b"hello", {"content-type": "text/plain"}, 415, "Unsupported Content-Type"),
        (
            b"hello",
            {"content-type": "application/x-protobuf", "content-encoding": "br"},
            415,
            "Unsupported Content-Encoding",
        ),
        (
            b"not gzip at all",
            {"content-type": "application/x-protobuf", "content-encoding": "gzip"},
            400,
            "not valid gzip",
        ),
    ],
)
def test_undecodable_bodies_are_refused_with_a_reason(
    collector: Collector, body: bytes, headers: dict[str, str], code: int, words: str
) -> None:
    response = _post(collector, body, headers)
    assert response.status_code == code
    assert words in response.text


def test_invalid_utf8_in_a_string_is_refused(collector: Collector) -> None:
    good = span(new_trace_id(), new_span_id(), name="MARKER")
    body = request([good]).SerializeToString().replace(b"MARKER", b"MA\xffKER")
    response = _post(collector, body, PROTOBUF)
    assert response.status_code == 400
    assert "Invalid OTLP protobuf" in _status(response).message


def test_json_error_reply_is_json_and_protobuf_error_reply_is_protobuf(collector: Collector) -> None:
    response = _post(collector, b"{", {"content-type": "application/json"})
    assert response.headers["content-type"] == "application/json"
    assert _status(response).code == 3  # INVALID_ARGUMENT
    response = _post(collector, b"\xff\xff", PROTOBUF)
    assert response.headers["content-type"] == "application/x-protobuf"
    assert _status(response).code == 3


def test_bad_spans_are_rejected_by_partial_success_and_the_rest_stored(collector: Collector) -> None:
    trace_id = new_trace_id()
    now = time.time_ns()
    good = [span(trace_id, new_span_id(), name=f"good-{i}", start=now) for i in range(3)]
    bad = [
        span(b"\x01" * 15, new_span_id(), name="short-trace-id"),
        span(b"\x00" * 16, new_span_id(), name="zero-trace-id"),
        span(trace_id, b"\x00" * 8, name="zero-span-id"),
        span(trace_id, b"\x01" * 9, name="long-span-id"),
        span(trace_id, new_span_id(), name="ends-before-start", start=now, duration_ns=-5),
    ]
    response = _post(collector, request(good + bad).SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    reply = trace_service_pb2.ExportTraceServiceResponse.FromString(response.content)
    assert reply.partial_success.rejected_spans == 5
    message = reply.partial_success.error_message
    for words in (
        "trace_id must be 16 bytes",
        "trace_id is all zeros",
        "span_id is all zeros",
        "span_id must be 8 bytes",
        "end_time_unix_nano is before start_time_unix_nano",
    ):
        assert words in message
    tid = "tr-" + trace_id.hex()
    rows = collector.wait_for(
        f"SELECT name FROM spans WHERE trace_id = '{tid}' ORDER BY name",
        [{"name": "good-0"}, {"name": "good-1"}, {"name": "good-2"}],
    )
    assert rows == [{"name": "good-0"}, {"name": "good-1"}, {"name": "good-2"}]


def test_full_success_has_no_partial_success_and_replies_in_the_request_encoding(collector: Collector) -> None:
    body = request([span(new_trace_id(), new_span_id())]).SerializeToString()
    response = _post(collector, body, PROTOBUF)
    assert response.headers["content-type"] == "application/x-protobuf"
    assert not trace_service_pb2.ExportTraceServiceResponse.FromString(response.content).HasField("partial_success")
    doc = json_format.MessageToDict(request([span(new_trace_id(), new_span_id())]))
    response = _post(collector, orjson.dumps(_hex_ids(doc)), {"content-type": "application/json; charset=utf-8"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}


def _hex_ids(node: object) -> object:
    """proto3 JSON writes ids as base64; OTLP/JSON wants hex."""
    import base64

    if isinstance(node, dict):
        return {
            k: (base64.b64decode(v).hex().upper() if k in ("traceId", "spanId", "parentSpanId") else _hex_ids(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def test_otlp_json_with_every_anyvalue_kind(collector: Collector) -> None:
    trace_hex = os.urandom(16).hex()
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "json"},
                        "spans": [
                            {
                                "traceId": trace_hex.upper(),
                                "spanId": "EEE19B7EC3C1B174",
                                "parentSpanId": "",
                                "name": "json-span",
                                "kind": 2,
                                "startTimeUnixNano": "1544712660000000000",
                                "endTimeUnixNano": 1544712661000000000,
                                "unknownField": {"ignored": True},
                                "attributes": [
                                    {"key": "s", "value": {"stringValue": "text"}},
                                    {"key": "i", "value": {"intValue": "9007199254740993"}},
                                    {"key": "d", "value": {"doubleValue": 1.5}},
                                    {"key": "b", "value": {"boolValue": True}},
                                    {"key": "bytes", "value": {"bytesValue": "AQID"}},
                                    {"key": "empty", "value": {}},
                                    {
                                        "key": "arr",
                                        "value": {
                                            "arrayValue": {
                                                "values": [
                                                    {"intValue": 1},
                                                    {"stringValue": "two"},
                                                    {"arrayValue": {"values": []}},
                                                ]
                                            }
                                        },
                                    },
                                    {
                                        "key": "kv",
                                        "value": {
                                            "kvlistValue": {
                                                "values": [
                                                    {
                                                        "key": "nested",
                                                        "value": {
                                                            "kvlistValue": {
                                                                "values": [
                                                                    {"key": "deep", "value": {"boolValue": False}}
                                                                ]
                                                            }
                                                        },
                                                    },
                                                ]
                                            }
                                        },
                                    },
                                ],
                                "events": [{"timeUnixNano": "1544712660500000000", "name": "e"}],
                                "links": [
                                    {"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B173"}
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    response = _post(
        collector, gzip.compress(orjson.dumps(body)), {"content-type": "application/json", "content-encoding": "gzip"}
    )
    assert response.status_code == 200, response.text
    tid = "tr-" + trace_hex
    rows = collector.wait_for(
        f"SELECT span_id, kind, attributes, start_time_unix_nano FROM spans WHERE trace_id = '{tid}'",
        [
            {
                "span_id": "eee19b7ec3c1b174",
                "kind": "SERVER",
                "start_time_unix_nano": 1544712660000000000,
                "attributes": orjson.dumps(
                    {
                        "s": "text",
                        "i": 9007199254740993,
                        "d": 1.5,
                        "b": True,
                        "bytes": "AQID",
                        "empty": None,
                        "arr": [1, "two", []],
                        "kv": {"nested": {"deep": False}},
                    }
                ).decode(),
            }
        ],
    )
    assert len(rows) == 1
    links = collector.sql(f"SELECT linked_trace_id, linked_span_id FROM span_links WHERE trace_id = '{tid}'")
    assert links == [{"linked_trace_id": "tr-5b8efff798038103d269b633813fc60c", "linked_span_id": "eee19b7ec3c1b173"}]


def test_deflate_raw_and_zlib_bodies_are_accepted(collector: Collector) -> None:
    trace_id = new_trace_id()
    for i, compress in enumerate((zlib.compress, lambda b: zlib.compress(b)[2:-4])):
        body = compress(request([span(trace_id, new_span_id(), name=f"deflate-{i}")]).SerializeToString())
        response = _post(collector, body, {**PROTOBUF, "content-encoding": "deflate"})
        assert response.status_code == 200, response.text
    tid = "tr-" + trace_id.hex()
    assert collector.wait_for(f"SELECT count(*) AS n FROM spans WHERE trace_id = '{tid}'", [{"n": 2}]) == [{"n": 2}]


def test_oversized_http_body_is_413(fresh_collector: object) -> None:
    collector = fresh_collector(http_bytes=100_000)  # type: ignore[operator]
    big = request([span(new_trace_id(), new_span_id(), attributes={"blob": "x" * 200_000})]).SerializeToString()
    response = _post(collector, big, PROTOBUF)
    assert response.status_code == 413
    # a gzip bomb is refused while inflating, not after
    response = _post(collector, gzip.compress(big), {**PROTOBUF, "content-encoding": "gzip"})
    assert response.status_code == 413
    small = request([span(new_trace_id(), new_span_id())]).SerializeToString()
    assert _post(collector, small, PROTOBUF).status_code == 200


def test_grpc_refusals(fresh_collector: object) -> None:
    collector = fresh_collector(grpc_mib=1)  # type: ignore[operator]
    channel = grpc.insecure_channel(collector.grpc)
    raw = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
    with pytest.raises(grpc.RpcError) as info:
        raw(b"\xff\xff\xff garbage", timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Invalid OTLP protobuf" in info.value.details()
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        stub.Export(request([span(new_trace_id(), new_span_id(), attributes={"blob": "x" * 2_000_000})]), timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    reply = stub.Export(request([span(new_trace_id(), new_span_id()), span(b"\x00" * 16, new_span_id())]), timeout=10)
    assert reply.partial_success.rejected_spans == 1
    assert "trace_id is all zeros" in reply.partial_success.error_message
    channel.close()


def test_wrong_method_and_unknown_path(collector: Collector) -> None:
    assert httpx.get(f"{collector.http}/v1/traces").status_code == 405
    assert httpx.post(f"{collector.http}/v2/traces", content=b"", headers=PROTOBUF).status_code == 404
