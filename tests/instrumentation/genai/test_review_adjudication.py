"""Adjudication against a real collector: the queue of disagreements, a gold label that overrides
(nothing deleted, the history kept), agreement unchanged by it, and ``sync(to_dataset=...)``
taking the gold label where there is one and the labelers' consensus elsewhere."""

from __future__ import annotations

import httpx

from annotrace.genai import agreement, labeling
from annotrace.genai.datasets import create_dataset, get_dataset
from annotrace.genai.label_schemas import InputText, create_label_schema
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import app, run_app  # noqa: F401  (fixture)

ANSWERS = {"ann": ["Paris", "Berlin", "Rome"], "bob": ["Paris", "Bonn", "Milan"]}


def test_gold_label_overrides_and_flows_into_the_dataset(app: Collector) -> None:  # noqa: F811
    traces = [run_app(app, f"city {i}") for i in range(3)]
    create_label_schema("expected_city", type="expectation", title="City", input=InputText())
    session = labeling.create_labeling_session("cities", label_schemas=["expected_city"])
    session.add_traces(traces)
    base = f"/api/v1/labeling/sessions/{session.mlflow_run_id}"
    with httpx.Client(base_url=app.web, timeout=30) as api:
        items = [i["trace_id"] for i in api.get(f"{base}/items").json()["items"]]
        for user, values in ANSWERS.items():
            for trace_id, value in zip(items, values, strict=True):
                api.post(
                    f"{base}/items/{trace_id}/answers", json={"user": user, "schema": "expected_city", "value": value}
                )
        before = agreement(session)
        queue = api.get(f"{base}/adjudication").json()["disputes"]
        assert [(d["trace_id"], d["schema"]) for d in queue] == [
            (items[1], "expected_city"),
            (items[2], "expected_city"),
        ]
        assert [(a["labeler"], a["value"]) for a in queue[0]["answers"]] == [("ann", "Berlin"), ("bob", "Bonn")]
        assert queue[0]["gold"] is None
        gold = api.post(
            f"{base}/items/{items[1]}/gold",
            json={"user": "judge@x.com", "schema": "expected_city", "value": "Berlin", "rationale": "the capital"},
        )
        assert gold.status_code == 200, gold.text
        stored = gold.json()["assessment"]
        assert stored["overrides"] in {a["assessment_id"] for a in queue[0]["answers"]}
        again = api.post(
            f"{base}/items/{items[1]}/gold", json={"user": "judge@x.com", "schema": "expected_city", "value": "Berlin"}
        )
        assert again.json()["assessment"]["assessment_id"] == stored["assessment_id"]  # updated, not stacked
        open_only = api.get(f"{base}/adjudication", params={"unresolved": "true"}).json()["disputes"]
        assert [d["trace_id"] for d in open_only] == [items[2]]
        bad = api.post(f"{base}/items/{items[2]}/gold", json={"user": "judge", "schema": "nope", "value": "x"})
        assert bad.status_code == 400 and "'nope' is not part of labeling session" in bad.json()["message"]

    rows = app.sql(
        f"SELECT source_id, valid, overrides IS NOT NULL AS gold FROM assessments WHERE trace_id = "
        f"'{items[1]}' ORDER BY source_id"
    )
    assert rows == [
        {"source_id": "ann", "valid": rows[0]["valid"], "gold": False},
        {"source_id": "bob", "valid": rows[1]["valid"], "gold": False},
        {"source_id": "judge@x.com", "valid": True, "gold": True},
    ]
    assert [r["valid"] for r in rows[:2]].count(False) == 1  # the overridden answer, kept
    assert agreement(session).equals(before)  # gold labels are not a labeler's answer

    create_dataset(name="cities")
    session.sync(to_dataset="cities")
    records = get_dataset(name="cities").to_df()
    by_question = {
        r["inputs"]["text"] if "text" in r["inputs"] else str(r["inputs"]): r["expectations"]
        for _, r in records.iterrows()
    }
    assert sorted(map(str, by_question.values())) == sorted(
        map(str, [{"expected_city": "Paris"}, {"expected_city": "Berlin"}])
    )
    assert len(records) == 2  # item 3 has neither gold nor consensus
