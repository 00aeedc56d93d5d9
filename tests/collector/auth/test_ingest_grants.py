"""OTLP exports by a user restricted to some experiments (an editor granted EDIT on one, READ on
another), through the OpenTelemetry SDK's real exporters (gRPC and HTTP) in a child process: an
export into the granted experiment is stored; one into the read-only experiment, or under a
``service.name`` that is no experiment yet (which would create one), is refused as a whole
(PERMISSION_DENIED / 403) and nothing of it is stored."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.collector.auth.team import Team
from tests.otlp_builders import new_span_id, new_trace_id, request, span

OTEL = textwrap.dedent("""
    import sys
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanProcessor
    if sys.argv[1] == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    exporter = OTLPSpanExporter()
    results = []

    class Export(SpanProcessor):
        def on_end(self, span):
            results.append(exporter.export([span]).name)

    provider = TracerProvider(resource=Resource.create({"service.name": sys.argv[2]}))
    provider.add_span_processor(Export())
    with provider.get_tracer("t").start_as_current_span(sys.argv[3]):
        pass
    provider.shutdown()
    print(results[0])
""")


@pytest.fixture(scope="module")
def scoped(team: Team) -> Iterator[dict[str, Any]]:
    """An editor with EDIT on experiment ``editable`` and READ on ``readable``, and its token."""
    name = f"scoped-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=team.collector.web, timeout=30, headers=team.bearer("admin")) as admin:
        made = {}
        for key in ("editable", "readable"):
            experiment = f"{key}-{uuid.uuid4().hex[:6]}"
            created = admin.post("/api/2.0/mlflow/experiments/create", json={"name": experiment})
            made[key], made[key + "_name"] = created.json()["experiment_id"], experiment
        assert admin.post("/api/v1/users", json={"name": name, "role": "editor"}).status_code == 200
        for key, permission in (("editable", "EDIT"), ("readable", "READ")):
            granted = admin.put(f"/api/v1/users/{name}/permissions/{made[key]}", json={"permission": permission})
            assert granted.status_code == 200, granted.text
        made["token"] = admin.post("/api/v1/tokens", json={"user": name}).json()["token"]
    yield made


def _export(team: Team, protocol: str, token: str, service: str, *headers: str) -> tuple[str, str]:
    """Export one span named uniquely with the OTel SDK; its export result and span name."""
    endpoint = f"http://{team.collector.grpc}" if protocol == "grpc" else team.collector.http
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    env["OTEL_EXPORTER_OTLP_HEADERS"] = ",".join([f"authorization=Bearer%20{token}", *headers])
    span_name = f"span-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, "-c", OTEL, protocol, service, span_name], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip(), span_name


def _stored(team: Team, query: str) -> list[list[Any]]:
    answer = httpx.post(
        f"{team.collector.web}/api/v1/sql", json={"query": query}, headers=team.bearer("admin"), timeout=30
    )
    assert answer.status_code == 200, answer.text
    rows: list[list[Any]] = answer.json()["rows"]
    return rows


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_a_restricted_editor_exports_only_where_granted_edit(team: Team, scoped: dict[str, Any], protocol: str) -> None:
    token = scoped["token"]
    result, name = _export(team, protocol, token, "svc", f"x-mlflow-experiment-id={scoped['editable']}")
    assert result == "SUCCESS"
    assert _stored(team, f"SELECT experiment_id FROM spans WHERE name = '{name}'") == [[scoped["editable"]]]

    result, name = _export(team, protocol, token, scoped["editable_name"])  # routed by service.name
    assert result == "SUCCESS"
    assert _stored(team, f"SELECT experiment_id FROM spans WHERE name = '{name}'") == [[scoped["editable"]]]

    result, name = _export(team, protocol, token, "svc", f"x-mlflow-experiment-id={scoped['readable']}")
    assert result == "FAILURE"  # PERMISSION_DENIED / 403: not retried
    assert _stored(team, f"SELECT count(*) FROM spans WHERE name = '{name}'") == [[0]]

    new = f"new-service-{uuid.uuid4().hex[:6]}"
    result, name = _export(team, protocol, token, new)  # would create an experiment
    assert result == "FAILURE"
    assert _stored(team, f"SELECT count(*) FROM experiments WHERE name = '{new}'") == [[0]]


def test_an_export_into_two_experiments_is_refused_whole(team: Team, scoped: dict[str, Any]) -> None:
    """One request, one resource per experiment: the granted one is not stored either, and the
    answer names the experiment refused."""
    trace = new_trace_id()
    body = request([span(trace, new_span_id(), name="ok")], {"service.name": scoped["editable_name"]})
    other = request([span(trace, new_span_id(), name="refused")], {"service.name": scoped["readable_name"]})
    body.resource_spans.extend(other.resource_spans)
    answer = httpx.post(
        f"{team.collector.http}/v1/traces",
        content=body.SerializeToString(),
        headers={"content-type": "application/x-protobuf", "authorization": f"Bearer {scoped['token']}"},
        timeout=30,
    )
    assert answer.status_code == 403, answer.text
    assert scoped["readable"] in answer.text
    assert _stored(team, f"SELECT count(*) FROM spans WHERE trace_id = 'tr-{trace.hex()}'") == [[0]]


def test_editors_without_grants_still_create_experiments_by_service_name(team: Team) -> None:
    new = f"auto-{uuid.uuid4().hex[:6]}"
    result, name = _export(team, "grpc", team.tokens["editor"], new)
    assert result == "SUCCESS"
    assert _stored(
        team, f"SELECT e.name FROM spans s JOIN experiments e USING (experiment_id) WHERE s.name = '{name}'"
    ) == [[new]]
