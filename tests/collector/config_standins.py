"""Stand-in ``<Type>Config`` classes covering every supported field shape, and the helpers the
config loader's tests share (``test_config.py``, ``test_config_models.py``, ``test_config_yaml.py``)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Literal

import pytest

from annotrace.collector.config import CollectorConfig, ConfigError, Duration, load_text


@dataclass(frozen=True, kw_only=True, slots=True)
class GRPCConfig:
    endpoint: str = "localhost:4317"
    max_recv_msg_size_mib: int = 4


@dataclass(frozen=True, kw_only=True, slots=True)
class HTTPConfig:
    endpoint: str = "localhost:4318"
    max_request_body_size: int = 20 * 1024 * 1024
    include_metadata: bool = False
    traces_url_path: str = "/v1/traces"
    response_headers: dict[str, str] = field(default_factory=dict)
    allowed_origins: tuple[str, ...] = ()
    read_timeout: Duration = 60.0


@dataclass(frozen=True, kw_only=True, slots=True)
class OTLPProtocols:
    grpc: GRPCConfig | None = None
    http: HTTPConfig | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class OTLPReceiverConfig:
    protocols: OTLPProtocols = field(default_factory=OTLPProtocols)

    def validate(self) -> None:
        if self.protocols.grpc is None and self.protocols.http is None:
            raise ValueError("must specify at least one protocol")


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchConfig:
    send_batch_size: int = 8192
    send_batch_max_size: int = 0
    timeout_s: Duration = 0.2
    metadata_keys: list[str] = field(default_factory=list)

    def validate(self) -> None:
        if self.send_batch_max_size and self.send_batch_max_size < self.send_batch_size:
            raise ValueError("send_batch_max_size must be >= send_batch_size")


@dataclass(frozen=True, kw_only=True, slots=True)
class AttributeAction:
    key: str
    action: Literal["insert", "update", "upsert", "delete", "hash"]
    value: str | None = None
    from_attribute: str | None = None

    def validate(self) -> None:
        if self.action in ("insert", "update", "upsert") and not (self.value or self.from_attribute):
            raise ValueError(f"action {self.action!r} needs value or from_attribute")


@dataclass(frozen=True, kw_only=True, slots=True)
class AttributesConfig:
    actions: tuple[AttributeAction, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class DuckDBExporterConfig:
    path: str
    retention_days: int | None = None
    flush_interval: Duration = 1.0


@dataclass(frozen=True, kw_only=True, slots=True)
class DebugExporterConfig:
    verbosity: str = "basic"


@dataclass(frozen=True, kw_only=True, slots=True)
class BearerTokenAuthConfig:
    scheme: str = "Bearer"
    token: str = ""


FACTORIES = {
    "receivers": {"otlp": OTLPReceiverConfig},
    "processors": {"batch": BatchConfig, "attributes": AttributesConfig},
    "exporters": {"duckdb": DuckDBExporterConfig, "debug": DebugExporterConfig},
    "extensions": {"bearertokenauth": BearerTokenAuthConfig},
}
MINIMAL = """receivers: {otlp: {protocols: {grpc:}}}
exporters: {debug:}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
"""
GRPC = "receivers: {otlp: {protocols: {grpc: {%s}}}}"
HTTP = "receivers: {otlp: {protocols: {http: {%s}}}}"
BAD_NAME = 'the name after "/" must be non-empty, without whitespace or "/"'
REF_HELP = (
    "only ${env:NAME}, ${NAME} and ${env:NAME:-default} are supported, with NAME matching "
    "[a-zA-Z_][a-zA-Z0-9_]*; write $$ for a literal $"
)


def parse(text: str, environ: dict[str, str] | None = None) -> CollectorConfig:
    return load_text(textwrap.dedent(text), FACTORIES, environ={} if environ is None else environ)


def error_of(text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse(text, environ)
    return str(info.value)


def service(old: str, new: str) -> str:
    assert old in MINIMAL
    return MINIMAL.replace(old, new)
