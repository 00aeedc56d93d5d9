"""Config dataclasses filled by pydantic (``config_models``): field types, durations, unknown and
missing keys and ``validate()``, each error naming its config path; on stand-in components."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from annotrace.collector.config import ComponentID, ConfigError, Duration, load_text
from tests.collector.config_standins import GRPC, HTTP, OTLPProtocols, error_of, parse

G, H = "receivers::otlp::protocols::grpc", "receivers::otlp::protocols::http"


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
    ],
)
def test_field_errors_name_the_config_path(text: str, message: str) -> None:
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


@dataclass(frozen=True, kw_only=True, slots=True)
class PlainSecondsConfig:
    pause_s: float = 1.0  # a float, whatever its name says: only ``Duration`` reads "2s"
    wait: Duration | None = None
    authenticator: str | tuple[str, ...] = ()
    protocols: OTLPProtocols | None = None


PLAIN = {"processors": {"plain": PlainSecondsConfig}}


def plain_error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_text(text, PLAIN, environ={})
    return str(info.value)


def test_a_duration_is_a_type_not_a_name() -> None:
    config = load_text("processors: {plain: {pause_s: 2, wait: 1m30s}}", PLAIN, environ={})
    assert config.processors[ComponentID("plain")] == PlainSecondsConfig(pause_s=2.0, wait=90.0)
    assert (
        plain_error("processors: {plain: {pause_s: 2s}}") == "processors::plain::pause_s: expected float, got str '2s'"
    )
    assert plain_error("processors: {plain: {wait: soon}}") == (
        "processors::plain::wait: expected a duration "
        '("200ms", "1s", "2m", "1h") or a number of seconds, got str \'soon\''
    )


def test_a_union_takes_the_first_option_that_fits_and_names_them_all() -> None:
    config = load_text("processors: {plain: {authenticator: [a, b]}}", PLAIN, environ={})
    assert config.processors[ComponentID("plain")].authenticator == ("a", "b")
    config = load_text("processors: {plain: {authenticator: '${env:A}'}}", PLAIN, environ={"A": "[a, b]"})
    assert config.processors[ComponentID("plain")].authenticator == "[a, b]"  # str is listed first
    assert plain_error("processors: {plain: {authenticator: 5}}") == (
        "processors::plain::authenticator: expected str or a list, got int 5"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (  # an object's unknown keys before its fields' errors
            "processors: {plain: {zz: 1, protocols: {grpc: {max_recv_msg_size_mib: x}}}}",
            "processors::plain: has invalid keys: zz",
        ),
        (  # a field's error before a later field's unknown keys
            "processors: {plain: {pause_s: x, protocols: {grpc: {zz: 1}}}}",
            "processors::plain::pause_s: expected float, got str 'x'",
        ),
        (
            "processors: {plain: {protocols: {grpc: {max_recv_msg_size_mib: x}, http: {yy: 1}}}}",
            "processors::plain::protocols::grpc::max_recv_msg_size_mib: expected int, got str 'x'",
        ),
        (
            "processors: {plain: {protocols: {http: {response_headers: {1: a}}}}}",
            "processors::plain::protocols::http::response_headers: keys must be strings, got int 1",
        ),
    ],
)
def test_the_first_error_going_down_the_file_is_reported(text: str, message: str) -> None:
    assert plain_error(text) == message
