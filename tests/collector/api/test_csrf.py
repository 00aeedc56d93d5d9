"""Write requests a browser could send cross-site without a preflight are refused before any
handler runs: on every write route of the web port, a text/plain or form body is a 415 (pages take
forms from their own origin), and another ``Origin`` is a 403. OTLP/HTTP keeps taking protobuf
and JSON from any origin, and refuses text/plain."""

from __future__ import annotations

import re
from types import SimpleNamespace

import httpx
import pytest

from annotrace.collector.app import web_app
from tests.collector_process import Collector
from tests.otlp_builders import new_span_id, new_trace_id, request, span

EVIL = "https://evil.example"


def _write_routes() -> list[tuple[str, str]]:
    app = web_app(None, None, None, SimpleNamespace(spool=None))  # type: ignore[arg-type] # only routes are read
    found = []
    for route in app.routes:
        methods = getattr(route, "methods", None) or set()
        for method in sorted(methods & {"POST", "PUT", "PATCH", "DELETE"}):
            found.append((method, re.sub(r"\{[^}]+\}", "x", route.path)))  # type: ignore[attr-defined]
    return found


WRITE_ROUTES = [route for route in _write_routes() if not route[1].startswith("/v1/")]


def test_every_write_route_is_covered() -> None:
    assert ("POST", "/api/v1/sql") in WRITE_ROUTES and ("POST", "/login") in WRITE_ROUTES
    assert len(WRITE_ROUTES) > 50


@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES)
def test_non_json_bodies_and_other_origins_are_refused(collector: Collector, method: str, path: str) -> None:
    url = collector.web + path
    crossing = httpx.request(method, url, json={}, headers={"origin": EVIL})
    assert crossing.status_code == 403, crossing.text
    assert crossing.json()["error_code"] == "PERMISSION_DENIED" and EVIL in crossing.json()["message"]
    plain = httpx.request(method, url, content=b'{"query": "SELECT 1"}', headers={"content-type": "text/plain"})
    form = httpx.request(method, url, data={"query": "SELECT 1"})
    no_type = httpx.request(method, url, content=b"{}")
    if "/mlflow-artifacts/artifacts/" in path and method == "PUT":
        # file bytes of any type, as MLflow's proxy takes them: a browser preflights every PUT
        assert plain.status_code == 200, plain.text
        return
    if "/mlflow/" in path:  # refused as MLflow refuses it; MLflow checks only POST and PUT
        if method == "POST":
            for refused in (plain, form):
                assert (refused.status_code, refused.json()) == (
                    400,
                    {
                        "error_code": "INVALID_PARAMETER_VALUE",
                        "message": "Bad Request. Content-Type must be one of ['application/json'].",
                    },
                )
            assert no_type.json()["message"] == "Bad Request. Content-Type header is missing."
        return
    assert plain.status_code == 415, plain.text
    assert plain.json()["error_code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "text/plain" in plain.json()["message"] and "application/json" in plain.json()["message"]
    if path.startswith(("/api/", "/ajax-api/")):
        assert form.status_code == 415, form.text
    assert no_type.status_code == 415


def test_same_origin_and_clients_without_origin_still_work(collector: Collector) -> None:
    body = {"query": "SELECT 42 AS n"}
    assert httpx.post(f"{collector.web}/api/v1/sql", json=body).json()["rows"] == [[42]]
    same = httpx.post(f"{collector.web}/api/v1/sql", json=body, headers={"origin": collector.web})
    assert same.status_code == 200, same.text
    typed = httpx.post(
        f"{collector.web}/api/v1/sql",
        content=b'{"query": "SELECT 1"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert typed.status_code == 200, typed.text
    login = httpx.post(f"{collector.web}/login", data={"name": "ada@example.com"}, headers={"origin": collector.web})
    assert login.status_code < 400, login.text  # the Review App's form, posted without JS
    assert httpx.post(f"{collector.web}/login", data={"name": "x"}, headers={"origin": EVIL}).status_code == 403
    proxied = httpx.post(
        f"{collector.web}/api/v1/sql",
        json=body,
        headers={
            "origin": "https://annotrace.example.com",
            "x-forwarded-host": "annotrace.example.com",
            "x-forwarded-proto": "https",
        },
    )
    assert proxied.status_code == 200, proxied.text  # behind a reverse proxy
    empty = httpx.delete(f"{collector.web}/api/2.0/mlflow/experiments/x")  # no body needs no type
    assert empty.status_code != 415


@pytest.mark.parametrize("port", ["web", "http"])
def test_otlp_takes_any_origin_but_only_its_content_types(collector: Collector, port: str) -> None:
    base = getattr(collector, port)
    body = request([span(new_trace_id(), new_span_id(), name="from-a-browser")]).SerializeToString()
    sent = httpx.post(
        f"{base}/v1/traces", content=body, headers={"content-type": "application/x-protobuf", "origin": EVIL}
    )
    assert sent.status_code == 200, sent.text
    as_json = httpx.post(f"{base}/v1/traces", json={"resourceSpans": []}, headers={"origin": EVIL})
    assert as_json.status_code == 200, as_json.text
    plain = httpx.post(f"{base}/v1/traces", content=body, headers={"content-type": "text/plain", "origin": EVIL})
    assert plain.status_code == 415
