"""Where spans (and GenAI log events) go: endpoint, protocol and headers, and the stock exporters.

annotrace does not implement an exporter. It configures the OTel SDK's own OTLP exporters:

- By default, and whenever the user chose a tracking URI (``set_tracking_uri`` or
  ``ANNOTRACE_TRACKING_URI``/``MLFLOW_TRACKING_URI``), OTLP/HTTP protobuf to
  ``{tracking_uri}/v1/traces`` (and ``/v1/logs``), the collector's web port.
- Otherwise, if ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set,
  the exporter chosen by ``OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`` (``grpc`` or ``http/protobuf``,
  the default) reads the endpoint from the environment itself, as any OTel app would.

Routing header (``experiment_headers``): ``x-annotrace-experiment: <name>`` or
``x-mlflow-experiment-id: <id>``. HTTP and gRPC header values must be printable ASCII, so any
other character of the name (and ``%`` itself) is percent-encoded (UTF-8); the collector
percent-decodes. ASCII names, spaces included, travel unchanged.
With no experiment chosen and a resource that names neither ``annotrace.experiment`` nor a real
``service.name`` (only the SDK's ``unknown_service`` fallback), the header names MLflow's
``Default`` experiment, so traces do not land in an experiment called ``unknown_service``. Headers from ``OTEL_EXPORTER_OTLP_[TRACES_|LOGS_]HEADERS`` are kept: the
gRPC exporter drops them when it is handed explicit headers, so they are merged here.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from annotrace import tracking

if TYPE_CHECKING:
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = [
    "DEFAULT_EXPERIMENT",
    "EXPERIMENT_ID_HEADER",
    "EXPERIMENT_NAME_HEADER",
    "Destination",
    "build_log_exporter",
    "build_span_exporter",
    "experiment_headers",
    "resolve_destination",
]

_logger = logging.getLogger(__name__)

EXPERIMENT_NAME_HEADER = "x-annotrace-experiment"
EXPERIMENT_ID_HEADER = "x-mlflow-experiment-id"
DEFAULT_EXPERIMENT = "Default"
# Printable ASCII (space included) except "%": kept as is; everything else is percent-encoded.
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")

Protocol = Literal["http/protobuf", "grpc"]


@dataclass(frozen=True, slots=True)
class Destination:
    """One resolved export target; ``*_endpoint=None`` means "the exporter reads the environment"."""

    protocol: Protocol
    traces_endpoint: str | None
    logs_endpoint: str | None
    trace_headers: dict[str, str] = field(default_factory=dict)
    log_headers: dict[str, str] = field(default_factory=dict)


def _resource_routes(resource_attributes: Mapping[str, Any] | None) -> bool:
    """Whether the resource already names an experiment (``annotrace.experiment``) or a real service."""
    if resource_attributes is None:
        from opentelemetry.sdk.resources import Resource

        resource_attributes = Resource.create().attributes  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    if resource_attributes.get("annotrace.experiment"):
        return True
    service = resource_attributes.get("service.name")
    return isinstance(service, str) and bool(service) and not service.startswith("unknown_service")


def experiment_headers(resource_attributes: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The routing header for the chosen experiment (see the module docstring)."""
    choice = tracking.get_experiment()
    if choice is not None and choice.experiment_id is not None:
        return {EXPERIMENT_ID_HEADER: urllib.parse.quote(choice.experiment_id, safe=_HEADER_SAFE)}
    if choice is not None and choice.name is not None:
        return {EXPERIMENT_NAME_HEADER: urllib.parse.quote(choice.name, safe=_HEADER_SAFE)}
    if _resource_routes(resource_attributes):
        return {}
    return {EXPERIMENT_NAME_HEADER: DEFAULT_EXPERIMENT}


def _env_headers(signal_var: str) -> dict[str, str]:
    from opentelemetry.util.re import parse_env_headers

    raw = os.environ.get(signal_var) or os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", "")
    return {key.lower(): value for key, value in parse_env_headers(raw, liberal=True).items()}


def _env_protocol() -> Protocol:
    raw = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if raw in ("grpc", "http/protobuf"):
        return raw  # type: ignore[return-value]
    _logger.warning("annotrace: OTLP protocol %r is not supported; using http/protobuf", raw)
    return "http/protobuf"


def resolve_destination(resource_attributes: Mapping[str, Any] | None = None) -> Destination:
    """Decide endpoint, protocol and headers from the tracking settings and the environment.

    ``resource_attributes`` are those of the provider the spans come from (default: what
    ``Resource.create()`` reads from the environment).
    """
    routing = experiment_headers(resource_attributes)
    trace_headers = {**_env_headers("OTEL_EXPORTER_OTLP_TRACES_HEADERS"), **routing}
    log_headers = {**_env_headers("OTEL_EXPORTER_OTLP_LOGS_HEADERS"), **routing}
    otel_endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if otel_endpoint and not tracking.is_tracking_uri_set():
        return Destination(_env_protocol(), None, None, trace_headers, log_headers)
    base = tracking.get_tracking_uri()
    return Destination("http/protobuf", f"{base}/v1/traces", f"{base}/v1/logs", trace_headers, log_headers)


def build_span_exporter(destination: Destination) -> SpanExporter:
    """The SDK's OTLP span exporter for ``destination``."""
    if destination.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

        return GrpcSpanExporter(endpoint=destination.traces_endpoint, headers=destination.trace_headers)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

    return HttpSpanExporter(endpoint=destination.traces_endpoint, headers=destination.trace_headers)


def build_log_exporter(destination: Destination) -> LogRecordExporter:
    """The SDK's OTLP log exporter for ``destination`` (GenAI events of legacy instrumentations)."""
    if destination.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter

        return GrpcLogExporter(endpoint=destination.logs_endpoint, headers=destination.log_headers)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter

    return HttpLogExporter(endpoint=destination.logs_endpoint, headers=destination.log_headers)
