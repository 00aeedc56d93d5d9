"""Real clients against a collector run for a team: the stock ``mlflow`` client with a token
(``MLFLOW_TRACKING_TOKEN``, Bearer) and with a password (``MLFLOW_TRACKING_USERNAME`` /
``_PASSWORD``, Basic), and the OpenTelemetry SDK's exporters (gRPC and HTTP) with
``OTEL_EXPORTER_OTLP_HEADERS``. Each in a child process, as its user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.collector.auth.team import Team, password

MLFLOW = textwrap.dedent("""
    import json, os, sys
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    import mlflow
    from mlflow.entities import AssessmentSource

    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment(sys.argv[2])

    @mlflow.trace
    def answer(q):
        return "Paris"

    answer("capital of France?")
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.log_feedback(trace_id=trace_id, name="quality", value=5,
                        source=AssessmentSource(source_type="HUMAN", source_id="expert"))
    found = mlflow.search_traces(return_type="list")
    print(json.dumps({"trace_id": trace_id, "found": [t.info.trace_id for t in found],
                      "assessments": [a.name for a in mlflow.get_trace(trace_id).info.assessments]}))
""")
MLFLOW_REFUSED = textwrap.dedent("""
    import sys
    import mlflow
    from mlflow.exceptions import MlflowException
    mlflow.set_tracking_uri(sys.argv[1])
    try:
        mlflow.search_experiments()
    except MlflowException as exc:
        print(exc.error_code, exc.get_http_status_code())
""")
OTEL = textwrap.dedent("""
    import sys
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    if sys.argv[1] == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    provider = TracerProvider(resource=Resource.create({"service.name": sys.argv[2]}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    with provider.get_tracer("t").start_as_current_span("hello"):
        pass
    provider.shutdown()
""")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING_", "OTEL_"))}
    return {**env, **extra}


def _run(script: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _sql(team: Team, query: str) -> list[list[object]]:
    response = httpx.post(
        f"{team.collector.web}/api/v1/sql", json={"query": query}, headers=team.bearer("admin"), timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_stock_mlflow_client_with_a_token_and_with_a_password(team: Team) -> None:
    web = team.collector.web
    for env in (
        _env(MLFLOW_TRACKING_TOKEN=team.tokens["editor"]),
        _env(MLFLOW_TRACKING_USERNAME="editor", MLFLOW_TRACKING_PASSWORD=password("editor")),
    ):
        out = json.loads(_run(MLFLOW, web, f"team-{uuid.uuid4().hex[:8]}", env=env))
        assert out["found"] == [out["trace_id"]] and out["assessments"] == ["quality"]
        actors = _sql(
            team,
            "SELECT DISTINCT actor FROM audit_log WHERE object_type = 'assessment' "
            f"AND object_id IN (SELECT assessment_id FROM assessments WHERE trace_id = '{out['trace_id']}')",
        )
        assert actors in ([["editor"]], []), actors


def test_stock_mlflow_client_is_refused_without_or_with_a_bad_credential(team: Team) -> None:
    web = team.collector.web
    assert _run(MLFLOW_REFUSED, web, env=_env()).split() == ["UNAUTHENTICATED", "401"]
    assert _run(MLFLOW_REFUSED, web, env=_env(MLFLOW_TRACKING_TOKEN="at_wrong")).split() == ["UNAUTHENTICATED", "401"]
    wrong = _env(MLFLOW_TRACKING_USERNAME="editor", MLFLOW_TRACKING_PASSWORD="not-it")
    assert _run(MLFLOW_REFUSED, web, env=wrong).split() == ["UNAUTHENTICATED", "401"]


def test_otel_exporters_with_otlp_headers(team: Team) -> None:
    for protocol, endpoint in (("grpc", f"http://{team.collector.grpc}"), ("http", team.collector.http)):
        service = f"otel-{protocol}-{uuid.uuid4().hex[:8]}"
        env = _env(
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer%20{team.tokens['editor']}",
        )
        _run(OTEL, protocol, service, env=env)
        assert _sql(team, f"SELECT count(*) FROM spans WHERE resource_attributes->>'service.name' = '{service}'") == [
            [1]
        ]


def test_grpc_export_needs_a_token_of_an_editor(team: Team) -> None:
    request = trace_service_pb2.ExportTraceServiceRequest()
    with grpc.insecure_channel(team.collector.grpc) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        for metadata, code in (
            (None, grpc.StatusCode.UNAUTHENTICATED),
            ((("authorization", "Bearer at_wrong"),), grpc.StatusCode.UNAUTHENTICATED),
            ((("authorization", f"Bearer {team.tokens['viewer']}"),), grpc.StatusCode.PERMISSION_DENIED),
        ):
            try:
                stub.Export(request, metadata=metadata, timeout=10)
            except grpc.RpcError as exc:
                assert exc.code() == code, exc
            else:
                raise AssertionError(f"export with {metadata} was accepted")
        stub.Export(request, metadata=(("authorization", f"Bearer {team.tokens['editor']}"),), timeout=10)


def test_otlp_http_port_needs_a_token(team: Team) -> None:
    url = f"{team.collector.http}/v1/traces"
    body = trace_service_pb2.ExportTraceServiceRequest().SerializeToString()
    headers = {"content-type": "application/x-protobuf"}
    assert httpx.post(url, content=body, headers=headers).status_code == 401
    assert httpx.post(url, content=body, headers={**headers, **team.bearer("viewer")}).status_code == 403
    assert httpx.post(url, content=body, headers={**headers, **team.bearer("editor")}).status_code == 200


SDK = textwrap.dedent("""
    import json, sys
    import annotrace
    annotrace.set_tracking_uri(sys.argv[1])
    annotrace.set_experiment(sys.argv[2])

    @annotrace.trace
    def answer(q):
        return "Paris"

    answer("capital?")
    trace_id = annotrace.get_last_active_trace_id()
    annotrace.log_feedback(trace_id=trace_id, name="quality", value=5)
    print(json.dumps({"trace_id": trace_id, "found": [t.info.trace_id for t in annotrace.search_traces(
        return_type="list")]}))
""")


def test_annotrace_sdk_with_otlp_headers_only(team: Team) -> None:
    """One variable signs both the SDK's span exports and its REST calls."""
    env = _env(OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer%20{team.tokens['editor']}")
    out = json.loads(_run(SDK, team.collector.web, f"sdk-{uuid.uuid4().hex[:8]}", env=env))
    assert out["found"] == [out["trace_id"]]
    rows = _sql(
        team, f"SELECT actor FROM audit_log WHERE object_type = 'assessment' AND new->>'trace_id' = '{out['trace_id']}'"
    )
    assert rows == [["editor"]]
