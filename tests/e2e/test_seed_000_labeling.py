"""Seed 000, steps 2-6, end to end: the seed's two label schemas, a labeling session, the app run
twice with autologging (fake LLM), ``search_traces(model_id=...)`` -> ``add_traces``, experts
answering through the native REST API as a Review App would, and ``search_traces(run_id=...)``
returning the session's copies with the answers as assessments, then ``sync`` of the expectation
labels into an evaluation dataset."""

from __future__ import annotations

import uuid

import httpx
import pytest

import annotrace as mlflow
from annotrace.genai.datasets import create_dataset, get_dataset
from annotrace.genai.label_schemas import InputCategorical, InputText, create_label_schema
from annotrace.genai.labeling import create_labeling_session, get_labeling_session
from tests.collector_process import Collector
from tests.e2e.test_seed_000_app import _seed_app, llm, sdk  # noqa: F401  (fixtures)
from tests.fakes.llm import FakeLLM


def test_seed_000_collect_expert_feedback(sdk: Collector, llm: FakeLLM) -> None:  # noqa: F811
    mlflow.openai.autolog()
    mlflow.set_tracking_uri(sdk.web)
    mlflow.set_experiment(f"/Shared/docs-demo-{uuid.uuid4().hex[:8]}")
    my_app = _seed_app(llm)

    # Step 2: label schemas.
    summary_quality = create_label_schema(
        name="summary_quality", type="feedback", title="Is this summary concise and helpful?",
        input=InputCategorical(options=["Yes", "No"]), instruction="Please provide a rationale below.",
        enable_comment=True, overwrite=True)
    expected_summary = create_label_schema(
        name="expected_summary", type="expectation",
        title="Please provide the correct summary for the user's request.", input=InputText(), overwrite=True)
    assert (summary_quality.type, expected_summary.type) == ("feedback", "expectation")

    # Step 3: the labeling session.
    label_summaries = create_labeling_session(
        name="label_summaries", assigned_users=[], label_schemas=[summary_quality.name, expected_summary.name])
    assert label_summaries.label_schemas == ["summary_quality", "expected_summary"]

    # Step 4: traces, found by model id and added to the session.
    tracked_model = mlflow.set_active_model(name="my_app")
    my_app([{"role": "user", "content": "what issues does john doe have?"}])
    my_app([{"role": "user", "content": "what issues does acme corp have?"}])
    mlflow.flush_trace_async_logging()
    sdk.wait_for(f"SELECT count(*) AS n FROM traces WHERE trace_metadata->>'$.\"mlflow.modelId\"' = "
                 f"'{tracked_model.model_id}' AND span_count = 3", [{"n": 2}])
    traces = mlflow.search_traces(model_id=tracked_model.model_id)
    assert len(traces) == 2
    label_summaries.add_traces(traces)
    label_summaries.add_traces(traces)  # idempotent
    assert label_summaries.url == f"{sdk.web}/review/{label_summaries.mlflow_run_id}"
    assert get_labeling_session(label_summaries.mlflow_run_id) == label_summaries

    # Step 5: an expert works through the queue in the Review App (its REST calls).
    base = f"{sdk.web}/api/v1/labeling/sessions/{label_summaries.mlflow_run_id}"
    with httpx.Client(timeout=30) as review_app:
        mine = review_app.get(f"{sdk.web}/api/v1/labeling/sessions", params={"user": "expert@example.com"}).json()
        assert label_summaries.mlflow_run_id in [s["mlflow_run_id"] for s in mine["labeling_sessions"]]
        queue = review_app.get(f"{base}/items", params={"user": "expert@example.com", "status": "pending"}).json()
        items = queue["items"]
        assert len(items) == 2 and set(traces["trace_id"]) == {i["source_trace_id"] for i in items}
        for number, item in enumerate(items):
            url = f"{base}/items/{item['trace_id']}/answers"
            first = review_app.post(url, json={"user": "expert@example.com", "schema": "summary_quality",
                                               "value": "Yes" if number == 0 else "No", "comment": f"reason {number}"})
            assert first.json()["status"] == "in_progress", first.text
            second = review_app.post(url, json={"user": "expert@example.com", "schema": "expected_summary",
                                                "value": f"summary {number}"})
            assert second.json()["status"] == "completed", second.text
        bad = review_app.post(f"{base}/items/{items[0]['trace_id']}/answers",
                              json={"user": "expert@example.com", "schema": "summary_quality", "value": "Maybe"})
        assert bad.status_code == 400 and "'Maybe' is not one of the options ['Yes', 'No']" in bad.json()["message"]
        progress = review_app.get(f"{base}/progress").json()
        assert (progress["item_count"], progress["completed_items"]) == (2, 2)

    # Step 6: the labels, as assessments on the session's traces.
    labeled = mlflow.search_traces(run_id=label_summaries.mlflow_run_id)
    assert sorted(labeled["trace_id"]) == sorted(i["trace_id"] for i in items)
    by_source = {row["trace_metadata"]["annotrace.source_trace_id"]: row for _, row in labeled.iterrows()}
    for number, item in enumerate(items):
        row = by_source[item["source_trace_id"]]
        assessments = {a["assessment_name"]: a for a in row["assessments"]}
        assert set(assessments) == {"summary_quality", "expected_summary"}
        feedback, expectation = assessments["summary_quality"], assessments["expected_summary"]
        assert feedback["feedback"]["value"] == ("Yes" if number == 0 else "No")
        assert feedback["rationale"] == f"reason {number}"
        assert feedback["source"] == {"source_type": "HUMAN", "source_id": "expert@example.com"}
        assert expectation["expectation"]["value"] == f"summary {number}"
        assert row["trace_metadata"]["mlflow.sourceRun"] == label_summaries.mlflow_run_id
    originals = mlflow.search_traces(filter_string="trace.status = 'OK'", return_type="list")
    untouched = [t for t in originals if t.info.trace_id in set(traces["trace_id"])]
    assert len(untouched) == 2 and all(not t.info.assessments for t in untouched)

    # Step 7: the expectation labels, synced into an evaluation dataset (twice: no duplicates).
    dataset = create_dataset(name="docs_demo_summaries")
    label_summaries.sync(to_dataset="docs_demo_summaries")
    label_summaries.sync(to_dataset="docs_demo_summaries")
    records = get_dataset(name="docs_demo_summaries").to_df()
    assert len(records) == 2 and dataset.dataset_id == get_dataset(dataset_id=dataset.dataset_id).dataset_id
    by_request = {str(r["inputs"]): r for _, r in records.iterrows()}
    for number, item in enumerate(items):
        request = by_source[item["source_trace_id"]]["request"]
        record = by_request[str(request)]
        assert record["expectations"] == {"expected_summary": f"summary {number}"}
        assert (record["source_type"], record["source_id"]) == ("HUMAN", "expert@example.com")
    with pytest.raises(mlflow.MlflowException, match="Dataset 'no_such_dataset' not found"):
        label_summaries.sync(to_dataset="no_such_dataset")

    # Step 8: a second review round built from the dataset: its records lead back to their traces.
    second_round = create_labeling_session(name="second_round", label_schemas=["summary_quality"])
    second_round.add_dataset("docs_demo_summaries")
    second_round.add_dataset("docs_demo_summaries")  # nothing twice
    with httpx.Client(timeout=30) as review_app:
        again = review_app.get(f"{sdk.web}/api/v1/labeling/sessions/{second_round.mlflow_run_id}/items").json()
    assert sorted(i["source_trace_id"] for i in again["items"]) == sorted(i["source_trace_id"] for i in items)
    loose = create_dataset(name="typed_by_hand")
    loose.merge_records([{"inputs": {"question": "no trace behind me"}}])
    with pytest.raises(mlflow.MlflowException, match="has no trace and this session has no agent"):
        second_round.add_dataset("typed_by_hand")


@pytest.mark.parametrize("bad", [["not-a-trace-column"]])
def test_add_traces_needs_a_trace_column(sdk: Collector, bad: list[str]) -> None:  # noqa: F811
    import pandas as pd

    mlflow.set_tracking_uri(sdk.web)
    mlflow.set_experiment(f"labeling-{uuid.uuid4().hex[:8]}")
    session = create_labeling_session(name="s")
    with pytest.raises(mlflow.MlflowException, match="traces must have a 'trace' column like the result of "
                                                     r"mlflow.search_traces\(\)"):
        session.add_traces(pd.DataFrame({"trace_id": bad}))
