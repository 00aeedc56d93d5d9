"""``annotrace.genai.labeling`` against a real collector: the session's MLflow fields, the ways
``add_traces`` takes traces (and MLflow's messages when it cannot), users, listing and deletion."""

from __future__ import annotations

import re

import pytest

import annotrace as mlflow
from annotrace.genai import labeling
from annotrace.genai.label_schemas import InputNumeric, create_label_schema
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import app, run_app  # noqa: F401  (fixture)


def _items(collector: Collector, session: labeling.LabelingSession) -> list[str]:
    rows = collector.sql(
        f"SELECT source_trace_id FROM labeling_items WHERE session_id = '{session.mlflow_run_id}' ORDER BY position"
    )
    return [row["source_trace_id"] for row in rows]


def test_session_fields(app: Collector) -> None:  # noqa: F811
    create_label_schema("score", type="feedback", title="Score", input=InputNumeric(min_value=0, max_value=1))
    session = labeling.create_labeling_session(
        "week 1",
        assigned_users=["a@x.com"],
        agent="bot",
        label_schemas=["score", "expected_facts"],
        enable_multi_turn_chat=True,
        custom_inputs={"k": 1},
    )
    run_id = session.mlflow_run_id
    assert (
        session.name,
        session.assigned_users,
        session.agent,
        session.label_schemas,
        session.labeling_session_id,
        session.enable_multi_turn_chat,
        session.custom_inputs,
    ) == ("week 1", ["a@x.com"], "bot", ["score", "expected_facts"], run_id, True, {"k": 1})
    assert session.url == f"{app.web}/review/{run_id}"
    assert session.experiment_id and session.review_app_id
    assert labeling.get_labeling_session(run_id) == session
    assert [s.mlflow_run_id for s in labeling.get_labeling_sessions()] == [run_id]

    assert session.set_assigned_users(["b@x.com", "c@x.com"]) is session
    assert labeling.get_labeling_session(run_id).assigned_users == ["b@x.com", "c@x.com"]
    labeling.delete_labeling_session(session)
    assert labeling.get_labeling_sessions() == []
    with pytest.raises(mlflow.MlflowException, match=f"Labeling session with run_id `{run_id}` not found"):
        labeling.get_labeling_session(run_id)


def test_missing_schema(app: Collector) -> None:  # noqa: F811
    with pytest.raises(
        mlflow.MlflowException,
        match=re.escape("Label schema nope not found. Please create it first via `create_label_schema`."),
    ):
        labeling.create_labeling_session("s", label_schemas=["nope"])


def test_add_traces_in_every_form(app: Collector) -> None:  # noqa: F811
    ids = [run_app(app, f"q{i}") for i in range(4)]
    session = labeling.create_labeling_session("s")
    found = mlflow.search_traces(return_type="list", filter_string=f"trace.request_id = '{ids[0]}'")
    assert session.add_traces(found) is session
    session.add_traces([ids[1]])
    session.add_traces([mlflow.get_trace(ids[2]).to_json()])  # type: ignore[union-attr]
    frame = mlflow.search_traces()
    session.add_traces(frame)
    assert _items(app, session) == [ids[0], ids[1], ids[2], ids[3]]
    copies = mlflow.search_traces(run_id=session.mlflow_run_id, return_type="list")
    assert sorted(t.info.trace_metadata["annotrace.source_trace_id"] for t in copies) == sorted(ids)
    assert all(t.info.trace_id not in ids for t in copies)


def test_add_traces_errors(app: Collector) -> None:  # noqa: F811
    session = labeling.create_labeling_session("s")
    with pytest.raises(mlflow.MlflowException, match=re.escape("trace cannot be None. Must be mlflow.entities.Trace")):
        session.add_traces([None])  # type: ignore[list-item]
    with pytest.raises(
        mlflow.MlflowException, match=re.escape("Expected mlflow.entities.Trace or json string, got int")
    ):
        session.add_traces([5])  # type: ignore[list-item]
    with pytest.raises(mlflow.MlflowException, match=r"Trace with ID 'tr-0+' not found"):
        session.add_traces(["tr-" + "0" * 32])
