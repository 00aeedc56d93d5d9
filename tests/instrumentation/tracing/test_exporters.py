"""Destination resolution: endpoint, protocol and headers from settings and the environment."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

from annotrace import tracking
from annotrace.tracing import exporters


@pytest.fixture(autouse=True)
def _fresh(clean_env: pytest.MonkeyPatch) -> None:
    tracking._reset()


def test_default_is_local_collector_web_port() -> None:
    destination = exporters.resolve_destination()
    assert destination.protocol == "http/protobuf"
    assert destination.traces_endpoint == "http://127.0.0.1:5000/v1/traces"
    assert destination.logs_endpoint == "http://127.0.0.1:5000/v1/logs"
    assert destination.trace_headers == {"x-annotrace-experiment": "Default"}


def test_tracking_uri_and_experiment_name() -> None:
    tracking.set_tracking_uri("http://collector:5000/")
    tracking.set_experiment("/Shared/docs-demo")
    destination = exporters.resolve_destination()
    assert destination.traces_endpoint == "http://collector:5000/v1/traces"
    assert destination.trace_headers == {"x-annotrace-experiment": "/Shared/docs-demo"}
    assert destination.log_headers == {"x-annotrace-experiment": "/Shared/docs-demo"}


def test_experiment_id_header() -> None:
    tracking.set_experiment(experiment_id="123")
    assert exporters.experiment_headers() == {"x-mlflow-experiment-id": "123"}


def test_non_ascii_names_are_percent_encoded() -> None:
    tracking.set_experiment("文档 demo 100%")
    assert exporters.experiment_headers() == {"x-annotrace-experiment": "%E6%96%87%E6%A1%A3 demo 100%25"}
    tracking.set_experiment("My Experiment/v2 (test)")
    assert exporters.experiment_headers() == {"x-annotrace-experiment": "My Experiment/v2 (test)"}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_SERVICE_NAME", "checkout"),
        ("OTEL_RESOURCE_ATTRIBUTES", "annotrace.experiment=x,team=a"),
        ("OTEL_RESOURCE_ATTRIBUTES", "service.name=svc"),
    ],
)
def test_no_default_header_when_the_resource_routes(clean_env: pytest.MonkeyPatch, variable: str, value: str) -> None:
    clean_env.setenv(variable, value)
    assert exporters.experiment_headers() == {}


def test_resource_attributes_of_the_provider_decide(clean_env: pytest.MonkeyPatch) -> None:
    assert exporters.experiment_headers({"service.name": "unknown_service:python"}) == {
        "x-annotrace-experiment": "Default"
    }
    assert exporters.experiment_headers({"service.name": "user-app"}) == {}
    assert exporters.experiment_headers({"annotrace.experiment": "e"}) == {}
    tracking.set_experiment("explicit")
    assert exporters.experiment_headers({"service.name": "user-app"}) == {"x-annotrace-experiment": "explicit"}


def test_env_headers_are_kept(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20t,x-annotrace-experiment=ignored")
    clean_env.setenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-logs=1")
    tracking.set_experiment("mine")
    destination = exporters.resolve_destination()
    assert destination.trace_headers == {"authorization": "Bearer t", "x-annotrace-experiment": "mine"}
    assert destination.log_headers == {"x-logs": "1", "x-annotrace-experiment": "mine"}


def test_otel_endpoint_env_used_when_no_tracking_uri(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otelcol:4318")
    destination = exporters.resolve_destination()
    assert (destination.protocol, destination.traces_endpoint, destination.logs_endpoint) == (
        "http/protobuf",
        None,
        None,
    )
    clean_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert exporters.resolve_destination().protocol == "grpc"
    clean_env.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")  # unsupported -> http/protobuf
    assert exporters.resolve_destination().protocol == "http/protobuf"


def test_tracking_uri_wins_over_otel_endpoint(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://otelcol:4318/v1/traces")
    clean_env.setenv("MLFLOW_TRACKING_URI", "http://collector:5000")
    assert exporters.resolve_destination().traces_endpoint == "http://collector:5000/v1/traces"


def test_builds_the_stock_exporters(clean_env: pytest.MonkeyPatch) -> None:
    http_exporter = exporters.build_span_exporter(exporters.resolve_destination())
    log_exporter = exporters.build_log_exporter(exporters.resolve_destination())
    assert isinstance(http_exporter, HttpSpanExporter)
    assert isinstance(log_exporter, HttpLogExporter)
    http_exporter.shutdown()
    log_exporter.shutdown()
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    clean_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    grpc_exporter = exporters.build_span_exporter(exporters.resolve_destination())
    assert isinstance(grpc_exporter, GrpcSpanExporter)
    grpc_exporter.shutdown()
