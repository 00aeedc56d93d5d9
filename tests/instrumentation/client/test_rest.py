"""The one HTTP session: MLflow's error envelope and every other failure become AnnotraceException."""

from __future__ import annotations

import socket

import httpx
import pytest

from annotrace import tracking
from annotrace.client import rest
from annotrace.exceptions import AnnotraceException, MlflowException
from tests.instrumentation.scripted_server import Reply, ScriptedServer


def test_json_answer(server: ScriptedServer) -> None:
    server.route("GET", "/api/x", Reply(200, {"ok": 1}))
    assert rest.call("GET", "/api/x", params={"a": ["1", "2"]}) == {"ok": 1}
    assert server.requests[0].query == {"a": ["1", "2"]}
    assert server.requests[0].headers["user-agent"] == "annotrace-sdk"


def test_empty_body_is_an_empty_object(server: ScriptedServer) -> None:
    server.route("DELETE", "/api/x", Reply(200, raw=b""))
    assert rest.call("DELETE", "/api/x", json={"k": "v"}) == {}
    assert server.requests[0].body == {"k": "v"}


@pytest.mark.parametrize(
    ("status", "envelope"),
    [
        (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Trace with ID 'tr-1' not found."}),
        (400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "Missing value for required parameter 'x'."}),
        (500, {"error_code": "INTERNAL_ERROR", "message": "boom"}),
    ],
)
def test_mlflow_envelope_maps_to_exception(server: ScriptedServer, status: int, envelope: dict[str, str]) -> None:
    server.route("POST", "/api/x", Reply(status, envelope))
    with pytest.raises(MlflowException) as caught:
        rest.call("POST", "/api/x", json={})
    assert isinstance(caught.value, AnnotraceException)
    assert (caught.value.error_code, caught.value.message, str(caught.value)) == (
        envelope["error_code"],
        envelope["message"],
        envelope["message"],
    )


def test_envelope_extra_fields_are_kept(server: ScriptedServer) -> None:
    server.route("GET", "/api/x", Reply(400, {"error_code": "BAD_REQUEST", "message": "m", "sqlstate": "42000"}))
    with pytest.raises(AnnotraceException) as caught:
        rest.call("GET", "/api/x")
    assert caught.value.json_kwargs == {"sqlstate": "42000"}


@pytest.mark.parametrize(
    ("status", "code"),
    [(404, "ENDPOINT_NOT_FOUND"), (401, "UNAUTHENTICATED"), (502, "INTERNAL_ERROR"), (418, "BAD_REQUEST")],
)
def test_non_envelope_errors_get_the_status_code(server: ScriptedServer, status: int, code: str) -> None:
    server.route("GET", "/api/x", Reply(status, raw=b"<html>nope</html>", headers={"Content-Type": "text/html"}))
    with pytest.raises(AnnotraceException) as caught:
        rest.call("GET", "/api/x")
    assert caught.value.error_code == code
    assert f"failed with error code {status} != 200" in caught.value.message
    assert "<html>nope</html>" in caught.value.message
    assert server.url in caught.value.message


def test_unknown_route_is_endpoint_not_found(server: ScriptedServer) -> None:
    with pytest.raises(AnnotraceException) as caught:
        rest.call("GET", "/api/missing")
    assert caught.value.error_code == "ENDPOINT_NOT_FOUND"


def test_429_and_503_are_retried_after_retry_after(server: ScriptedServer) -> None:
    server.route(
        "POST",
        "/api/x",
        Reply(429, {"error_code": "RESOURCE_EXHAUSTED", "message": "slow down"}, headers={"Retry-After": "0"}),
        Reply(503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}, headers={"Retry-After": "0"}),
        Reply(200, {"done": True}),
    )
    assert rest.call("POST", "/api/x", json={}) == {"done": True}
    assert len(server.requests) == 3


def test_retries_give_up(server: ScriptedServer) -> None:
    server.route(
        "GET",
        "/api/x",
        Reply(503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}, headers={"Retry-After": "0"}),
    )
    with pytest.raises(AnnotraceException) as caught:
        rest.call("GET", "/api/x")
    assert caught.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert len(server.requests) == rest.MAX_RETRIES + 1


def test_non_json_success_is_an_error(server: ScriptedServer) -> None:
    server.route("GET", "/api/x", Reply(200, raw=b"plain text", headers={"Content-Type": "text/plain"}))
    with pytest.raises(AnnotraceException, match="not JSON"):
        rest.call("GET", "/api/x")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_collector_names_the_uri(clean_env: pytest.MonkeyPatch) -> None:
    tracking._reset()
    uri = f"http://127.0.0.1:{_closed_port()}"
    tracking.set_tracking_uri(uri)
    try:
        with pytest.raises(AnnotraceException) as caught:
            rest.call("GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "x"})
    finally:
        rest.close()
        tracking._reset()
    assert caught.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert f"Could not reach the annotrace collector at tracking URI '{uri}'" in caught.value.message
    assert "annotrace serve" in caught.value.message
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_one_session_per_uri(server: ScriptedServer) -> None:
    server.route("GET", "/api/x", Reply(200, {}))
    rest.call("GET", "/api/x")
    first = rest._client
    rest.call("GET", "/api/x")
    assert rest._client is first
    with ScriptedServer() as other:
        other.route("GET", "/api/x", Reply(200, {"other": True}))
        tracking.set_tracking_uri(other.url)
        assert rest.call("GET", "/api/x") == {"other": True}
        assert rest._client is not first
        assert first is not None and first.is_closed
        rest.close()


def test_quote_keeps_ids_in_one_segment() -> None:
    assert rest.quote("tr-abc") == "tr-abc"
    assert rest.quote("a/b c") == "a%2Fb%20c"
