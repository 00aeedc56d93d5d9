"""Seed 000, steps 1-8, end to end. Steps 1-4 are the seed's script as its user runs it
(``tests/e2e/seed_000.py``: two label schemas, a labeling session, the app run twice with
autologging against the fake LLM, ``search_traces(model_id=...)`` -> ``add_traces``). Then experts
answer through the native REST API as the Review App does, and the rest runs in this process as a
notebook would go on: ``search_traces(run_id=...)`` returns the session's copies with the answers
as assessments, and ``sync`` turns the expectation labels into an evaluation dataset. Nothing is
flushed, slept or polled."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

import annotrace as mlflow
from annotrace import tracking
from annotrace.client import rest
from annotrace.genai.datasets import create_dataset, get_dataset
from annotrace.genai.labeling import create_labeling_session, get_labeling_session
from annotrace.tracing import context
from tests.collector_process import Collector
from tests.e2e.seed_000 import run_seed_000
from tests.fakes.llm import FakeLLM
from tests.instrumentation.collector_sdk import SDK_ENV


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as running:
        yield running


@pytest.fixture
def sdk(fresh_collector: Callable[..., Collector], monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    """A fresh collector (the seed's names are fixed) and this process's SDK state reset around the test."""
    for name in SDK_ENV:
        monkeypatch.delenv(name, raising=False)
    tracking._reset()
    context._reset()
    rest.close()
    try:
        yield fresh_collector()
    finally:
        rest.close()
        tracking._reset()
        context._reset()


def test_seed_000_collect_expert_feedback(sdk: Collector, llm: FakeLLM) -> None:
    # Steps 1-4: the seed's script, in its own process.
    seen = run_seed_000(sdk, llm, step_6=False)
    traces = seen["traces"]
    assert len(traces) == 2
    mlflow.set_tracking_uri(sdk.web)  # the notebook goes on (its first cell's settings)
    mlflow.set_experiment("/Shared/docs-demo")
    label_summaries = get_labeling_session(seen["session"])
    assert label_summaries.label_schemas == ["summary_quality", "expected_summary"]
    label_summaries.add_traces(mlflow.search_traces(model_id=seen["model_id"]))  # again: idempotent
    assert label_summaries.url == seen["url"] == f"{sdk.web}/review/{label_summaries.mlflow_run_id}"

    # Step 5: an expert works through the queue in the Review App (its REST calls).
    base = f"{sdk.web}/api/v1/labeling/sessions/{label_summaries.mlflow_run_id}"
    with httpx.Client(timeout=30) as review_app:
        mine = review_app.get(f"{sdk.web}/api/v1/labeling/sessions", params={"user": "expert@example.com"}).json()
        assert label_summaries.mlflow_run_id in [s["mlflow_run_id"] for s in mine["labeling_sessions"]]
        queue = review_app.get(f"{base}/items", params={"user": "expert@example.com", "status": "pending"}).json()
        items = queue["items"]
        assert len(items) == 2 and set(traces) == {i["source_trace_id"] for i in items}
        for number, item in enumerate(items):
            url = f"{base}/items/{item['trace_id']}/answers"
            first = review_app.post(
                url,
                json={
                    "user": "expert@example.com",
                    "schema": "summary_quality",
                    "value": "Yes" if number == 0 else "No",
                    "comment": f"reason {number}",
                },
            )
            assert first.json()["status"] == "in_progress", first.text
            second = review_app.post(
                url, json={"user": "expert@example.com", "schema": "expected_summary", "value": f"summary {number}"}
            )
            assert second.json()["status"] == "completed", second.text
        bad = review_app.post(
            f"{base}/items/{items[0]['trace_id']}/answers",
            json={"user": "expert@example.com", "schema": "summary_quality", "value": "Maybe"},
        )
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
    untouched = [t for t in originals if t.info.trace_id in set(traces)]
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
    with pytest.raises(mlflow.MlflowException, match="Dataset with name 'no_such_dataset' not found"):
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
def test_add_traces_needs_a_trace_column(sdk: Collector, bad: list[str]) -> None:
    import pandas as pd

    mlflow.set_tracking_uri(sdk.web)
    mlflow.set_experiment("labeling")
    session = create_labeling_session(name="s")
    with pytest.raises(
        mlflow.MlflowException,
        match="traces must have a 'trace' column like the result of "
        r"mlflow.search_traces\(\)",
    ):
        session.add_traces(pd.DataFrame({"trace_id": bad}))
