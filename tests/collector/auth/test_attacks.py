"""The known attacks on a collector run for a team: a cross-site write, a write without the
sign-in's CSRF token, a labeler answering in a session they are not assigned to (or as someone
else), a viewer reading through SQL, and a token used again after it was revoked. Also the
Review App's sign-in cookie and the audit trail of users and tokens."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.collector.auth.team import Team, password

SESSIONS = "/api/v1/labeling/sessions"


def _client(team: Team, user: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=team.collector.web, timeout=30, headers=team.bearer(user) if user else None)


@pytest.fixture(scope="module")
def labeling(team: Team) -> Iterator[dict[str, Any]]:
    """As the editor: an experiment with one trace, a pass/fail schema and a session assigned to
    labeler2 only."""
    with _client(team, "editor") as editor:
        created = editor.post("/api/2.0/mlflow/experiments/create", json={"name": f"team-{uuid.uuid4().hex[:8]}"})
        experiment_id = created.json()["experiment_id"]
        trace_id = team.export_trace(experiment_id)
        schema = editor.post(
            "/api/3.0/mlflow/label-schemas/create",
            json={
                "experiment_id": experiment_id,
                "name": "verdict",
                "type": "feedback",
                "input": {"pass_fail": {"positive_label": "Good", "negative_label": "Bad"}},
            },
        )
        assert schema.status_code == 200, schema.text
        session = editor.post(
            SESSIONS,
            json={
                "experiment_id": experiment_id,
                "name": "review",
                "assigned_users": ["labeler2"],
                "label_schemas": ["verdict"],
            },
        )
        assert session.status_code == 200, session.text
        session_id = session.json()["labeling_session"]["mlflow_run_id"]
        added = editor.post(f"{SESSIONS}/{session_id}/traces", json={"trace_ids": [trace_id]})
        assert added.status_code == 200, added.text
        yield {"experiment_id": experiment_id, "session_id": session_id, "item": added.json()["items"][0]["trace_id"]}


def _sign_in(team: Team, user: str) -> tuple[httpx.Client, str]:
    """A browser-like client signed in through the login form, and its page's CSRF token."""
    browser = httpx.Client(base_url=team.collector.web, timeout=30)
    response = browser.post("/login", data={"name": user, "password": password(user), "next": "/review"})
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert "annotrace_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback; behind https it is set
    page = browser.get("/review")
    assert page.status_code == 200, page.text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert token is not None
    return browser, token.group(1)


def test_a_labeler_answers_only_where_assigned_and_only_as_themselves(team: Team, labeling: dict[str, Any]) -> None:
    path = f"{SESSIONS}/{labeling['session_id']}/items/{labeling['item']}/answers"
    with _client(team, "labeler") as labeler:
        refused = labeler.post(path, json={"user": "labeler2", "schema": "verdict", "value": True})
        assert refused.status_code == 403 and refused.json()["error_code"] == "PERMISSION_DENIED", refused.text
    with _client(team, "labeler2") as labeler2:
        answered = labeler2.post(path, json={"user": "admin", "schema": "verdict", "value": True})
        assert answered.status_code == 200, answered.text
        assert answered.json()["assessment"]["source"]["source_id"] == "labeler2"


def test_review_app_sign_in_csrf_and_sign_out(team: Team, labeling: dict[str, Any]) -> None:
    browser, csrf = _sign_in(team, "labeler2")
    path = f"{SESSIONS}/{labeling['session_id']}/items/{labeling['item']}/answers"
    body = {"user": "someone-else", "schema": "verdict", "value": False}
    assert browser.post(path, json=body).status_code == 403  # no CSRF token
    assert browser.post(path, json=body, headers={"X-CSRF-Token": "guess"}).status_code == 403
    evil = browser.post(path, json=body, headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"})
    assert evil.status_code == 403 and "Cross-origin" in evil.json()["message"]
    ok = browser.post(path, json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.text
    assert ok.json()["assessment"]["source"]["source_id"] == "labeler2"
    queue = browser.get(f"/review/{labeling['session_id']}.json")
    assert queue.status_code == 200, queue.text
    assert browser.post("/logout", data={}).status_code == 403  # a form without the token
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
    gone = browser.get("/review")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    browser.close()


def _sql(client: httpx.Client, query: str) -> httpx.Response:
    return client.post("/api/v1/sql", json={"query": query})


def test_sql_runs_with_the_callers_permissions(team: Team, labeling: dict[str, Any]) -> None:
    """Viewers and editors (no permission rows: every experiment) read every experiment's rows but
    no table without an experiment; the labeler assigned to nothing reads nothing; admins read all."""
    everything = "SELECT count(DISTINCT experiment_id) FROM experiments"
    with _client(team, "admin") as admin:
        total = _sql(admin, everything).json()["rows"][0][0]
        assert _sql(admin, "SELECT count(*) FROM users").json()["rows"][0][0] >= 5
    for user in ("viewer", "editor"):
        with _client(team, user) as client:
            assert _sql(client, everything).json()["rows"] == [[total]]
            for table in ("users", "audit_log", "api_tokens", "web_sessions", "experiment_permissions"):
                refused = _sql(client, f"SELECT * FROM {table}")
                assert refused.status_code == 400 and "does not exist" in refused.json()["message"], refused.text
    with _client(team, "labeler") as labeler:  # assigned to no session
        assert _sql(labeler, "SELECT count(*) FROM traces").json()["rows"] == [[0]]
    with _client(team, "labeler2") as labeler2:  # assigned to the team's session: its experiment only
        rows = _sql(labeler2, "SELECT DISTINCT experiment_id FROM traces").json()["rows"]
        assert rows == [[labeling["experiment_id"]]]
        front = labeler2.get("/")  # the experiment list: the same experiments
        assert front.status_code == 200 and f"/experiments/{labeling['experiment_id']}/traces" in front.text
        assert front.text.count('href="/experiments/') == 1, front.text


def test_a_revoked_token_is_refused_at_once(team: Team) -> None:
    with _client(team, "viewer") as viewer:
        created = viewer.post("/api/v1/tokens", json={"description": "laptop"})
        assert created.status_code == 200, created.text
        token, token_id = created.json()["token"], created.json()["token_id"]
        assert viewer.post("/api/v1/tokens", json={"user": "admin"}).status_code == 403
    fresh = {"Authorization": f"Bearer {token}"}
    with _client(team) as anyone:
        assert anyone.get("/api/2.0/mlflow/experiments/search", headers=fresh).status_code == 200
        assert anyone.delete(f"/api/v1/tokens/{token_id}", headers=fresh).status_code == 200
        again = anyone.get("/api/2.0/mlflow/experiments/search", headers=fresh)
        assert again.status_code == 401 and again.json()["error_code"] == "UNAUTHENTICATED"
    with _client(team, "admin") as admin:
        rows = admin.post(
            "/api/v1/sql",
            json={"query": f"SELECT actor, action FROM audit_log WHERE object_id = '{token_id}' ORDER BY audit_id"},
        ).json()["rows"]
        assert rows == [["viewer", "create"], ["viewer", "revoke"]]


def test_admins_manage_users_and_their_changes_are_audited(team: Team) -> None:
    name = f"temp-{uuid.uuid4().hex[:6]}"
    with _client(team, "editor") as editor:
        assert editor.post("/api/v1/users", json={"name": name, "role": "admin"}).status_code == 403
    with _client(team, "admin") as admin:
        assert (
            admin.post("/api/v1/users", json={"name": name, "role": "viewer", "password": "long-enough"}).status_code
            == 200
        )
        assert admin.patch(f"/api/v1/users/{name}", json={"role": "editor"}).status_code == 200
        assert admin.delete(f"/api/v1/users/{name}").status_code == 200
        rows = admin.post(
            "/api/v1/sql",
            json={
                "query": "SELECT actor, action, previous->>'role', new->>'role' "
                f"FROM audit_log WHERE object_id = '{name}' ORDER BY audit_id"
            },
        )
        assert rows.json()["rows"] == [
            ["admin", "create", None, "viewer"],
            ["admin", "set-role", "viewer", "editor"],
            ["admin", "delete", "editor", None],
        ]


def test_writes_to_assessments_schemas_and_sessions_are_audited_with_their_user(
    team: Team, labeling: dict[str, Any]
) -> None:
    with _client(team, "admin") as admin:
        rows = admin.post(
            "/api/v1/sql",
            json={
                "query": "SELECT object_type, action, actor, previous IS NOT NULL "
                "FROM audit_log WHERE object_type IN ('label_schema', "
                "'labeling_session', 'assessment') ORDER BY audit_id"
            },
        )
        found = {tuple(row) for row in rows.json()["rows"]}
    assert ("label_schema", "create", "editor", False) in found
    assert ("labeling_session", "create", "editor", False) in found
    assert ("assessment", "create", "labeler2", False) in found  # the answer, as its labeler
    with _client(team, "viewer") as viewer:  # the trail is for admins: for others it does not exist
        assert viewer.post("/api/v1/sql", json={"query": "SELECT * FROM audit_log"}).status_code == 400


def test_a_user_granted_one_experiment_reads_only_that_one(team: Team, labeling: dict[str, Any]) -> None:
    mine = labeling["experiment_id"]
    other_name = f"other-{uuid.uuid4().hex[:8]}"
    with _client(team, "editor") as editor:
        other = editor.post("/api/2.0/mlflow/experiments/create", json={"name": other_name}).json()["experiment_id"]
        mine_name = editor.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": mine}).json()["experiment"][
            "name"
        ]
    mine_trace, other_trace = team.export_trace(mine), team.export_trace(other)
    name = f"scoped-{uuid.uuid4().hex[:6]}"
    with _client(team, "admin") as admin:
        assert admin.post("/api/v1/users", json={"name": name, "role": "viewer"}).status_code == 200
        assert admin.put(f"/api/v1/users/{name}/permissions/{mine}", json={"permission": "READ"}).status_code == 200
        token = admin.post("/api/v1/tokens", json={"user": name}).json()["token"]
    with httpx.Client(base_url=team.collector.web, timeout=30, headers={"Authorization": f"Bearer {token}"}) as scoped:
        assert scoped.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": mine}).status_code == 200
        refused = scoped.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": other})
        assert refused.status_code == 403 and refused.json()["error_code"] == "PERMISSION_DENIED", refused.text
        search = "/api/3.0/mlflow/traces/search"
        found = scoped.post(search, json={"locations": [{"mlflow_experiment": {"experiment_id": mine}}]})
        assert found.status_code == 200, found.text
        assert mine_trace in [t["trace_id"] for t in found.json()["traces"]]
        assert (
            scoped.post(search, json={"locations": [{"mlflow_experiment": {"experiment_id": other}}]}).status_code
            == 403
        )
        assert scoped.post(search, json={"experiment_ids": [mine, other]}).status_code == 403
        assert scoped.get(f"/api/3.0/mlflow/traces/{mine_trace}").status_code == 200
        assert scoped.get(f"/api/3.0/mlflow/traces/{other_trace}").status_code == 403
        assert scoped.get(f"/traces/{other_trace}.json").status_code == 403
        for listed in (  # the experiment list and search show only the granted experiment
            scoped.get("/api/2.0/mlflow/experiments/search"),
            scoped.post("/api/2.0/mlflow/experiments/search", json={"max_results": 1000, "view_type": "ALL"}),
            scoped.post("/api/2.0/mlflow/experiments/search", json={"filter": f"name = '{other_name}'"}),
        ):
            assert listed.status_code == 200, listed.text
            assert {e["experiment_id"] for e in listed.json().get("experiments", [])} <= {mine}
        by_name = "/api/2.0/mlflow/experiments/get-by-name"
        assert scoped.get(by_name, params={"experiment_name": mine_name}).status_code == 200
        hidden = scoped.get(by_name, params={"experiment_name": other_name})
        assert hidden.status_code == 403 and hidden.json()["error_code"] == "PERMISSION_DENIED", hidden.text
        front = scoped.get("/")
        assert front.status_code == 200 and mine_name in front.text and other_name not in front.text
        for query in (  # a viewer using SQL to read another experiment
            "SELECT DISTINCT experiment_id FROM traces",
            "SELECT DISTINCT experiment_id FROM spans",
            "SELECT experiment_id FROM experiments",
            "SELECT DISTINCT t.experiment_id FROM assessments a JOIN traces t USING (trace_id)",
        ):
            found = scoped.post("/api/v1/sql", json={"query": query})
            assert found.status_code == 200 and found.json()["rows"] == [[mine]], (query, found.text)
        for query in (
            f"SELECT * FROM traces WHERE trace_id = '{other_trace}'",
            f"SELECT * FROM spans WHERE experiment_id = '{other}'",
            "SELECT * FROM duckdb_tables() WHERE table_name IN ('users', 'audit_log')",
        ):
            assert scoped.post("/api/v1/sql", json={"query": query}).json()["rows"] == [], query
