"""A tiny OTLP/HTTP receiver for SDK tests: records what the SDK really puts on the wire.

Not a fake of the collector's behaviour: it accepts ``POST /v1/traces``, ``/v1/logs`` and
``/v1/metrics`` (protobuf, optionally gzip), answers 200 with an empty Export*ServiceResponse, and
keeps every request with its headers and decoded message, so a test can assert attribute names,
encodings, parent/child links and routing headers exactly as the collector will receive them.
``status`` makes it answer an error instead. Runs on an ephemeral loopback port in a thread.
It also answers MLflow's experiment lookup by name (experiment "1"), which
``annotrace.set_experiment`` makes, so scripts that choose an experiment run against it.
"""

from __future__ import annotations

import gzip
import json
import time
import urllib.parse
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tests.fakes.local_server import LocalServer, OwnedServer

__all__ = ["OTLPSink", "ReceivedRequest", "SinkSpan", "any_value"]

_MESSAGES: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/logs": (ExportLogsServiceRequest, ExportLogsServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
}


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a Python value (kvlist -> dict, array -> list)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


@dataclass
class ReceivedRequest:
    """One POST as received: lower-cased headers and the decoded protobuf message."""

    path: str
    headers: dict[str, str]
    message: Any


@dataclass
class SinkSpan:
    """A received span, flattened: ids as lowercase hex, attributes as Python values."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    status_code: int
    status_message: str
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    resource: dict[str, Any]
    scope: str
    headers: dict[str, str] = field(default_factory=dict)

    def json_attr(self, key: str) -> Any:
        """An attribute holding JSON text, decoded (``mlflow.spanInputs`` and friends)."""
        return json.loads(self.attributes[key])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: OwnedServer

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        return None

    def do_GET(self) -> None:  # stdlib name
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/api/2.0/mlflow/experiments/get-by-name":
            self._reply(404, b"")
            return
        name = urllib.parse.parse_qs(url.query).get("experiment_name", [""])[0]
        self._reply(200, json.dumps({"experiment": {"experiment_id": "1", "name": name}}).encode(), "application/json")

    def do_POST(self) -> None:  # stdlib name
        sink = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        messages = _MESSAGES.get(self.path)
        if messages is None:
            self._reply(404, b"")
            return
        request_cls, response_cls = messages
        message = request_cls()
        message.ParseFromString(body)
        headers = {key.lower(): value for key, value in self.headers.items()}
        with sink.lock:
            sink.requests.append(ReceivedRequest(self.path, headers, message))
            status = sink.status
        if status != 200:
            self._reply(status, b"")
            return
        self._reply(200, response_cls().SerializeToString())

    def _reply(self, status: int, payload: bytes, content_type: str = "application/x-protobuf") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class OTLPSink(LocalServer):
    """``with OTLPSink() as sink: ... sink.url`` -> ``http://127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self.status = 200
        super().__init__(_Handler, "otlp-sink")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()

    def received(self, path: str = "/v1/traces") -> list[ReceivedRequest]:
        with self.lock:
            return [request for request in self.requests if request.path == path]

    def spans(self) -> list[SinkSpan]:
        """Every span received so far, in arrival order, with the headers of its request."""
        result: list[SinkSpan] = []
        for request in self.received("/v1/traces"):
            for resource_spans in request.message.resource_spans:
                resource = {kv.key: any_value(kv.value) for kv in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        result.append(
                            SinkSpan(
                                name=span.name,
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_span_id=span.parent_span_id.hex(),
                                kind=span.kind,
                                status_code=span.status.code,
                                status_message=span.status.message,
                                attributes={kv.key: any_value(kv.value) for kv in span.attributes},
                                events=[
                                    (event.name, {kv.key: any_value(kv.value) for kv in event.attributes})
                                    for event in span.events
                                ],
                                resource=resource,
                                scope=scope_spans.scope.name,
                                headers=request.headers,
                            )
                        )
        return result

    def span(self, name: str) -> SinkSpan:
        """The one received span called ``name``."""
        matches = [span for span in self.spans() if span.name == name]
        assert len(matches) == 1, f"expected one span {name!r}, got {[s.name for s in self.spans()]}"
        return matches[0]

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> list[SinkSpan]:
        """Spans once at least ``count`` arrived (the caller flushes first; this only absorbs I/O)."""
        deadline = time.monotonic() + timeout
        while len(spans := self.spans()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return spans
