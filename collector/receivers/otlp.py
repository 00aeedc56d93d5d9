"""The ``otlp`` receiver component: its configuration and the gRPC + HTTP servers it starts.

Defaults bind to 127.0.0.1 (never all interfaces) and allow 64 MiB messages, the OTLP spec's
recommendation, instead of gRPC's 4 MiB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from annotrace.collector.auth.settings import AuthConfig
from annotrace.collector.pipeline.spool import Spool
from annotrace.collector.receivers.grpc import GRPCReceiver
from annotrace.collector.receivers.ingest import Ingest

DEFAULT_GRPC_ENDPOINT = "127.0.0.1:4317"
DEFAULT_HTTP_ENDPOINT = "127.0.0.1:4318"
DEFAULT_MAX_MIB = 64


@dataclass(frozen=True, kw_only=True, slots=True)
class GRPCConfig:
    endpoint: str = DEFAULT_GRPC_ENDPOINT
    """host:port to listen on (port 0 picks a free port)."""
    max_recv_msg_size_mib: int = DEFAULT_MAX_MIB
    """Largest accepted request after decompression, in MiB."""
    auth: AuthConfig | None = None
    """Who may export: an authenticator extension (required to listen beyond loopback)."""

    def validate(self) -> None:
        split_endpoint(self.endpoint)
        if self.max_recv_msg_size_mib <= 0:
            raise ValueError("max_recv_msg_size_mib must be positive")


@dataclass(frozen=True, kw_only=True, slots=True)
class HTTPConfig:
    endpoint: str = DEFAULT_HTTP_ENDPOINT
    """host:port to listen on (port 0 picks a free port)."""
    max_request_body_size: int = DEFAULT_MAX_MIB * 1024 * 1024
    """Largest accepted body after decompression, in bytes."""
    auth: AuthConfig | None = None
    """Who may export: an authenticator extension (required to listen beyond loopback)."""
    traces_url_path: str = "/v1/traces"
    logs_url_path: str = "/v1/logs"
    metrics_url_path: str = "/v1/metrics"

    def validate(self) -> None:
        split_endpoint(self.endpoint)
        if self.max_request_body_size <= 0:
            raise ValueError("max_request_body_size must be positive")
        for path in (self.traces_url_path, self.logs_url_path, self.metrics_url_path):
            if not path.startswith("/"):
                raise ValueError(f"url paths must start with '/', got '{path}'")


@dataclass(frozen=True, kw_only=True, slots=True)
class Protocols:
    grpc: GRPCConfig | None = None
    http: HTTPConfig | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class OTLPReceiverConfig:
    protocols: Protocols = Protocols(grpc=GRPCConfig(), http=HTTPConfig())

    def validate(self) -> None:
        if self.protocols.grpc is None and self.protocols.http is None:
            raise ValueError("protocols: enable at least one of grpc, http")


def split_endpoint(endpoint: str) -> tuple[str, int]:
    host, sep, port = endpoint.rpartition(":")
    if not sep or not port.isdigit() or not host or int(port) > 65535:
        raise ValueError(f"endpoint must be host:port, got '{endpoint}'")
    return host.strip("[]"), int(port)


class OTLPReceiver:
    """Starts the gRPC server here; the HTTP routes are served by ``app.py`` (they share one loop)."""

    def __init__(self, receiver_id: str, config: OTLPReceiverConfig, spool: Spool) -> None:
        self.id = receiver_id
        self.config = config
        grpc_config = config.protocols.grpc
        http_config = config.protocols.http
        self.grpc = (
            GRPCReceiver(
                Ingest(spool, receiver_id, grpc_config.max_recv_msg_size_mib * 1024 * 1024),
                grpc_config.endpoint,
                grpc_config.max_recv_msg_size_mib * 1024 * 1024,
            )
            if grpc_config
            else None
        )
        self.http_ingest = Ingest(spool, receiver_id, http_config.max_request_body_size) if http_config else None

    def check_experiments_with(
        self, experiment_name: Callable[[str], str | None], experiment_id: Callable[[str], str | None]
    ) -> None:
        """Refuse exports whose ``x-mlflow-experiment-id`` names no experiment, and those of a
        restricted user to experiments they may not edit; both read the store (see
        ``Ingest.experiment_name``, ``Ingest.experiment_id``)."""
        for ingest in (self.grpc.ingest if self.grpc else None, self.http_ingest):
            if ingest is not None:
                ingest.experiment_name = experiment_name
                ingest.experiment_id = experiment_id

    def start(self) -> None:
        if self.grpc is not None:
            self.grpc.start()

    def shutdown(self) -> None:
        if self.grpc is not None:
            self.grpc.shutdown()
