"""OTLP over gRPC: TraceService, LogsService and MetricsService on one server.

Handlers take the raw request bytes (no generated deserializer) so an export with nothing to
refuse is spooled byte for byte without re-encoding. grpcio enforces the receive size limit
(RESOURCE_EXHAUSTED) and undoes gzip. Errors carry ``google.rpc.RetryInfo`` when the client
should retry after a delay (back-pressure), as OTLP specifies.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from annotrace.collector.auth.rules import INGEST, LEVEL_ROLES
from annotrace.collector.errors import CollectorError, PermissionDenied, Unauthenticated
from annotrace.collector.receivers.ingest import Ingest
from annotrace.collector.receivers.otlp_decode import Signal

if TYPE_CHECKING:
    from annotrace.collector.auth.authenticator import Authenticator
    from annotrace.collector.auth.principal import Principal

log = logging.getLogger(__name__)

SERVICES: dict[str, Signal] = {
    "opentelemetry.proto.collector.trace.v1.TraceService": "traces",
    "opentelemetry.proto.collector.logs.v1.LogsService": "logs",
    "opentelemetry.proto.collector.metrics.v1.MetricsService": "metrics",
}


class GRPCReceiver:
    def __init__(self, ingest: Ingest, endpoint: str, max_recv_bytes: int, workers: int = 16) -> None:
        self.ingest = ingest
        self.endpoint = endpoint
        self.max_recv_bytes = max_recv_bytes
        self.workers = workers
        self.port: int | None = None
        self._server: grpc.Server | None = None
        self.authenticator: Authenticator | None = None
        """Set when the config has ``auth``: each export's ``authorization`` metadata is checked."""

    def start(self) -> None:
        if self._server is not None:
            return
        server = grpc.server(
            ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="annotrace-grpc"),
            options=[
                ("grpc.max_receive_message_length", self.max_recv_bytes),
                ("grpc.max_send_message_length", 4 * 1024 * 1024),
                ("grpc.so_reuseport", 0),
            ],
            maximum_concurrent_rpcs=self.workers * 4,
        )
        for service, signal in SERVICES.items():
            handler: grpc.RpcMethodHandler[Any, Any] = grpc.unary_unary_rpc_method_handler(self._handler(signal))
            server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(service, {"Export": handler})])
        self.port = server.add_insecure_port(self.endpoint)
        if not self.port:
            raise OSError(f"receivers::otlp::protocols::grpc: cannot listen on {self.endpoint}")
        server.start()
        self._server = server

    def shutdown(self, grace_s: float = 5.0) -> None:
        """Stop accepting; in-flight exports finish (and are spooled) within ``grace_s``."""
        if self._server is not None:
            self._server.stop(grace_s).wait()
            self._server = None

    def _handler(self, signal: Signal) -> Any:
        def export(data: bytes, context: grpc.ServicerContext) -> bytes:
            headers = {k.lower(): v for k, v in context.invocation_metadata() if isinstance(v, str)}
            try:
                principal = None
                if self.authenticator is not None:
                    principal = _authorize(self.authenticator, headers.get("authorization"))
                return self.ingest.export(signal, data, "protobuf", headers, principal).SerializeToString()
            except CollectorError as exc:
                context.abort_with_status(_status(exc))
            except Exception as exc:  # never kill the server on input
                log.exception("grpc: unexpected error on %s export", signal)
                context.abort(grpc.StatusCode.INTERNAL, f"Internal error: {type(exc).__name__}")
            raise AssertionError("unreachable")

        return export


def _authorize(authenticator: Authenticator, authorization: str | None) -> Principal:
    """The caller; UNAUTHENTICATED without a valid credential, PERMISSION_DENIED below the ingest level."""
    principal = authenticator.authenticate(authorization)
    if principal is None:
        raise Unauthenticated(
            "Authentication required: send the metadata authorization: Bearer <token> "
            "(OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<token>)"
        )
    if principal.role not in LEVEL_ROLES[INGEST]:
        raise PermissionDenied(
            f"User '{principal.name}' ({principal.role}) may not export telemetry: editors and admins may"
        )
    return principal


def _status(exc: CollectorError) -> Any:
    code = exc.grpc_code
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=exc.message)
    if exc.retry_after_s is not None:
        detail = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(exc.retry_after_s) or 1))
        status.details.add().Pack(detail)
    return rpc_status.to_status(status)
