"""``annotrace.genai.datasets`` against a real collector: create/get/search/delete, and
``merge_records`` from dicts, ``Trace`` objects and a ``search_traces`` DataFrame (de-duplicated
by inputs, expectations from valid expectation assessments), ``to_df`` and MLflow's messages."""

from __future__ import annotations

import getpass
import json

import pandas as pd
import pytest

import annotrace as mlflow
from annotrace import genai
from annotrace.genai import datasets
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import app, run_app  # noqa: F401  (fixture)


def test_create_get_search_delete(app: Collector) -> None:  # noqa: F811
    created = datasets.create_dataset("golden", tags={"team": "qa"})
    assert created.dataset_id.startswith("d-") and created.name == "golden"
    assert created.tags == {"team": "qa", "mlflow.user": getpass.getuser()}  # as MLflow's client tags it
    assert created.created_by == getpass.getuser()
    assert created.experiment_ids and genai.EvaluationDataset is datasets.EvaluationDataset
    assert datasets.get_dataset(name="golden") == created
    assert datasets.get_dataset(dataset_id=created.dataset_id).name == "golden"
    assert [d.dataset_id for d in datasets.search_datasets(experiment_ids=created.experiment_ids)] == [
        created.dataset_id
    ]
    assert [
        d.name for d in genai.search_datasets(filter_string="name LIKE 'gold%'") if d.dataset_id == created.dataset_id
    ] == ["golden"]
    assert [d.dataset_id for d in datasets.search_datasets()][:1] == [created.dataset_id]  # the last 7 days
    twin = datasets.create_dataset("golden")  # names may repeat, as in MLflow; by name is then ambiguous
    with pytest.raises(mlflow.MlflowException, match="Multiple datasets found with name 'golden'"):
        datasets.get_dataset(name="golden")
    datasets.delete_dataset(dataset_id=twin.dataset_id)
    created.set_tags({"stage": "v2"})
    assert created.tags["stage"] == "v2"
    created.delete_tag("team")
    assert "team" not in datasets.get_dataset(name="golden").tags
    datasets.delete_dataset(name="golden")
    with pytest.raises(mlflow.MlflowException, match="Dataset with name 'golden' not found"):
        datasets.get_dataset(name="golden")
    with pytest.raises(mlflow.MlflowException, match="not found"):
        datasets.get_dataset(dataset_id=created.dataset_id)
    with pytest.raises(mlflow.MlflowException, match="Either 'name' or 'dataset_id' must be provided"):
        datasets.get_dataset()


def test_merge_dicts_dedupes_by_inputs(app: Collector) -> None:  # noqa: F811
    ds = datasets.create_dataset("dicts")
    ds.merge_records([{"inputs": {"q": "a"}, "expectations": {"expected_response": "A"}}, {"inputs": {"q": "b"}}])
    ds.merge_records([{"inputs": {"q": "a"}, "expectations": {"expected_response": "AA", "expected_facts": ["f"]}}])
    df = ds.to_df()
    assert list(df.columns) == datasets.DF_COLUMNS
    assert list(df["inputs"]) == [{"q": "a"}, {"q": "b"}]
    assert df["expectations"][0] == {"expected_response": "AA", "expected_facts": ["f"]}
    assert list(df["source_type"]) == ["HUMAN", "CODE"]  # inferred by the SDK, as MLflow's client does
    assert list(df["outputs"]) == [{}, {}] and df["tags"][0] == {"mlflow.user": getpass.getuser()}
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
    assert ds.to_dict()["records"] == ds.records and json.loads(ds.profile) == {"num_records": 2}
