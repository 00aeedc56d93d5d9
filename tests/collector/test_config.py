"""The config loader's rules (components by id, ``service``, pipelines, the file), on stand-in ``<Type>Config`` classes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from annotrace.collector.config import ComponentID, ConfigError, PipelineConfig, load
from tests.collector.config_standins import (
    BAD_NAME,
    FACTORIES,
    MINIMAL,
    AttributeAction,
    AttributesConfig,
    BatchConfig,
    BearerTokenAuthConfig,
    DebugExporterConfig,
    DuckDBExporterConfig,
    GRPCConfig,
    HTTPConfig,
    OTLPProtocols,
    OTLPReceiverConfig,
    error_of,
    parse,
    service,
)

FULL = """
extensions:
  bearertokenauth: {token: s3cret}
  bearertokenauth/default:
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 0.0.0.0:4317, max_recv_msg_size_mib: 64}
      http:
        endpoint: 0.0.0.0:4318
        include_metadata: true
        response_headers: {X-Served-By: annotrace}
        allowed_origins: ["https://a.example", "https://b.example"]
        read_timeout: 30s
processors:
  batch: {send_batch_size: 512, send_batch_max_size: 1024, timeout_s: 2s, metadata_keys: [tenant]}
  attributes/redact:
    actions:
      - {key: user.email, action: delete}
      - {key: env, action: insert, value: prod}
exporters:
  duckdb: {path: ./data/annotrace.duckdb, retention_days: 30}
  debug/verbose: {verbosity: detailed}
service:
  extensions: [bearertokenauth/default, bearertokenauth]
  telemetry: {logs: {level: debug}}
  pipelines:
    traces: {receivers: [otlp], processors: [attributes/redact, batch], exporters: [duckdb, debug/verbose]}
    logs/audit: {receivers: [otlp], exporters: [duckdb]}
"""


def test_full_config_builds_every_component_and_pipeline() -> None:
    config = parse(FULL)
    http = HTTPConfig(
        endpoint="0.0.0.0:4318",
        include_metadata=True,
        read_timeout=30.0,
        response_headers={"X-Served-By": "annotrace"},
        allowed_origins=("https://a.example", "https://b.example"),
    )
    protocols = OTLPProtocols(grpc=GRPCConfig(endpoint="0.0.0.0:4317", max_recv_msg_size_mib=64), http=http)
    assert config.receivers == {ComponentID("otlp"): OTLPReceiverConfig(protocols=protocols)}
    assert config.processors == {
        ComponentID("batch"): BatchConfig(
            send_batch_size=512, send_batch_max_size=1024, timeout_s=2.0, metadata_keys=["tenant"]
        ),
        ComponentID("attributes", "redact"): AttributesConfig(
            actions=(
                AttributeAction(key="user.email", action="delete"),
                AttributeAction(key="env", action="insert", value="prod"),
            )
        ),
    }
    assert next(iter(config.processors)) == ComponentID("batch")  # file order is kept
    assert config.exporters == {
        ComponentID("duckdb"): DuckDBExporterConfig(path="./data/annotrace.duckdb", retention_days=30),
        ComponentID("debug", "verbose"): DebugExporterConfig(verbosity="detailed"),
    }
    default_auth = ComponentID("bearertokenauth", "default")
    assert config.extensions == {
        ComponentID("bearertokenauth"): BearerTokenAuthConfig(token="s3cret"),
        default_auth: BearerTokenAuthConfig(),
    }
    assert config.enabled_extensions == (default_auth, ComponentID("bearertokenauth"))
    assert dict(config.pipelines) == {
        "traces": PipelineConfig(
            "traces",
            "",
            (ComponentID("otlp"),),
            (ComponentID("attributes", "redact"), ComponentID("batch")),
            (ComponentID("duckdb"), ComponentID("debug", "verbose")),
        ),
        "logs/audit": PipelineConfig("logs", "audit", (ComponentID("otlp"),), (), (ComponentID("duckdb"),)),
    }
    assert (config.log_level, config.source) == ("debug", "<string>")
    with pytest.raises(TypeError):
        config.processors[ComponentID("x")] = None  # type: ignore[index]


def test_named_ids_share_the_factory_but_not_the_config() -> None:
    config = parse(
        "processors: {batch:, batch/fast: {timeout_s: 10ms, send_batch_size: 16}}\n"
        + service(
            "traces: {receivers: [otlp], exporters: [debug]}",
            "traces/fast: {receivers: [otlp], processors: [batch/fast], exporters: [debug]}\n"
            "    traces: {receivers: [otlp], processors: [batch], exporters: [debug]}",
        )
    )
    assert config.processors[ComponentID("batch")] == BatchConfig()
    assert config.processors[ComponentID("batch", "fast")] == BatchConfig(timeout_s=0.01, send_batch_size=16)
    assert config.pipelines["traces/fast"].processors == (ComponentID("batch", "fast"),)
    assert config.pipelines["traces/fast"].name == "fast"
    assert (str(ComponentID("batch", "fast")), str(ComponentID("batch"))) == ("batch/fast", "batch")


def test_empty_bodies_mean_defaults_and_absent_protocols_are_disabled() -> None:
    config = parse("""
        receivers:
          otlp:
            protocols:
              grpc:
        processors: {batch:, attributes:}
    """)
    assert config.receivers[ComponentID("otlp")].protocols == OTLPProtocols(grpc=GRPCConfig(), http=None)
    assert config.processors[ComponentID("batch")] == BatchConfig(send_batch_size=8192, timeout_s=0.2)
    assert config.processors[ComponentID("attributes")] == AttributesConfig(actions=())
    assert (config.pipelines, config.enabled_extensions, config.log_level) == ({}, (), "info")


T = "service::pipelines::traces"
TWICE = "processors: {batch:}\n" + service("exporters: [", "processors: [batch, batch], exporters: [")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("processors: [batch]", "processors: expected a mapping, got a list"),
        ("receivers: {kafka: {}}", 'receivers::kafka: unknown receiver type "kafka"; known types: otlp'),
        (
            "processors: {filter/x: {}}",
            'processors::filter/x: unknown processor type "filter"; known types: attributes, batch',
        ),
        (
            "processors: {1batch: {}}",
            'processors::1batch: invalid id "1batch": the type must match ^[a-zA-Z][0-9a-zA-Z_]{0,62}$',
        ),
        ("processors: {batch/: {}}", f'processors::batch/: invalid id "batch/": {BAD_NAME}'),
        ("processors: {batch/a b: {}}", f'processors::batch/a b: invalid id "batch/a b": {BAD_NAME}'),
        ("recievers: {}\nzzz: 1", "top level: has invalid keys: recievers, zzz"),
        ("connectors: {forward: {}}", "connectors: not supported: annotrace has no connector components"),
        ("- a\n- b", "top level: expected a mapping, got a list"),
        (
            "processors:\n  batch:\nprocessors:\n  batch/2:\n",
            "<string>: line 3, column 1: invalid YAML: duplicate key 'processors'",
        ),
        (
            service("exporters: [debug]", "processors: [batch/2], exporters: [debug]"),
            f'{T}: references processor "batch/2" which is not configured',
        ),
        (service("[otlp]", "[otlp/2]"), f'{T}: references receiver "otlp/2" which is not configured'),
        (service("[debug]", "[duckdb]"), f'{T}: references exporter "duckdb" which is not configured'),
        (TWICE, f'{T}: references processor "batch" multiple times'),
        (service("receivers: [otlp], ", ""), f"{T}: must have at least one receiver"),
        (service("[debug]", "[]"), f"{T}: must have at least one exporter"),
        (service("[debug]", "[debug], extra: []"), f"{T}: has invalid keys: extra"),
        (service("[debug]", "debug"), f"{T}::exporters: expected a list, got str 'debug'"),
        (service("[debug]", "[debug/]"), f'{T}::exporters::0: invalid id "debug/": {BAD_NAME}'),
        (service("traces:", "traces/:"), f'{T}/: invalid id "traces/": {BAD_NAME}'),
        (
            service("traces:", "spans:"),
            'service::pipelines::spans: unknown signal "spans"; expected one of traces, metrics, logs',
        ),
        (
            MINIMAL + "  extensions: [zpages]",
            'service::extensions: references extension "zpages" which is not configured',
        ),
        (
            MINIMAL + "  telemetry: {logs: {level: loud}}",
            "service::telemetry::logs::level: "
            "expected one of 'debug', 'info', 'warn', 'warning', 'error', got str 'loud'",
        ),
        (MINIMAL + "  telemetry: {metrics: {level: basic}}", "service::telemetry: has invalid keys: metrics"),
        (MINIMAL + "  foo: 1", "service: has invalid keys: foo"),
    ],
)
def test_errors_name_the_config_path(text: str, message: str) -> None:
    assert error_of(text) == message


def test_telemetry_level_and_empty_connectors() -> None:
    assert parse(MINIMAL + "  telemetry: {logs: {level: warn}}").log_level == "warning"  # otelcol's spelling
    assert parse(MINIMAL + "  telemetry: {logs: {level: error}}").log_level == "error"
    assert parse("connectors: {}\n" + MINIMAL).pipelines["traces"].exporters == (ComponentID("debug"),)


def test_load_reads_a_file_and_names_it_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "otel-config.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    config = load(path, FACTORIES, environ={})
    assert config.source == str(path)
    assert config.pipelines["traces"] == PipelineConfig(
        "traces", "", (ComponentID("otlp"),), (), (ComponentID("debug"),)
    )
    path.write_text("receivers:\n  otlp:\n    protocols: [grpc\nexporters: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: line 4, column 10: invalid YAML: "):
        load(path, FACTORIES, environ={})
    with pytest.raises(ConfigError) as info:
        load(tmp_path / "nope.yaml", FACTORIES)
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: config file not found"
    assert isinstance(info.value, ValueError)
