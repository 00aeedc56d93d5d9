"""Labeling-session REST routes (``/api/v1/labeling/...``) on a real collector: copies of traces,
the queue, answers stored as assessments, per-labeler status and progress, and every answer rule."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.collector.api.rest import MakeTrace
from tests.collector_process import Collector

SCHEMAS = "/api/3.0/mlflow/label-schemas/create"
SESSIONS = "/api/v1/labeling/sessions"


def _schema(api: httpx.Client, experiment_id: str, name: str, kind: str, spec: dict[str, Any], **extra: Any) -> None:
    response = api.post(
        SCHEMAS, json={"experiment_id": experiment_id, "name": name, "type": kind, "input": spec, **extra}
    )
    assert response.status_code == 200, response.text


def _session(api: httpx.Client, experiment_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post(SESSIONS, json={"experiment_id": experiment_id, "name": "review", **fields})
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()["labeling_session"]
    return session


@pytest.fixture
def labeled(api: httpx.Client, experiment_id: str, make_trace: MakeTrace) -> dict[str, Any]:
    """An experiment with one schema of each input type, a session over all of them assigned to
    alice and bob, and two traces added to it."""
    specs = {
        "verdict": ("feedback", {"pass_fail": {"positive_label": "Good", "negative_label": "Bad"}}, {}),
        "quality": ("feedback", {"categorical": {"options": ["Yes", "No"]}}, {"enable_comment": True}),
        "topics": ("feedback", {"categorical": {"options": ["a", "b", "c"], "multi_select": True}}, {}),
        "score": ("feedback", {"numeric": {"min_value": 1, "max_value": 5}}, {}),
        "expected_summary": ("expectation", {"text": {"max_length": 20}}, {}),
        "facts": ("expectation", {"text_list": {"max_length_each": 10, "max_count": 2}}, {}),
    }
    for name, (kind, spec, extra) in specs.items():
        _schema(api, experiment_id, name, kind, spec, **extra)
    session = _session(api, experiment_id, assigned_users=["alice", "bob"], label_schemas=list(specs))
    sources = [make_trace(name="first").trace_id, make_trace(name="second").trace_id]
    added = api.post(f"{SESSIONS}/{session['mlflow_run_id']}/traces", json={"trace_ids": sources})
    assert added.status_code == 200, added.text
    items = added.json()["items"]
    return {
        "session": session,
        "sources": sources,
        "copies": [i["trace_id"] for i in items],
        "base": f"{SESSIONS}/{session['mlflow_run_id']}",
    }


def _answer(
    api: httpx.Client,
    labeled: dict[str, Any],
    schema: str,
    value: Any,
    *,
    user: str = "alice",
    item: int = 0,
    **extra: Any,
) -> httpx.Response:
    return api.post(
        f"{labeled['base']}/items/{labeled['copies'][item]}/answers",
        json={"user": user, "schema": schema, "value": value, **extra},
    )


def test_session_fields_and_copies(
    api: httpx.Client, collector: Collector, experiment_id: str, labeled: dict[str, Any]
) -> None:
    session = labeled["session"]
    run_id = session["mlflow_run_id"]
    assert len(run_id) == 32 and session["labeling_session_id"] == run_id
    assert session == {
        **session,
        "name": "review",
        "experiment_id": experiment_id,
        "assigned_users": ["alice", "bob"],
        "agent": None,
        "enable_multi_turn_chat": False,
        "custom_inputs": None,
        "url_path": f"/review/{run_id}",
    }
    assert api.get(labeled["base"]).json()["labeling_session"] == session

    sources, copies = labeled["sources"], labeled["copies"]
    assert all(c.startswith("tr-") and len(c) == 35 for c in copies) and not set(copies) & set(sources)
    for source, copy in zip(sources, copies, strict=True):
        for table in ("spans", "span_events", "documents", "messages"):
            counts = collector.sql(
                f"SELECT trace_id, count(*) AS n FROM {table} WHERE trace_id IN "
                f"('{source}', '{copy}') GROUP BY ALL ORDER BY trace_id"
            )
            assert len({row["n"] for row in counts}) <= 1, (table, counts)
        (row,) = collector.sql(
            f"SELECT experiment_id, name, json_extract_string(trace_metadata, "
            f"'$.\"mlflow.sourceRun\"') AS run, json_extract_string(tags, "
            f"'$.\"annotrace.source_trace_id\"') AS source FROM traces WHERE trace_id = '{copy}'"
        )
        assert row == {"experiment_id": experiment_id, "name": row["name"], "run": run_id, "source": source}
        spans = api.get(f"/api/v1/traces/{copy}/spans").json()["spans"]
        assert spans and all(s["attributes"]["mlflow.traceRequestId"] == f'"{copy}"' for s in spans)

    again = api.post(f"{labeled['base']}/traces", json={"trace_ids": [sources[1], sources[0]]}).json()["items"]
    assert [(i["trace_id"], i["added"]) for i in again] == [(copies[1], False), (copies[0], False)]
    own = api.post(f"{labeled['base']}/traces", json={"trace_ids": [copies[0]]}).json()["items"]
    assert own == [{"source_trace_id": copies[0], "trace_id": copies[0], "added": False}]
    items = api.get(f"{labeled['base']}/items").json()["items"]
    assert [(i["trace_id"], i["source_trace_id"], i["position"]) for i in items] == [
        (copies[0], sources[0], 0),
        (copies[1], sources[1], 1),
    ]

    found = api.post(
        "/api/3.0/mlflow/traces/search",
        json={
            "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}],
            "filter": f"metadata.`mlflow.sourceRun` = '{run_id}'",
        },
    ).json()
    assert sorted(t["trace_id"] for t in found["traces"]) == sorted(copies)


def test_answers_become_assessments_and_move_status(api: httpx.Client, labeled: dict[str, Any]) -> None:
    response = _answer(api, labeled, "quality", "No", comment="too long")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "in_progress"
    a = body["assessment"]
    assert a == {
        **a,
        "assessment_name": "quality",
        "trace_id": labeled["copies"][0],
        "rationale": "too long",
        "source": {"source_type": "HUMAN", "source_id": "alice"},
        "feedback": {"value": "No"},
    }

    again = _answer(api, labeled, "quality", "Yes").json()["assessment"]
    assert again["assessment_id"] == a["assessment_id"] and again["feedback"] == {"value": "Yes"}

    answers = {"verdict": True, "topics": ["a", "c"], "score": 4, "expected_summary": "short", "facts": ["x", "y"]}
    statuses = [_answer(api, labeled, name, value).json()["status"] for name, value in answers.items()]
    assert statuses == ["in_progress"] * 4 + ["completed"]
    stored = api.get(f"/api/v1/traces/{labeled['copies'][0]}/assessments", params={"valid_only": "true"})
    by_name = {row["assessment_name"]: row for row in stored.json()["assessments"]}
    assert by_name["expected_summary"]["kind"] == "expectation" and by_name["score"]["value"] == 4
    assert not api.get(f"/api/v1/traces/{labeled['sources'][0]}/assessments").json()["assessments"]

    skipped = api.post(f"{labeled['base']}/items/{labeled['copies'][1]}/skip", json={"user": "bob"})
    assert skipped.json() == {"trace_id": labeled["copies"][1], "user": "bob", "status": "skipped"}
    queue = api.get(f"{labeled['base']}/items", params={"user": "alice", "status": "pending"}).json()["items"]
    assert [i["trace_id"] for i in queue] == [labeled["copies"][1]]
    progress = api.get(f"{labeled['base']}/progress").json()
    assert progress == {
        "session_id": labeled["session"]["mlflow_run_id"],
        "item_count": 2,
        "completed_items": 1,
        "totals": {"pending": 2, "in_progress": 0, "completed": 1, "skipped": 1},
        "users": [
            {"user": "alice", "pending": 1, "in_progress": 0, "completed": 1, "skipped": 0},
            {"user": "bob", "pending": 1, "in_progress": 0, "completed": 0, "skipped": 1},
        ],
        "reviewers_per_item": None,  # per item: every assigned user
        "items": [
            {"trace_id": labeled["copies"][0], "completed": 1, "in_progress": 0, "skipped": 0, "reviews_needed": None},
            {"trace_id": labeled["copies"][1], "completed": 0, "in_progress": 0, "skipped": 1, "reviews_needed": None},
        ],
    }

    mine = api.get(SESSIONS, params={"user": "bob", "experiment_id": labeled["session"]["experiment_id"]})
    assert [s["mlflow_run_id"] for s in mine.json()["labeling_sessions"]] == [labeled["session"]["mlflow_run_id"]]
    assert api.get(SESSIONS, params={"user": "carol", "experiment_id": labeled["session"]["experiment_id"]}).json() == {
        "labeling_sessions": []
    }


@pytest.mark.parametrize(
    ("schema", "value", "message"),
    [
        (
            "quality",
            "Maybe",
            "Invalid answer for label schema 'quality': 'Maybe' is not one of the options ['Yes', 'No'].",
        ),
        ("topics", ["a", "z"], "Invalid answer for label schema 'topics': ['z'] not among the options"),
        ("score", 6, "Invalid answer for label schema 'score': 6 is outside the range [1, 5]"),
        ("score", "4", "Invalid answer for label schema 'score': expected a number"),
        ("verdict", "Good", "Invalid answer for label schema 'verdict': expected true or false"),
        ("expected_summary", "x" * 21, "text of 21 characters is longer than max_length 20"),
        ("facts", ["a", "b", "c"], "Invalid answer for label schema 'facts': 3 texts, more than max_count 2."),
        ("facts", ["abcdefghijk"], "text of 11 characters is longer than max_length_each 10"),
        ("unknown", "x", "Label schema 'unknown' is not part of labeling session 'review'"),
    ],
)
def test_answer_rules(api: httpx.Client, labeled: dict[str, Any], schema: str, value: Any, message: str) -> None:
    response = _answer(api, labeled, schema, value)
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert not api.get(f"/api/v1/traces/{labeled['copies'][0]}/assessments").json()["assessments"]


def test_who_and_what_may_be_answered(api: httpx.Client, labeled: dict[str, Any], make_trace: MakeTrace) -> None:
    stranger = _answer(api, labeled, "quality", "Yes", user="mallory")
    assert stranger.status_code == 403 and stranger.json()["error_code"] == "PERMISSION_DENIED"
    assert "User 'mallory' is not assigned to labeling session 'review'" in stranger.json()["message"]
    no_comment = _answer(api, labeled, "score", 3, comment="hm")
    assert "'score': comments are not enabled" in no_comment.json()["message"]
    outside = make_trace().trace_id
    response = api.post(
        f"{labeled['base']}/items/{outside}/answers", json={"user": "alice", "schema": "score", "value": 3}
    )
    assert response.status_code == 404 and "is not an item of labeling session" in response.json()["message"]
    unknown = api.get(f"{SESSIONS}/{'f' * 32}")
    assert unknown.status_code == 404
    assert unknown.json()["message"] == f"Labeling session with run_id `{'f' * 32}` not found"


def test_session_rules_and_lifecycle(api: httpx.Client, experiment_id: str, make_trace: MakeTrace) -> None:
    missing = api.post(SESSIONS, json={"experiment_id": experiment_id, "name": "s", "label_schemas": ["nope"]})
    assert missing.status_code == 400
    assert missing.json()["message"] == "Label schema nope not found. Please create it first via `create_label_schema`."
    session = _session(api, experiment_id, label_schemas=["expected_facts", "guidelines"])
    built_in = api.get(
        "/api/3.0/mlflow/label-schemas/get-by-name", params={"experiment_id": experiment_id, "name": "expected_facts"}
    ).json()["label_schema"]
    assert built_in["type"] == "EXPECTATION" and built_in["input"] == {"text_list": {}}
    base = f"{SESSIONS}/{session['mlflow_run_id']}"
    copy = api.post(f"{base}/traces", json={"trace_ids": [make_trace().trace_id]}).json()["items"][0]["trace_id"]
    anyone = api.post(
        f"{base}/items/{copy}/answers", json={"user": "zoe", "schema": "guidelines", "value": ["be nice"]}
    )
    assert anyone.status_code == 200, anyone.text

    updated = api.patch(base, json={"assigned_users": ["ann"]}).json()["labeling_session"]
    assert updated["assigned_users"] == ["ann"]
    gone = api.post(f"{base}/traces", json={"trace_ids": ["tr-" + "0" * 32]})
    assert gone.status_code == 404 and gone.json()["message"] == f"Trace with ID 'tr-{'0' * 32}' not found."
    assert api.delete(base).status_code == 200
    assert api.get(base).status_code == 404
    assert api.delete(base).status_code == 200
    assert api.get(f"/api/v1/traces/{copy}/assessments").json()["assessments"]  # labels stay


def test_deleting_a_copied_trace_removes_its_item(api: httpx.Client, experiment_id: str, make_trace: MakeTrace) -> None:
    session = _session(api, experiment_id)
    base = f"{SESSIONS}/{session['mlflow_run_id']}"
    copy = api.post(f"{base}/traces", json={"trace_ids": [make_trace().trace_id]}).json()["items"][0]["trace_id"]
    deleted = api.post(
        "/api/2.0/mlflow/traces/delete-traces", json={"experiment_id": experiment_id, "request_ids": [copy]}
    )
    assert deleted.json() == {"traces_deleted": 1}
    assert api.get(f"{base}/items").json()["items"] == []


def test_a_session_for_an_experiment_that_does_not_exist_is_a_404(api: httpx.Client) -> None:
    response = api.post(SESSIONS, json={"experiment_id": "987654321", "name": "nowhere"})
    assert response.status_code == 404, response.text
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert api.get(SESSIONS, params={"experiment_id": "987654321"}).json().get("labeling_sessions", []) == []
    bad_name = api.post(SESSIONS, json={"experiment_id": "0", "name": "tab\there"})
    assert bad_name.status_code == 400 and "U+0009" in bad_name.json()["message"]
