"""The audit trail of what users do beyond assessments, schemas, sessions and users: Review App
sign-ins (failed ones too) and sign-outs, MLflow runs, logged models, scorers and artifacts, and the
labeling leases a session hands out. Reads leave no row, nor do a run's metrics (logged data)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.collector.auth.team import Team, password

M = "/api/2.0/mlflow"


def _client(team: Team, user: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=team.collector.web, timeout=30, headers=team.bearer(user) if user else None)


def _audit(team: Team, where: str) -> list[list[Any]]:
    with _client(team, "admin") as admin:
        found = admin.post(
            "/api/v1/sql",
            json={
                "query": f"SELECT object_type, action, actor, object_id FROM audit_log WHERE {where} ORDER BY audit_id"
            },
        )
        assert found.status_code == 200, found.text
        return list(found.json()["rows"])


def test_sign_ins_failed_sign_ins_and_sign_outs_are_audited(team: Team) -> None:
    with httpx.Client(base_url=team.collector.web, timeout=30) as browser:
        wrong = browser.post("/login", data={"name": "viewer", "password": "not-it", "next": "/"})
        assert wrong.status_code == 401
        assert browser.post("/login", data={"name": "viewer", "password": password("viewer")}).status_code == 303
        page = browser.get("/")
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
        assert token is not None, page.text
        assert browser.post("/logout", data={"csrf_token": token.group(1)}).status_code == 303
    rows = _audit(team, "object_type = 'user' AND object_id = 'viewer' AND action LIKE 'sign-%'")
    assert rows == [
        ["user", "sign-in-failed", None, "viewer"],
        ["user", "sign-in", "viewer", "viewer"],
        ["user", "sign-out", "viewer", "viewer"],
    ]


def test_runs_models_scorers_and_artifacts_writes_are_audited_with_their_user(team: Team) -> None:
    with _client(team, "editor") as editor:
        experiment = editor.post(f"{M}/experiments/create", json={"name": f"audit-{uuid.uuid4().hex[:8]}"})
        experiment_id = experiment.json()["experiment_id"]
        run = editor.post(f"{M}/runs/create", json={"experiment_id": experiment_id, "run_name": "first"})
        assert run.status_code == 200, run.text
        run_id = run.json()["run"]["info"]["run_id"]
        metric = {"key": "loss", "value": 0.5, "timestamp": 1, "step": 0}
        for body in (
            {"run_id": run_id, "metrics": [metric]},  # metrics only: no audit row
            {"run_id": run_id, "params": [{"key": "lr", "value": "0.1"}]},
        ):
            assert editor.post(f"{M}/runs/log-batch", json=body).status_code == 200
        assert editor.post(f"{M}/runs/update", json={"run_id": run_id, "status": "FINISHED"}).status_code == 200
        assert editor.get(f"{M}/runs/get", params={"run_id": run_id}).status_code == 200  # a read: no row
        assert editor.post(f"{M}/runs/delete", json={"run_id": run_id}).status_code == 200
        model = editor.post(f"{M}/logged-models", json={"experiment_id": experiment_id, "name": "m"})
        assert model.status_code == 200, model.text
        model_id = model.json()["model"]["info"]["model_id"]
        assert editor.delete(f"{M}/logged-models/{model_id}").status_code == 200
        scorer = {"experiment_id": experiment_id, "name": "judge", "serialized_scorer": '{"name": "judge"}'}
        assert editor.post("/api/3.0/mlflow/scorers/register", json=scorer).status_code == 200
        deleted = editor.delete(
            "/api/3.0/mlflow/scorers/delete", params={"experiment_id": experiment_id, "name": "judge"}
        )
        assert deleted.status_code == 200, deleted.text
        path = f"{experiment_id}/notes.txt"
        assert editor.put(f"/api/2.0/mlflow-artifacts/artifacts/{path}", content=b"hello").status_code == 200
    rows = _audit(team, "object_type IN ('run', 'logged_model', 'scorer', 'artifact') AND actor = 'editor'")
    assert [row[:2] for row in rows if row[3] == run_id] == [
        ["run", "create"],
        ["run", "log-params-tags"],
        ["run", "update"],
        ["run", "delete"],
    ]
    assert [row[:2] for row in rows if row[3] == model_id] == [["logged_model", "create"], ["logged_model", "delete"]]
    assert [row[:2] for row in rows if row[0] == "scorer"][-2:] == [["scorer", "register"], ["scorer", "delete"]]
    assert ["artifact", "put", "editor", path] in rows


def test_a_lease_handed_out_by_a_session_is_audited(team: Team) -> None:
    with _client(team, "editor") as editor:
        experiment_id = editor.post(f"{M}/experiments/create", json={"name": f"lease-{uuid.uuid4().hex[:8]}"}).json()[
            "experiment_id"
        ]
        trace_id = team.export_trace(experiment_id)
        session = editor.post(
            "/api/v1/labeling/sessions",
            json={
                "experiment_id": experiment_id,
                "name": "leased",
                "assigned_users": ["labeler2"],
                "reviewers_per_item": 1,
            },
        )
        assert session.status_code == 200, session.text
        session_id = session.json()["labeling_session"]["mlflow_run_id"]
        added = editor.post(f"/api/v1/labeling/sessions/{session_id}/traces", json={"trace_ids": [trace_id]})
        assert added.status_code == 200, added.text
    with _client(team, "labeler2") as labeler:
        for _ in range(2):  # the second visit keeps the lease it holds: no second row
            assert labeler.get(f"/review/{session_id}").status_code == 200
    rows = _audit(team, f"object_type = 'labeling_lease' AND object_id = '{session_id}'")
    assert rows == [["labeling_lease", "claim", "labeler2", session_id]]
