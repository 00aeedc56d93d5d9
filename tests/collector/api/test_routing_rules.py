"""Routing-rule REST routes with authentication on: who may create, list and remove a rule, the audit
rows of both, and a rule filling an MLflow review queue (which attaches traces, not copies) from
exports acknowledged just before the queue is read."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.collector.api.rest import assert_error
from tests.collector.auth.team import Team, start_team
from tests.otlp_builders import new_span_id, new_trace_id, request, span


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    running = start_team(Path(tmp_path_factory.mktemp("routing")), ("admin", "editor", "viewer"))
    yield running
    assert running.collector.stop() == 0, running.collector.log


def _client(team: Team, user: str) -> httpx.Client:
    return httpx.Client(base_url=team.collector.web, headers=team.bearer(user), timeout=30)


def _queue(editor: httpx.Client) -> tuple[str, str]:
    """A new experiment and a CUSTOM review queue in it: (experiment_id, queue_id)."""
    made = editor.post("/api/2.0/mlflow/experiments/create", json={"name": f"routing-{uuid.uuid4().hex[:8]}"})
    experiment_id = made.json()["experiment_id"]
    queue = editor.post(
        "/api/3.0/mlflow/review-queues/create",
        json={"experiment_id": experiment_id, "name": "errors", "queue_type": "CUSTOM"},
    )
    assert queue.status_code == 200, queue.text
    return experiment_id, queue.json()["review_queue"]["queue_id"]


def _export(team: Team, experiment_id: str, name: str, status: int = 0) -> str:
    trace_id = new_trace_id()
    body = request([span(trace_id, new_span_id(), name=name, status=status)]).SerializeToString()
    response = httpx.post(
        f"{team.collector.web}/v1/traces",
        content=body,
        headers={
            "content-type": "application/x-protobuf",
            "x-mlflow-experiment-id": experiment_id,
            **team.bearer("editor"),
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return "tr-" + trace_id.hex()


def test_an_editors_filter_rule_fills_a_review_queue_and_is_audited(team: Team) -> None:
    with _client(team, "editor") as editor, _client(team, "admin") as admin:
        experiment_id, queue_id = _queue(editor)
        rules = f"/api/v1/labeling/sessions/{queue_id}/routing-rules"
        made = editor.post(rules, json={"filter": "trace.status = 'ERROR'", "max_traces": 10})
        assert made.status_code == 200, made.text
        rule = made.json()["routing_rule"]
        assert (rule["filter"], rule["sql"], rule["created_by"], rule["traces_added"]) == (
            "trace.status = 'ERROR'",
            None,
            "editor",
            0,
        )
        failed = _export(team, experiment_id, "agent", status=2)
        _export(team, experiment_id, "agent", status=1)
        items = editor.get("/api/3.0/mlflow/review-queues/items/list", params={"queue_id": queue_id}).json()["items"]
        assert [item["item_id"] for item in items] == [failed]  # the trace itself: a queue attaches, not copies
        with _client(team, "viewer") as viewer:
            listed = viewer.get(rules).json()["routing_rules"]
            assert [(r["rule_id"], r["traces_added"]) for r in listed] == [(rule["rule_id"], 1)]
            assert_error(viewer.post(rules, json={"filter": "trace.status = 'OK'"}), 403, "PERMISSION_DENIED")
            assert_error(viewer.delete(f"{rules}/{rule['rule_id']}"), 403, "PERMISSION_DENIED")
        assert editor.delete(f"{rules}/{rule['rule_id']}").json() == {}
        audit = admin.post(
            "/api/v1/sql",
            json={
                "query": "SELECT action, actor FROM audit_log WHERE object_type = 'routing_rule' "
                f"AND object_id = '{rule['rule_id']}' ORDER BY audit_id"
            },
        ).json()["rows"]
        assert audit == [["create", "editor"], ["delete", "editor"]]
        assert_error(editor.delete(f"{rules}/{rule['rule_id']}"), 404, "RESOURCE_DOES_NOT_EXIST", rule["rule_id"])


def test_only_an_admin_may_route_by_sql_which_reads_the_whole_store(team: Team) -> None:
    with _client(team, "editor") as editor, _client(team, "admin") as admin:
        experiment_id, queue_id = _queue(editor)
        rules = f"/api/v1/labeling/sessions/{queue_id}/routing-rules"
        query = {"sql": "SELECT trace_id FROM spans WHERE name = 'retrieve'"}
        assert_error(editor.post(rules, json=query), 403, "PERMISSION_DENIED", "Only admins", "'filter'")
        assert admin.post(rules, json=query).status_code == 200
        routed = _export(team, experiment_id, "retrieve")
        _export(team, experiment_id, "generate")
        items = editor.get("/api/3.0/mlflow/review-queues/items/list", params={"queue_id": queue_id}).json()["items"]
        assert [item["item_id"] for item in items] == [routed]


def test_a_bad_rule_is_a_400_naming_the_field_and_an_unknown_session_a_404(team: Team) -> None:
    with _client(team, "admin") as admin:
        _, queue_id = _queue(admin)
        rules = f"/api/v1/labeling/sessions/{queue_id}/routing-rules"
        assert_error(admin.post(rules, json={"filter": "span.colour = 'x'"}), 400, "INVALID_PARAMETER_VALUE", "colour")
        assert_error(admin.post(rules, json={"filter": 3}), 400, "INVALID_PARAMETER_VALUE", "'filter'")
        assert_error(
            admin.post(rules, json={"filter": "trace.name = 'a'", "sample_rate": "half"}),
            400,
            "INVALID_PARAMETER_VALUE",
            "'sample_rate'",
        )
        assert_error(
            admin.post(rules, json={"sql": "SELECT * FROM read_csv('/etc/passwd')"}),
            400,
            "INVALID_PARAMETER_VALUE",
            "'sql'",
            "read_csv",
        )
        missing = "/api/v1/labeling/sessions/" + "e" * 32 + "/routing-rules"
        assert_error(admin.post(missing, json={"filter": "trace.name = 'a'"}), 404, "RESOURCE_DOES_NOT_EXIST")
        assert admin.get(rules).json() == {"routing_rules": []}
