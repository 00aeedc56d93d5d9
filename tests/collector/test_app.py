"""The web port's read barrier: a request that starts after an export was acknowledged sees it.

Each test exports with a real client (raw OTLP/HTTP on the receiver port, OTLP/gRPC), then reads
or writes at once, with no polling, the way a user's script does; repeated, so a race shows.
"""

from __future__ import annotations

import uuid

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from tests.collector_process import Collector
from tests.otlp_builders import new_span_id, new_trace_id, request, span

ROUNDS = 20


@pytest.fixture
def experiment_id(collector: Collector) -> str:
    response = httpx.post(
        f"{collector.web}/api/2.0/mlflow/experiments/create", json={"name": f"barrier-{uuid.uuid4().hex}"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["experiment_id"])


def _three_spans() -> tuple[str, str, bytes]:
    trace, root = new_trace_id(), new_span_id()
    spans = [
        span(trace, root, name="root"),
        *(span(trace, new_span_id(), parent=root, name=f"child-{i}") for i in range(2)),
    ]
    return "tr-" + trace.hex(), root.hex(), request(spans).SerializeToString()


def test_every_read_after_an_http_export_sees_the_whole_trace(collector: Collector, experiment_id: str) -> None:
    with httpx.Client(timeout=30) as client:
        for _ in range(ROUNDS):
            trace_id, _, body = _three_spans()
            exported = client.post(
                f"{collector.http}/v1/traces",
                content=body,
                headers={"content-type": "application/x-protobuf", "x-mlflow-experiment-id": experiment_id},
            )
            assert exported.status_code == 200
            got = client.get(f"{collector.web}/api/3.0/mlflow/traces/get", params={"trace_id": trace_id})
            assert got.status_code == 200, got.text
            assert len(got.json()["trace"]["spans"]) == 3
            assert got.json()["trace"]["trace_info"]["state"] == "OK"


def test_sql_and_pages_after_a_grpc_export_see_it(collector: Collector, experiment_id: str) -> None:
    with grpc.insecure_channel(collector.grpc) as channel, httpx.Client(timeout=30) as client:
        stub = TraceServiceStub(channel)
        for _ in range(ROUNDS):
            trace_id, _, body = _three_spans()
            stub.Export(
                ExportTraceServiceRequest.FromString(body), metadata=[("x-mlflow-experiment-id", experiment_id)]
            )
            rows = client.post(
                f"{collector.web}/api/v1/sql",
                json={"query": f"SELECT span_count FROM traces WHERE trace_id = '{trace_id}'"},
            )
            assert rows.json()["rows"] == [[3]], rows.text
            page = client.get(f"{collector.web}/traces/{trace_id}.json")
            assert page.status_code == 200, page.text


def test_feedback_on_a_trace_just_exported_is_accepted(collector: Collector, experiment_id: str) -> None:
    with httpx.Client(timeout=30) as client:
        for _ in range(ROUNDS):
            trace_id, root, body = _three_spans()
            exported = client.post(
                f"{collector.web}/v1/traces",
                content=body,
                headers={"content-type": "application/x-protobuf", "x-mlflow-experiment-id": experiment_id},
            )
            assert exported.status_code == 200
            created = client.post(
                f"{collector.web}/api/3.0/mlflow/traces/{trace_id}/assessments",
                json={
                    "assessment": {
                        "trace_id": trace_id,
                        "span_id": root,
                        "assessment_name": "ok",
                        "feedback": {"value": True},
                        "source": {"source_type": "HUMAN", "source_id": "me"},
                    }
                },
            )
            assert created.status_code == 200, created.text
