"""The config loader's rules, on stand-in ``<Type>Config`` classes covering every supported field shape."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from annotrace.collector.config import CollectorConfig, ComponentID, ConfigError, PipelineConfig, load, load_text


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
    read_timeout: float = field(default=60.0, metadata={"duration": True})


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
    timeout_s: float = 0.2
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
    flush_interval: float = field(default=1.0, metadata={"duration": True})


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


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("200ms", 0.2),
        ("1s", 1.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("1.5s", 1.5),
        ("250us", 0.00025),
        ("0s", 0.0),
        ("5", 5.0),
        ("0.5", 0.5),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    config = parse(
        f"processors: {{batch: {{timeout_s: {text}}}}}\nexporters: {{duckdb: {{path: x, flush_interval: {text}}}}}"
    )
    assert config.processors[ComponentID("batch")].timeout_s == seconds
    assert config.exporters[ComponentID("duckdb")].flush_interval == seconds


def test_env_whole_field_is_yaml_typed() -> None:
    environ = {"SIZE": "8", "META": "true", "TOKEN": "0123", "ORIGINS": "[https://a, https://b]"}
    config = parse(
        """
        extensions: {bearertokenauth: {token: "${env:TOKEN}"}}
        receivers:
          otlp:
            protocols:
              grpc: {max_recv_msg_size_mib: "${env:SIZE}"}
              http: {include_metadata: "${META}", allowed_origins: "${env:ORIGINS}"}
    """,
        environ,
    )
    protocols = config.receivers[ComponentID("otlp")].protocols
    assert protocols.grpc.max_recv_msg_size_mib == 8
    assert protocols.http.include_metadata is True
    assert protocols.http.allowed_origins == ("https://a", "https://b")
    assert config.extensions[ComponentID("bearertokenauth")].token == "0123"  # str fields keep the text


def test_env_inline_default_escape_and_bare_dollar() -> None:
    config = parse(
        """
        receivers:
          otlp:
            protocols:
              grpc: {endpoint: "${env:HOST}:${PORT}"}
              http: {endpoint: "${env:MISSING:-localhost:4318}", traces_url_path: "/p$$th/$HOME/$${env:X}"}
        exporters:
          duckdb: {path: "${env:DATA_DIR}/db.duckdb", retention_days: "${env:DAYS:-7}"}
    """,
        {"HOST": "0.0.0.0", "PORT": "4317", "DATA_DIR": "/var/lib"},
    )
    protocols = config.receivers[ComponentID("otlp")].protocols
    assert protocols.grpc.endpoint == "0.0.0.0:4317"
    assert protocols.http.endpoint == "localhost:4318"
    assert protocols.http.traces_url_path == "/p$th/$HOME/${env:X}"
    assert config.exporters[ComponentID("duckdb")] == DuckDBExporterConfig(path="/var/lib/db.duckdb", retention_days=7)


def test_env_unset_variable_substitutes_empty_text() -> None:
    config = parse(
        "extensions: {bearertokenauth: {token: '${env:NOPE}', scheme: 'x${NOPE}y'}}\n"
        "exporters: {duckdb: {path: db, retention_days: '${env:NOPE}'}}"
    )
    assert config.extensions[ComponentID("bearertokenauth")] == BearerTokenAuthConfig(token="", scheme="xy")
    assert config.exporters[ComponentID("duckdb")].retention_days is None  # optional: empty means unset
    text = "processors: {attributes: {actions: [{key: k, action: delete, value: '${env:V}'}]}}"
    values = [
        parse(text, environ).processors[ComponentID("attributes")].actions[0].value
        for environ in ({}, {"V": ""}, {"V": "null"}, {"V": "#x"})
    ]
    assert values == [None, None, "null", "#x"]  # YAML reads "null" and "#x" as null; str fields keep text


def test_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANNOTRACE_TEST_BATCH", "77")
    config = load_text("processors: {batch: {send_batch_size: '${ANNOTRACE_TEST_BATCH}'}}", FACTORIES)
    assert config.processors[ComponentID("batch")].send_batch_size == 77


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        (
            "processors: {batch: {send_batch_size: '${env:NOPE}'}}",
            {},
            "processors::batch::send_batch_size: expected int, got null (from ${env:NOPE}, which is not set)",
        ),
        (
            "processors: {batch: {send_batch_size: '${SIZE}'}}",
            {"SIZE": "big"},
            "processors::batch::send_batch_size: expected int, got str 'big' (from ${SIZE})",
        ),
        (
            "exporters: {debug: {verbosity: '${file:/etc/x}'}}",
            {},
            f"exporters::debug::verbosity: invalid reference ${{file:/etc/x}}: {REF_HELP}",
        ),
        (
            "processors: {attributes: {actions: [{key: k, action: insert, value: 'a${1}'}]}}",
            {},
            f"processors::attributes::actions::0::value: invalid reference ${{1}}: {REF_HELP}",
        ),
        (
            "exporters: {debug: {verbosity: 'a${env:X'}}",
            {},
            "exporters::debug::verbosity: unterminated ${ in 'a${env:X'; write $$ for a literal $",
        ),
    ],
)
def test_env_errors_name_the_path(text: str, environ: dict[str, str], message: str) -> None:
    assert error_of(text, environ) == message


G, H, T = "receivers::otlp::protocols::grpc", "receivers::otlp::protocols::http", "service::pipelines::traces"
TWICE = "processors: {batch:}\n" + service("exporters: [", "processors: [batch, batch], exporters: [")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("processors: {attributes/pii: {foo: 1}}", "processors::attributes/pii: has invalid keys: foo"),
        (GRPC % "max_recv_msg_size: 1, zeta: 2", f"{G}: has invalid keys: max_recv_msg_size, zeta"),
        (GRPC % "max_recv_msg_size_mib: abc", f"{G}::max_recv_msg_size_mib: expected int, got str 'abc'"),
        (GRPC % "max_recv_msg_size_mib: true", f"{G}::max_recv_msg_size_mib: expected int, got bool True"),
        (
            "processors: {batch: {send_batch_size: 1.5}}",
            "processors::batch::send_batch_size: expected int, got float 1.5",
        ),
        (HTTP % "include_metadata: 'yes'", f"{H}::include_metadata: expected bool, got str 'yes'"),
        (HTTP % "endpoint: 4318", f"{H}::endpoint: expected str, got int 4318"),
        (HTTP % "endpoint: ", f"{H}::endpoint: expected str, got null"),
        (HTTP % "response_headers: {a: 1}", f"{H}::response_headers::a: expected str, got int 1"),
        ("receivers: {otlp: {protocols: {http: [a]}}}", f"{H}: expected a mapping, got a list"),
        ("processors: {batch: {metadata_keys: x}}", "processors::batch::metadata_keys: expected a list, got str 'x'"),
        (
            "processors: {attributes: {actions: [{key: a, action: delete}, {key: b, action: drop}]}}",
            "processors::attributes::actions::1::action: "
            "expected one of 'insert', 'update', 'upsert', 'delete', 'hash', got str 'drop'",
        ),
        (
            "processors: {attributes: {actions: [{action: delete}]}}",
            "processors::attributes::actions::0: missing required keys: key",
        ),
        (
            "processors: {batch: {timeout_s: 5 minutes}}",
            "processors::batch::timeout_s: expected a duration "
            '("200ms", "1s", "2m", "1h") or a number of seconds, got str \'5 minutes\'',
        ),
        ("exporters: {duckdb: {retention_days: 3}}", "exporters::duckdb: missing required keys: path"),
        ("exporters: {duckdb:}", "exporters::duckdb: missing required keys: path"),
        ("processors: {batch: [1]}", "processors::batch: expected a mapping, got a list"),
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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "processors: {batch: {send_batch_size: 100, send_batch_max_size: 10}}",
            "processors::batch: send_batch_max_size must be >= send_batch_size",
        ),
        (
            "processors: {attributes: {actions: [{key: a, action: delete}, {key: b, action: upsert}]}}",
            "processors::attributes::actions::1: action 'upsert' needs value or from_attribute",
        ),
        ("receivers: {otlp:}", "receivers::otlp: must specify at least one protocol"),
    ],
)
def test_validate_errors_carry_the_path(text: str, message: str) -> None:
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
