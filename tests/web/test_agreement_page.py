"""The agreement page in Chromium: alpha per schema as an SVG plot with its interval, the confusion
matrix of a categorical schema, the labelers table, the items with most disagreement linked to
their trace, and the judge against the humans; its ``.json`` twin equals the REST API's report.

Labels are written the way labelers and judges write them: answers through the Review App's
answer route, and a judge's scores through MLflow's assessment REST API.
"""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.collector.api.rest import ingest_trace
from tests.collector_process import Collector
from tests.web.conftest import sign_in

VERDICTS = {"ann": ["good", "bad", "good", "good"], "bob": ["good", "good", "good", "bad"]}
SCORES = {"ann": [5, 1, 4, 3], "bob": [5, 2, 4, 1]}
JUDGE = ["good", "bad", "bad", "good"]


def _session(collector: Collector, api: httpx.Client) -> tuple[str, list[str]]:
    experiment_id = api.post(
        "/api/2.0/mlflow/experiments/create", json={"name": f"agreement-page-{uuid.uuid4().hex[:8]}"}
    ).json()["experiment_id"]
    for name, spec in (
        ("verdict", {"categorical": {"options": ["good", "bad"]}}),
        ("score", {"numeric": {"min_value": 1, "max_value": 5}}),
    ):
        made = api.post(
            "/api/3.0/mlflow/label-schemas/create",
            json={"experiment_id": experiment_id, "name": name, "type": "FEEDBACK", "input": spec},
        )
        assert made.status_code == 200, made.text
    traces = [ingest_trace(collector, experiment_id).trace_id for _ in range(4)]
    queue = api.post(
        "/api/3.0/mlflow/review-queues/create",
        json={
            "experiment_id": experiment_id,
            "name": "Week 1",
            "queue_type": "CUSTOM",
            "users": ["ann", "bob"],
            "schema_ids": [
                s["schema_id"]
                for s in api.get("/api/3.0/mlflow/label-schemas/list", params={"experiment_id": experiment_id}).json()[
                    "label_schemas"
                ]
                if s["name"] in ("verdict", "score")
            ],
        },
    )
    queue_id = queue.json()["review_queue"]["queue_id"]
    api.post("/api/3.0/mlflow/review-queues/items/add", json={"queue_id": queue_id, "item_ids": traces})
    for user in ("ann", "bob"):
        for i, trace_id in enumerate(traces):
            for schema, table in (("verdict", VERDICTS), ("score", SCORES)):
                done = api.post(
                    f"/api/v1/labeling/sessions/{queue_id}/items/{trace_id}/answers",
                    json={"user": user, "schema": schema, "value": table[user][i]},
                )
                assert done.status_code == 200, done.text
    for trace_id, value in zip(traces, JUDGE, strict=True):
        api.post(
            f"/api/3.0/mlflow/traces/{trace_id}/assessments",
            json={
                "assessment": {
                    "trace_id": trace_id,
                    "assessment_name": "verdict",
                    "feedback": {"value": value},
                    "source": {"source_type": "LLM_JUDGE", "source_id": "judge-gpt"},
                }
            },
        )
    return queue_id, traces


def test_the_agreement_page_plots_and_links(collector: Collector, page: Page) -> None:
    with httpx.Client(base_url=collector.web, timeout=30) as api:
        queue_id, traces = _session(collector, api)
        report = api.get(f"/api/v1/agreement/{queue_id}").json()
        twin = api.get(f"/agreement/{queue_id}.json").json()
    assert twin["schemas"] == report["schemas"] and twin["disagreements"] == report["disagreements"]
    assert [j["source_id"] for j in twin["judges"]] == ["judge-gpt"]
    # the humans' answer exists where ann and bob agree (items 1 and 3, both "good"); the judge is right on one
    assert (twin["judges"][0]["traces"], twin["judges"][0]["accuracy"]["value"]) == (2, 0.5)

    page.goto(f"/agreement/{queue_id}")
    expect(page.get_by_role("heading", name="Agreement: Week 1")).to_be_visible()
    chart = page.get_by_role("img", name="Krippendorff's alpha per label schema, with 95% intervals")
    expect(chart).to_be_visible()
    expect(chart.locator("g.row")).to_have_count(2)
    expect(chart.locator("g.row[data-name=verdict] circle.estimate")).to_have_count(1)
    expect(chart.locator("g.row[data-name=verdict] line.interval")).to_have_count(1)
    alpha = report["schemas"][0]["alpha"]["value"]
    expect(page.locator("#schema-table tr[data-schema=verdict]")).to_contain_text(f"{alpha:.3f}")
    expect(page.locator("#schema-table tr[data-schema=verdict] td")).to_have_text(
        ["nominal", "4", "2", "8", *([re.compile(r"^-?\d\.\d{3} \[")] * 4)]
    )
    confusion = page.get_by_role("img", name="Confusion matrix of verdict")
    expect(confusion.locator("rect.cell")).to_have_count(4)
    # rows and columns bad, good: two items where they agree on good (2 pairs each), two with bad/good
    expect(confusion.locator("text.count")).to_have_text(["0", "2", "2", "4"])
    expect(page.locator("#labeler-table tbody tr")).to_have_count(4)
    expect(page.get_by_role("img", name="Human against judge-gpt on verdict")).to_be_visible()

    worst = page.locator("#disagreement-table tbody tr").first.get_by_role("link")
    worst_id = worst.inner_text()
    assert worst_id in (traces[1], traces[3])  # ann and bob disagree on the verdict of items 2 and 4
    worst.click()
    page.wait_for_url(f"**/traces/{worst_id}")


def test_an_unknown_session_is_a_404_page(collector: Collector, page: Page) -> None:
    response = page.goto("/agreement/rq-" + "0" * 32)
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("not found")


def test_an_adjudicator_records_a_gold_label_in_the_browser(collector: Collector, page: Page) -> None:
    with httpx.Client(base_url=collector.web, timeout=30) as api:
        queue_id, traces = _session(collector, api)
    sign_in(page, "lead@x.com", f"/agreement/{queue_id}/adjudicate")
    disputes = page.locator("section.dispute")
    # verdicts differ on items 2 and 4, scores on items 2 and 4 (1 vs 2, 3 vs 1): four disputes
    expect(disputes).to_have_count(4)
    first = page.locator(f"section.dispute[data-trace-id='{traces[1]}'][data-schema=verdict]")
    expect(first.locator("table.answers tbody tr")).to_have_text(
        [re.compile(r"ann\s*\"bad\""), re.compile(r"bob\s*\"good\"")]
    )
    first.get_by_label("bad").check()
    first.get_by_label("Why").fill("the answer is wrong")
    first.get_by_role("button", name="Save gold label").click()
    page.wait_for_url(f"**/agreement/{queue_id}/adjudicate")
    expect(page.locator(f"section.dispute[data-trace-id='{traces[1]}'][data-schema=verdict] .gold")).to_have_text(
        re.compile(r'Gold label: "bad" by lead@x.com: the answer is wrong')
    )
    with httpx.Client(base_url=collector.web, timeout=30) as api:
        disputes_json = api.get(
            f"/api/v1/labeling/sessions/{queue_id}/adjudication", params={"unresolved": "true"}
        ).json()["disputes"]
    assert (traces[1], "verdict") not in [(d["trace_id"], d["schema"]) for d in disputes_json]
    assert len(disputes_json) == 3
