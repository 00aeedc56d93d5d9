"""The authorisation matrix, built from the route table: every route of the web port and every
OTLP entry point, called with no credential, a wrong token, and as viewer, labeler, editor and
admin, answers what ``auth/rules.py`` says. A route added without a rule fails
``test_every_route_has_a_rule``."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from starlette.routing import Route

from annotrace.collector.app import web_app
from annotrace.collector.auth.rules import LEVEL_ROLES, RULES, rule_for, rule_key
from annotrace.collector.store.visible_rows import ADMIN_ONLY, LAKE_ONLY, VISIBLE
from tests.collector.auth.team import Team

CALLERS = ("nobody", "wrong token", "viewer", "labeler", "editor", "admin")
PATH_VALUES = {
    "trace_id": "tr-" + "e" * 32,
    "assessment_id": "a-" + "e" * 32,
    "session_id": "e" * 32,
    "dataset_id": "d-" + "e" * 32,
    "key": "k",
    "name": "nobody-at-all",
    "experiment_id": "999999",
    "token_id": "tok-" + "e" * 16,
    "span_id": "e" * 16,
    "model_id": "m-" + "e" * 32,
    "tag_key": "k",
    "artifact_path": "e" * 32 + "/artifacts/x.txt",
    "rule_id": "rr-" + "e" * 32,
}
SKIP = {("POST", "/logout")}  # signs the caller out: checked in test_review_app_sign_in


def route_table() -> list[tuple[str, str]]:
    """(method, path) of every route the web port serves, from the app itself."""
    app = web_app(None, None, None, SimpleNamespace(spool=None, runner=None))  # type: ignore[arg-type]
    found = []
    for route in app.routes:
        if isinstance(route, Route):
            found += [(method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


ROUTES = route_table()


def test_every_route_has_a_rule() -> None:
    assert [f"{m} {p}" for m, p in ROUTES if rule_for(m, p) is None] == []
    served = {rule_key(m, p) for m, p in ROUTES}
    assert [f"{m} {p}" for m, p in RULES if (m, p) not in served] == []  # no rule for a route that is gone


def _headers(team: Team, caller: str) -> dict[str, str]:
    if caller == "nobody":
        return {}
    if caller == "wrong token":
        return {"Authorization": "Bearer at_" + "x" * 43}
    return team.bearer(caller)


def _expected(level: str, caller: str) -> int | None:
    """401 or 403 when the rule refuses the caller, None when it lets them through."""
    if level == "public":
        return None
    if caller in ("nobody", "wrong token"):
        return 401
    return None if caller in LEVEL_ROLES[level] else 403


@pytest.mark.parametrize("caller", CALLERS)
def test_every_route_answers_by_its_rule(team: Team, caller: str) -> None:
    wrong: list[str] = []
    with httpx.Client(base_url=team.collector.web, timeout=30, follow_redirects=False) as client:
        for method, template in ROUTES:
            if (method, template) in SKIP:
                continue
            path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PATH_VALUES[m.group(1)], template)
            level = rule_for(method, template)
            assert level is not None
            response = client.request(
                method,
                path,
                headers={**_headers(team, caller), "content-type": "application/json"},
                content=b"{}" if method != "GET" else None,
            )
            expected = _expected(level, caller)
            status = response.status_code
            refused_by_rule = status in (401, 403) and _refusal(response)
            is_page_redirect = status == 303 and "/login" in response.headers.get("location", "")
            if expected is None and refused_by_rule:
                wrong.append(f"{caller}: {method} {path} -> {status} {response.text[:200]}")
            elif expected == 401 and not (status == 401 or is_page_redirect):
                wrong.append(f"{caller}: {method} {path} -> {status}, expected 401")
            elif expected == 403 and status != 403:
                wrong.append(f"{caller}: {method} {path} -> {status}, expected 403")
            if status in (401, 403) and path.startswith(("/api/", "/ajax-api/")):  # MLflow's error shape
                body = response.json()
                assert set(body) == {"error_code", "message"}, body
                assert body["error_code"] == ("UNAUTHENTICATED" if status == 401 else "PERMISSION_DENIED")
    assert wrong == []


def _refusal(response: httpx.Response) -> bool:
    """Whether a 401/403 came from authentication or a route's rule (not a handler's own check)."""
    if response.status_code == 401:  # the login page's own "wrong password" is HTML
        return response.headers.get("content-type", "").startswith("application/json")
    text = response.text
    return "needs the role" in text or "may not export" in text or "no access rule" in text


OTLP_GRPC: list[tuple[str, Any, Any]] = [
    ("traces", trace_service_pb2_grpc.TraceServiceStub, trace_service_pb2.ExportTraceServiceRequest()),
    ("logs", logs_service_pb2_grpc.LogsServiceStub, logs_service_pb2.ExportLogsServiceRequest()),
    ("metrics", metrics_service_pb2_grpc.MetricsServiceStub, metrics_service_pb2.ExportMetricsServiceRequest()),
]
GRPC_CODES = {401: grpc.StatusCode.UNAUTHENTICATED, 403: grpc.StatusCode.PERMISSION_DENIED, None: grpc.StatusCode.OK}


@pytest.mark.parametrize("caller", CALLERS)
def test_every_otlp_entry_point_answers_by_its_rule(team: Team, caller: str) -> None:
    expected = _expected("edit", caller)
    metadata = tuple((k.lower(), v) for k, v in _headers(team, caller).items())
    with grpc.insecure_channel(team.collector.grpc) as channel:
        for signal, stub_class, request in OTLP_GRPC:
            try:
                stub_class(channel).Export(request, metadata=metadata, timeout=10)
                code = grpc.StatusCode.OK
            except grpc.RpcError as exc:
                code = exc.code()
            assert code == GRPC_CODES[expected], (signal, caller)
    for base in (team.collector.http, team.collector.web):
        for signal, _, request in OTLP_GRPC:
            response = httpx.post(
                f"{base}/v1/{signal}",
                content=request.SerializeToString(),
                headers={**_headers(team, caller), "content-type": "application/x-protobuf"},
            )
            assert response.status_code == (expected or 200), (base, signal, caller, response.text)


SQL_RELATIONS = sorted(set(VISIBLE) | (ADMIN_ONLY - LAKE_ONLY))


@pytest.mark.parametrize("caller", CALLERS)
def test_every_relation_answers_sql_by_the_callers_permissions(team: Team, caller: str) -> None:
    """``/api/v1/sql`` for each relation: admins read every relation, other users every relation of
    experiments (only their rows: ``test_attacks``) and no relation without one, which does not exist
    for them; a labeler assigned to no session reads no rows at all."""
    wrong: list[str] = []
    with httpx.Client(base_url=team.collector.web, timeout=60, headers=_headers(team, caller)) as client:
        for relation in SQL_RELATIONS:
            response = client.post("/api/v1/sql", json={"query": f"SELECT count(*) FROM {relation}"})
            if caller in ("nobody", "wrong token"):
                expected = 401
            elif caller == "admin" or relation in VISIBLE:
                expected = 200
            else:
                expected = 400
            if response.status_code != expected:
                wrong.append(f"{relation}: {response.status_code} {response.text[:200]}, expected {expected}")
            elif expected == 400 and "does not exist" not in response.json()["message"]:
                wrong.append(f"{relation}: {response.text[:200]}")
            elif expected == 200 and caller == "labeler" and response.json()["rows"] != [[0]]:
                wrong.append(f"{relation}: a labeler without sessions read {response.json()['rows']}")
    assert wrong == []
