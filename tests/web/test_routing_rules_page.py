"""The routing page of a session in Chromium: reached from the session list, it adds a rule through its
form (a filter that cannot run comes back with the reason and stores nothing), shows how many traces
each rule has added once matching traces arrive, and removes a rule; its ``.json`` twin lists the
same rules as the REST API."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.collector.api.rest import ingest_trace
from tests.collector_process import Collector
from tests.web.conftest import sign_in


def test_an_editor_adds_watches_and_removes_a_routing_rule_in_the_browser(page: Page, collector: Collector) -> None:
    name = f"routing-page-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=collector.web, timeout=30) as api:
        experiment_id = api.post("/api/2.0/mlflow/experiments/create", json={"name": name}).json()["experiment_id"]
        made = api.post("/api/v1/labeling/sessions", json={"experiment_id": experiment_id, "name": name})
        session_id = made.json()["labeling_session"]["mlflow_run_id"]

        sign_in(page, "editor@example.com")
        page.get_by_role("row", name=name).get_by_role("link", name="routing", exact=True).click()
        page.wait_for_url(f"**/review/{session_id}/routing")
        expect(page.get_by_role("heading", name=f"Routing rules: {name}")).to_be_visible()
        expect(page.get_by_text("No routing rule yet")).to_be_visible()

        page.get_by_label("Matches").fill("trace.colour = 'red'")
        page.get_by_role("button", name="Add rule").click()
        expect(page.get_by_role("alert")).to_contain_text("unknown trace attribute 'colour'")
        assert api.get(f"/api/v1/labeling/sessions/{session_id}/routing-rules").json() == {"routing_rules": []}

        page.get_by_label("Matches").fill("trace.name = 'triage'")
        page.get_by_label("Sample rate").fill("1")
        page.get_by_label("Cap").fill("5")
        page.get_by_role("button", name="Add rule").click()
        rows = page.locator("table.routing-rules tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("trace.name = 'triage'")
        expect(rows.first.locator(".traces-added")).to_have_text("0")

        routed = ingest_trace(collector, experiment_id, name="triage").trace_id
        ingest_trace(collector, experiment_id, name="smalltalk")
        page.reload()
        expect(rows.first.locator(".traces-added")).to_have_text("1")
        items = api.get(f"/api/v1/labeling/sessions/{session_id}/items").json()["items"]
        assert [item["source_trace_id"] for item in items] == [routed]

        twin = page.request.get(f"/review/{session_id}/routing.json").json()  # signed in, as the page
        listed = api.get(f"/api/v1/labeling/sessions/{session_id}/routing-rules").json()["routing_rules"]
        assert [r["rule_id"] for r in twin["rules"]] == [r["rule_id"] for r in listed]
        assert [r["traces_added"] for r in twin["rules"]] == [1]

        page.get_by_role("button", name="Remove rule 1").click()
        expect(page.get_by_text("No routing rule yet")).to_be_visible()
        assert api.get(f"/api/v1/labeling/sessions/{session_id}/routing-rules").json() == {"routing_rules": []}
