"""The config file's text: ``${env:...}`` references and YAML, through ``load_text`` on stand-in components."""

from __future__ import annotations

import pytest

from annotrace.collector.config import ComponentID, load_text
from tests.collector.config_standins import (
    FACTORIES,
    REF_HELP,
    BearerTokenAuthConfig,
    DuckDBExporterConfig,
    error_of,
    parse,
)


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
