"""The receivers check the experiment headers at the door, over OTLP/HTTP (both ports) and gRPC:
an ``x-mlflow-experiment-id`` must be an experiment id that exists, an ``x-annotrace-experiment``
name must be text without control characters. A refused export stores nothing and creates no
experiment."""

from __future__ import annotations

import uuid

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from tests.collector_process import Collector
from tests.otlp_builders import new_span_id, new_trace_id, request, span

HEADER = "x-mlflow-experiment-id"


def _experiments(collector: Collector) -> list[dict[str, object]]:
    return collector.sql("SELECT experiment_id, name FROM experiments ORDER BY ALL")


def _body() -> tuple[str, bytes]:
    trace_id = new_trace_id()
    return "tr-" + trace_id.hex(), request([span(trace_id, new_span_id(), name="routed")]).SerializeToString()


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({HEADER: "'; DROP TABLE spans;--"}, ["x-mlflow-experiment-id", "decimal number"]),
        ({HEADER: "abc"}, ["x-mlflow-experiment-id", "decimal number"]),
        ({HEADER: "1" * 20}, ["decimal number"]),
        ({HEADER: "987654321"}, ["No experiment with id '987654321'", "x-mlflow-experiment-id"]),
        ({"x-annotrace-experiment": "bad%00name"}, ["x-annotrace-experiment", "U+0000"]),
        ({"x-annotrace-experiment": "bad%0Aname"}, ["x-annotrace-experiment", "U+000A"]),
        ({"x-annotrace-experiment": "bad%FFname"}, ["x-annotrace-experiment", "U+FFFD"]),
    ],
)
@pytest.mark.parametrize("port", ["http", "web"])
def test_bad_experiment_headers_are_refused_over_http(
    collector: Collector, headers: dict[str, str], words: list[str], port: str
) -> None:
    before = _experiments(collector)
    trace_id, body = _body()
    response = httpx.post(
        f"{getattr(collector, port)}/v1/traces",
        content=body,
        headers={"content-type": "application/x-protobuf", **headers},
    )
    assert response.status_code == 400, response.text
    assert all(word in response.text for word in words), response.text
    assert _experiments(collector) == before
    assert collector.sql(f"SELECT count(*) AS n FROM spans WHERE trace_id = '{trace_id}'") == [{"n": 0}]


def test_bad_experiment_id_is_refused_over_grpc(collector: Collector) -> None:
    _, body = _body()
    with grpc.insecure_channel(collector.grpc) as channel:
        stub = TraceServiceStub(channel)
        for value in ("'; DROP TABLE spans;--", "987654321"):
            with pytest.raises(grpc.RpcError) as refused:
                stub.Export(ExportTraceServiceRequest.FromString(body), metadata=[(HEADER, value)])
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert HEADER in (refused.value.details() or "")


def test_an_existing_experiment_id_routes_the_spans(collector: Collector) -> None:
    created = httpx.post(
        f"{collector.web}/api/2.0/mlflow/experiments/create", json={"name": f"routed-{uuid.uuid4().hex}"}
    )
    experiment_id = created.json()["experiment_id"]
    trace_id, body = _body()
    response = httpx.post(
        f"{collector.http}/v1/traces",
        content=body,
        headers={"content-type": "application/x-protobuf", HEADER: experiment_id},
    )
    assert response.status_code == 200, response.text
    query = f"SELECT experiment_id FROM traces WHERE trace_id = '{trace_id}'"
    assert collector.wait_for(query, [{"experiment_id": experiment_id}]) == [{"experiment_id": experiment_id}]
