"""Seed 000's flow on a collector run for a team, with a real expert sign-in: the editor's script
(annotrace SDK, signed with ``OTEL_EXPORTER_OTLP_HEADERS``) traces the app and creates a labeling
session assigned to the labeler; the labeler signs in with their password in Chromium and answers;
``search_traces(run_id=...)`` then shows the answer under the labeler's authenticated name. The
name the browser could have typed plays no part."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.collector.auth.team import Team, password, start_team

EDITOR = textwrap.dedent("""
    import json, sys
    import annotrace as mlflow
    from annotrace.genai.label_schemas import create_label_schema, InputCategorical
    from annotrace.genai.labeling import create_labeling_session

    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment(sys.argv[2])
    quality = create_label_schema(name="summary_quality", type="feedback", title="Is this summary concise and helpful?",
                                  input=InputCategorical(options=["Yes", "No"]), overwrite=True)
    session = create_labeling_session(name="label_summaries", assigned_users=["labeler"],
                                      label_schemas=[quality.name])

    @mlflow.trace
    def my_app(question):
        return "A short summary."

    my_app("what issues does john doe have?")
    session.add_traces(mlflow.search_traces(return_type="list"))
    print(json.dumps({"url": session.url, "run_id": session.mlflow_run_id}))
""")
LABELS = textwrap.dedent("""
    import json, sys
    import annotrace as mlflow
    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment(sys.argv[3])
    labeled = mlflow.search_traces(run_id=sys.argv[2])
    print(json.dumps([[a["assessment_name"], a["source"]["source_id"]] for _, row in labeled.iterrows()
                      for a in row["assessments"]]))
""")


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    running = start_team(Path(tmp_path_factory.mktemp("team")), ("editor", "labeler", "labeler2"))
    yield running
    assert running.collector.stop() == 0, running.collector.log


def _as_editor(team: Team, script: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING_", "OTEL_"))}
    env["OTEL_EXPORTER_OTLP_HEADERS"] = f"authorization=Bearer%20{team.tokens['editor']}"
    done = subprocess.run(
        [sys.executable, "-c", script, team.collector.web, *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_labeler_signs_in_and_answers_under_their_own_name(browser: Browser, team: Team) -> None:
    experiment = f"seed-000-team-{uuid.uuid4().hex[:8]}"
    created = json.loads(_as_editor(team, EDITOR, experiment))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(created["url"])
    expect(page).to_have_url(f"{team.collector.web}/login?next=/review/{created['run_id']}")
    page.get_by_label("User name").fill("labeler")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    page.get_by_label("User name").fill("labeler")
    page.get_by_label("Password").fill(password("labeler"))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(created["url"])
    expect(page.get_by_text("Signed in as")).to_contain_text("labeler")
    page.get_by_role("group", name="Is this summary concise and helpful?").get_by_label("Yes").check()
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("progressbar", name="My progress")).to_have_attribute("aria-valuenow", "1")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["annotrace_session"]["httpOnly"] and cookies["annotrace_session"]["sameSite"] == "Lax"
    context.close()
    labels = json.loads(_as_editor(team, LABELS, created["run_id"], experiment))
    assert labels == [["summary_quality", "labeler"]]


def test_a_labeler_not_assigned_sees_no_queue(browser: Browser, team: Team) -> None:
    created = json.loads(_as_editor(team, EDITOR, f"seed-000-other-{uuid.uuid4().hex[:8]}"))
    context = browser.new_context()
    page = context.new_page()
    page.goto(created["url"])
    page.get_by_label("User name").fill("labeler2")
    page.get_by_label("Password").fill(password("labeler2"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main")).to_contain_text("assigned")
    assert page.get_by_role("button", name="Submit", exact=True).count() == 0
    context.close()
