"""The audit trail on a collector run for a team: every write to the review model (assessments,
label schemas, sessions and queues with their items and statuses, datasets and their records,
experiment and trace tags, trace deletes, permissions), made through the real REST API with a
token, leaves one ``audit_log`` row naming the authenticated user, what was done and what it was
before, committed with the change: a refused write leaves none."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.collector.auth.team import Team, start_team

M2, M3 = "/api/2.0/mlflow", "/api/3.0/mlflow"
SESSIONS = "/api/v1/labeling/sessions"


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    running = start_team(Path(tmp_path_factory.mktemp("audit")), ("admin", "editor", "labeler"))
    yield running
    assert running.collector.stop() == 0, running.collector.log


def _client(team: Team, user: str) -> httpx.Client:
    return httpx.Client(base_url=team.collector.web, timeout=30, headers=team.bearer(user))


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def trail(team: Team, object_id: str) -> list[tuple[str | None, str, str, Any, Any]]:
    """(actor, action, object_type, previous, new) of ``object_id``'s rows, oldest first."""
    with _client(team, "admin") as admin:
        rows = ok(
            admin.post(
                "/api/v1/sql",
                json={
                    "query": "SELECT actor, action, object_type, previous, new FROM audit_log "
                    f"WHERE object_id = '{object_id}' ORDER BY audit_id"
                },
            )
        )["rows"]
    return [(a, b, c, _parsed(d), _parsed(e)) for a, b, c, d, e in rows]


def _parsed(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _export(team: Team, experiment_id: str) -> str:
    return team.export_trace(experiment_id)


@pytest.fixture(scope="module")
def experiment_id(team: Team) -> str:
    with _client(team, "editor") as editor:
        return str(
            ok(editor.post(f"{M2}/experiments/create", json={"name": f"audit-{uuid.uuid4().hex[:8]}"}))["experiment_id"]
        )


def test_experiment_and_trace_tags_and_trace_deletes_are_audited(team: Team, experiment_id: str) -> None:
    trace_id = _export(team, experiment_id)
    with _client(team, "editor") as editor:
        ok(
            editor.post(
                f"{M2}/experiments/set-experiment-tag",
                json={"experiment_id": experiment_id, "key": "team", "value": "qa"},
            )
        )
        ok(editor.post(f"{M2}/experiments/delete-experiment-tag", json={"experiment_id": experiment_id, "key": "team"}))
        ok(editor.patch(f"{M3}/traces/{trace_id}/tags", json={"key": "verdict", "value": "bad"}))
        ok(editor.patch(f"{M3}/traces/{trace_id}/tags", json={"key": "verdict", "value": "good"}))
        ok(editor.request("DELETE", f"{M3}/traces/{trace_id}/tags", json={"key": "verdict"}))
        missing = editor.request("DELETE", f"{M3}/traces/{trace_id}/tags", json={"key": "verdict"})
        assert missing.status_code == 404  # refused: nothing changed, nothing audited
        ok(editor.post(f"{M3}/traces/delete-traces", json={"experiment_id": experiment_id, "request_ids": [trace_id]}))
    experiment = trail(team, experiment_id)
    assert [(a, b, c) for a, b, c, _, _ in experiment] == [
        ("editor", "create", "experiment"),
        ("editor", "set-tag", "experiment"),
        ("editor", "delete-tag", "experiment"),
    ]
    assert experiment[1][3]["tags"] == {} and experiment[1][4]["tags"] == {"team": "qa"}
    assert experiment[2][3]["tags"] == {"team": "qa"} and experiment[2][4]["tags"] == {}
    trace = trail(team, trace_id)
    assert [(a, b, c, d) for a, b, c, d, _ in trace[:3]] == [
        ("editor", "set-tag", "trace", None),
        ("editor", "set-tag", "trace", {"key": "verdict", "value": "bad"}),
        ("editor", "delete-tag", "trace", {"key": "verdict", "value": "good"}),
    ]
    actor, action, kind, previous, new = trace[3]
    assert (actor, action, kind, new, len(trace)) == ("editor", "delete", "trace", None, 4)
    assert previous["experiment_id"] == experiment_id and previous["span_count"] == 1


def test_assessments_and_label_schemas_are_audited_with_their_previous_value(team: Team, experiment_id: str) -> None:
    trace_id = _export(team, experiment_id)
    url = f"{M3}/traces/{trace_id}/assessments"
    with _client(team, "editor") as editor:
        body = {"assessment_name": "tone", "trace_id": trace_id, "feedback": {"value": "rude"}}
        body["source"] = {"source_type": "HUMAN", "source_id": "editor"}
        first = ok(editor.post(url, json={"assessment": body}))["assessment"]["assessment_id"]
        ok(
            editor.patch(
                f"{url}/{first}",
                json={"assessment": {"feedback": {"value": "polite"}}, "update_mask": "feedback"},
            )
        )
        override = {**body, "feedback": {"value": "neutral"}, "overrides": first}
        second = ok(editor.post(url, json={"assessment": override}))["assessment"]["assessment_id"]
        ok(editor.delete(f"{url}/{second}"))
        schema = ok(
            editor.post(
                f"{M3}/label-schemas/create",
                json={"experiment_id": experiment_id, "name": "tone", "type": "FEEDBACK", "input": {"text": {}}},
            )
        )["label_schema"]["schema_id"]
        ok(editor.patch(f"{M3}/label-schemas/update", json={"schema_id": schema, "title": "Tone?"}))
        ok(editor.request("DELETE", f"{M3}/label-schemas/delete", json={"schema_id": schema}))
    answered = trail(team, first)
    assert [(a, b) for a, b, *_ in answered] == [
        ("editor", "create"),
        ("editor", "update"),
        ("editor", "invalidate"),  # overridden
        ("editor", "restore"),  # its override deleted
    ]
    assert answered[1][3]["value"] == "rude" and answered[1][4]["value"] == "polite"
    assert [(a, b) for a, b, *_ in trail(team, second)] == [("editor", "create"), ("editor", "delete")]
    schema_rows = trail(team, schema)
    assert [(a, b, c) for a, b, c, _, _ in schema_rows] == [
        ("editor", "create", "label_schema"),
        ("editor", "update", "label_schema"),
        ("editor", "delete", "label_schema"),
    ]
    assert schema_rows[1][3]["title"] != "Tone?" and schema_rows[1][4]["title"] == "Tone?"
    assert schema_rows[2][3]["title"] == "Tone?" and schema_rows[2][4] is None


def test_session_items_and_statuses_are_audited(team: Team, experiment_id: str) -> None:
    source = _export(team, experiment_id)
    with _client(team, "editor") as editor:
        ok(
            editor.post(
                f"{M3}/label-schemas/create",
                json={"experiment_id": experiment_id, "name": "ok", "type": "FEEDBACK", "input": {"text": {}}},
            )
        )
        session = ok(
            editor.post(
                SESSIONS,
                json={
                    "experiment_id": experiment_id,
                    "name": "s",
                    "assigned_users": ["labeler"],
                    "label_schemas": ["ok"],
                },
            )
        )["labeling_session"]["mlflow_run_id"]
        item = ok(editor.post(f"{SESSIONS}/{session}/traces", json={"trace_ids": [source]}))["items"][0]["trace_id"]
        ok(editor.post(f"{SESSIONS}/{session}/traces", json={"trace_ids": [source]}))  # already there: no change
    with _client(team, "labeler") as labeler:
        ok(labeler.post(f"{SESSIONS}/{session}/items/{item}/skip", json={}))
        ok(labeler.post(f"{SESSIONS}/{session}/items/{item}/answers", json={"schema": "ok", "value": "fine"}))
    assert [(a, b, c, d) for a, b, c, d, _ in trail(team, f"{session}/{item}")] == [
        ("editor", "add", "labeling_item", None)
    ]
    assert [(a, b, d, e) for a, b, _, d, e in trail(team, f"{session}/{item}/labeler")] == [
        ("labeler", "set-status", None, {"status": "skipped"}),
        ("labeler", "set-status", {"status": "skipped"}, {"status": "completed"}),
    ]


def test_review_queue_items_and_their_status_are_audited(team: Team, experiment_id: str) -> None:
    trace_id = _export(team, experiment_id)
    with _client(team, "editor") as editor:
        queue = ok(
            editor.post(
                f"{M3}/review-queues/create",
                json={"experiment_id": experiment_id, "name": f"q-{uuid.uuid4().hex[:6]}", "queue_type": "CUSTOM"},
            )
        )["review_queue"]["queue_id"]
        ok(editor.post(f"{M3}/review-queues/items/add", json={"queue_id": queue, "item_ids": [trace_id]}))
        ok(
            editor.post(
                f"{M3}/review-queues/items/set-status",
                json={"queue_id": queue, "item_id": trace_id, "status": "DECLINED", "completed_by": "editor"},
            )
        )
        ok(editor.post(f"{M3}/review-queues/items/remove", json={"queue_id": queue, "item_ids": [trace_id]}))
        ok(editor.post(f"{M3}/review-queues/delete", json={"queue_id": queue}))
    rows = trail(team, f"{queue}/{trace_id}")
    assert [(a, b, c) for a, b, c, _, _ in rows] == [
        ("editor", "add", "review_queue_item"),
        ("editor", "set-status", "review_queue_item"),
        ("editor", "remove", "review_queue_item"),
    ]
    assert rows[1][3]["status"] == "pending" and rows[1][4]["status"] == "declined"
    assert [(a, b) for a, b, *_ in trail(team, queue)] == [("editor", "create"), ("editor", "delete")]


def test_datasets_and_their_records_are_audited(team: Team, experiment_id: str) -> None:
    with _client(team, "editor") as editor:
        dataset = ok(editor.post(f"{M3}/datasets/create", json={"name": "golden", "experiment_ids": [experiment_id]}))[
            "dataset"
        ]["dataset_id"]
        ok(editor.patch(f"{M3}/datasets/{dataset}/tags", json={"tags": json.dumps({"team": "qa"})}))
        ok(editor.delete(f"{M3}/datasets/{dataset}/tags/team"))
        records = [{"inputs": {"q": "hi"}, "expectations": {"a": "hello"}}]
        ok(editor.post(f"{M3}/datasets/{dataset}/records", json={"records": json.dumps(records)}))
        records = [{"inputs": {"q": "hi"}, "expectations": {"a": "hey"}}]
        ok(editor.post(f"{M3}/datasets/{dataset}/records", json={"records": json.dumps(records)}))
        bad = editor.post(f"{M3}/datasets/{dataset}/records", json={"records": json.dumps([{"outputs": 1}])})
        assert bad.status_code == 400  # refused whole: no record, no audit row
        listed = ok(editor.get(f"{M3}/datasets/{dataset}/records"))
        record_id = json.loads(listed["records"])[0]["dataset_record_id"]
        ok(editor.request("DELETE", f"{M3}/datasets/{dataset}/records", json={"dataset_record_ids": [record_id]}))
        ok(editor.delete(f"{M3}/datasets/{dataset}"))
    rows = trail(team, dataset)
    assert [(a, b) for a, b, *_ in rows] == [
        ("editor", "create"),
        ("editor", "set-tags"),
        ("editor", "delete-tag"),
        ("editor", "upsert-records"),
        ("editor", "upsert-records"),
        ("editor", "delete-records"),
        ("editor", "delete"),
    ]
    assert rows[1][3]["tags"] == {} and rows[1][4]["tags"] == {"team": "qa"}
    assert rows[3][3]["records"] == [] and rows[3][4]["records"][0]["expectations"] == {"a": "hello"}
    assert rows[4][3]["records"][0]["expectations"] == {"a": "hello"}  # the value it replaced
    assert rows[5][3]["records"][0]["record_id"] == record_id
    assert rows[6][3]["name"] == "golden" and rows[6][4] is None


def test_grants_are_audited(team: Team, experiment_id: str) -> None:
    path = f"/api/v1/users/labeler/permissions/{experiment_id}"
    with _client(team, "admin") as admin:
        ok(admin.put(path, json={"permission": "READ"}))
        ok(admin.put(path, json={"permission": "EDIT"}))
        ok(admin.delete(path))
    rows = trail(team, f"{experiment_id}/labeler")
    assert [(a, b, (d or {}).get("permission"), (e or {}).get("permission")) for a, b, _, d, e in rows] == [
        ("admin", "grant", None, "READ"),
        ("admin", "grant", "READ", "EDIT"),
        ("admin", "revoke", "EDIT", None),
    ]
