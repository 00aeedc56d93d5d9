"""``annotrace.genai.datasets`` against a real collector: create/get/search/delete, and
``merge_records`` from dicts, ``Trace`` objects and a ``search_traces`` DataFrame (de-duplicated
by inputs, expectations from valid expectation assessments), ``to_df`` and MLflow's messages."""

from __future__ import annotations

import pandas as pd
import pytest

import annotrace as mlflow
from annotrace import genai
from annotrace.genai import datasets
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import app, run_app  # noqa: F401  (fixture)


def test_create_get_search_delete(app: Collector) -> None:  # noqa: F811
    created = datasets.create_dataset("golden", tags={"team": "qa"})
    assert created.dataset_id.startswith("d-") and created.name == "golden" and created.tags == {"team": "qa"}
    assert created.experiment_ids and genai.EvaluationDataset is datasets.EvaluationDataset
    assert datasets.get_dataset(name="golden") == created
    assert datasets.get_dataset(dataset_id=created.dataset_id).name == "golden"
    assert [d.dataset_id for d in datasets.search_datasets(experiment_ids=created.experiment_ids)] == [
        created.dataset_id]
    assert [d.name for d in genai.search_datasets(filter_string="name LIKE 'gold%'")
            if d.dataset_id == created.dataset_id] == ["golden"]
    with pytest.raises(mlflow.MlflowException, match="already exists"):
        datasets.create_dataset("golden")
    datasets.delete_dataset(name="golden")
    with pytest.raises(mlflow.MlflowException, match="Dataset 'golden' not found"):
        datasets.get_dataset(name="golden")
    with pytest.raises(mlflow.MlflowException, match="not found"):
        datasets.get_dataset(dataset_id=created.dataset_id)
    with pytest.raises(mlflow.MlflowException, match="Exactly one of"):
        datasets.get_dataset()


def test_merge_dicts_dedupes_by_inputs(app: Collector) -> None:  # noqa: F811
    ds = datasets.create_dataset("dicts")
    ds.merge_records([{"inputs": {"q": "a"}, "expectations": {"expected_response": "A"}}, {"inputs": {"q": "b"}}])
    ds.merge_records([{"inputs": {"q": "a"}, "expectations": {"expected_response": "AA", "expected_facts": ["f"]}}])
    df = ds.to_df()
    assert list(df.columns) == datasets.DF_COLUMNS
    assert list(df["inputs"]) == [{"q": "a"}, {"q": "b"}]
    assert df["expectations"][0] == {"expected_response": "AA", "expected_facts": ["f"]}
    assert list(df["source_type"]) == ["HUMAN", "CODE"]
    assert ds.delete_records([df["dataset_record_id"][1]]) == 1
    assert len(ds.to_df()) == 1
    with pytest.raises(mlflow.MlflowException, match="Each record must have an 'inputs' field"):
        ds.merge_records([{"expectations": {"x": 1}}])
    with pytest.raises(mlflow.MlflowException, match="Each record must have an 'inputs' field"):
        ds.merge_records(pd.DataFrame({"trace_id": ["tr-1"]}))  # no 'trace' column: read as records


def test_merge_traces_and_dataframe(app: Collector) -> None:  # noqa: F811
    first, second = run_app(app, "one"), run_app(app, "two")
    mlflow.log_expectation(trace_id=first, name="expected_response", value="one_output")
    mlflow.log_expectation(trace_id=second, name="expected_response", value="two!")
    ds = datasets.create_dataset("from-traces")
    ds.merge_records(mlflow.search_traces())
    df = ds.to_df().sort_values("created_time")
    by_input = {r["inputs"]["input"]: r for _, r in df.iterrows()}
    assert set(by_input) == {"one", "two"}
    assert by_input["one"]["expectations"] == {"expected_response": "one_output"}
    assert by_input["one"]["outputs"] == "one_output" and by_input["one"]["source_type"] == "TRACE"
    assert by_input["one"]["source_id"] == first

    traces = mlflow.search_traces(return_type="list")
    ds.merge_records(traces)  # the same inputs again: updated, not duplicated
    assert len(ds.to_df()) == 2
    ds.merge_records([{"inputs": {"input": "two"}, "expectations": {"expected_facts": ["2"]}}])
    merged = {r["inputs"]["input"]: r["expectations"] for r in ds.records}
    assert merged["two"] == {"expected_response": "two!", "expected_facts": ["2"]}
    with pytest.raises(mlflow.MlflowException, match="not found"):
        datasets.EvaluationDataset({"dataset_id": "d-" + "0" * 32, "name": "gone"}).merge_records(traces)
