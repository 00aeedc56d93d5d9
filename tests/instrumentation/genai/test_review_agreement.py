"""``annotrace.genai.agreement`` and ``judge_agreement`` against a real collector.

Three labelers label the items of a labeling session through three entry points (the Review
App's answer route, MLflow's assessment REST API, and ``log_feedback`` with a HUMAN source in a
script); every one of those labels counts. The figures must equal a reference computation on the
same labels (the ``krippendorff`` package, and Cohen's kappa by its definition). The judge
report is checked on a constructed case whose answer is known by hand.
"""

from __future__ import annotations

import math

import httpx
import krippendorff
import numpy as np
import pytest

import annotrace as mlflow
from annotrace.entities.assessment import AssessmentSource
from annotrace.genai import agreement, judge_agreement, labeling
from annotrace.genai.label_schemas import InputCategorical, InputCategoricalList, InputNumeric, create_label_schema
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import app, run_app  # noqa: F401  (fixture)

VERDICT = {
    "ann": ["good", "bad", "good", "good", "bad", "good"],
    "bob": ["good", "bad", "bad", "good", "bad", "good"],
    "cy": ["good", "good", "bad", None, "bad", "good"],
}
SCORE = {"ann": [5, 1, 4, 4, 2, 5], "bob": [4, 1, 4, 5, 2, 5], "cy": [5, 2, 3, None, 1, 4]}
TAGS = {
    "ann": [["a"], ["a", "b"], [], ["b"], ["a"], ["a", "b"]],
    "bob": [["a"], ["b"], [], ["b"], ["a"], ["a", "b"]],
    "cy": [["a"], ["a", "b"], ["a"], None, ["a"], ["b"]],
}


def _answer(api: httpx.Client, session_id: str, trace_id: str, user: str, schema: str, value: object) -> None:
    """ann answers in the Review App (its answer route), bob through MLflow's REST API, cy in a script."""
    if user == "ann":
        done = api.post(
            f"/api/v1/labeling/sessions/{session_id}/items/{trace_id}/answers",
            json={"user": user, "schema": schema, "value": value},
        )
        assert done.status_code == 200, done.text
    elif user == "bob":
        done = api.post(
            f"/api/3.0/mlflow/traces/{trace_id}/assessments",
            json={
                "assessment": {
                    "trace_id": trace_id,
                    "assessment_name": schema,
                    "feedback": {"value": value},
                    "source": {"source_type": "HUMAN", "source_id": user},
                }
            },
        )
        assert done.status_code == 200, done.text
    else:
        mlflow.log_feedback(trace_id=trace_id, name=schema, value=value, source=AssessmentSource("HUMAN", user))


def test_agreement_counts_labels_from_every_entry_point_and_matches_the_reference(app: Collector) -> None:  # noqa: F811
    traces = [run_app(app, f"question {i}") for i in range(6)]  # the app ran; now its traces are reviewed
    create_label_schema("verdict", type="feedback", title="Verdict", input=InputCategorical(options=["good", "bad"]))
    create_label_schema("score", type="feedback", title="Score", input=InputNumeric(min_value=1, max_value=5))
    create_label_schema("tags", type="feedback", title="Tags", input=InputCategoricalList(options=["a", "b"]))
    session = labeling.create_labeling_session("triage", assigned_users=[], label_schemas=["verdict", "score", "tags"])
    session.add_traces(traces)
    items = app.sql(
        f"SELECT trace_id FROM labeling_items WHERE session_id = '{session.mlflow_run_id}' ORDER BY position"
    )
    with httpx.Client(base_url=app.web, timeout=30) as api:
        for schema, table in (("verdict", VERDICT), ("score", SCORE), ("tags", TAGS)):
            for user, values in table.items():
                for item, value in zip(items, values, strict=True):
                    if value is not None:
                        _answer(api, session.mlflow_run_id, item["trace_id"], user, schema, value)

    frame = agreement(session).set_index("schema")
    assert list(frame.index) == ["verdict", "score", "tags"]
    assert list(frame["level"]) == ["nominal", "interval", "set"]
    assert list(frame["labelers"]) == [3, 3, 3] and list(frame["answers"]) == [17, 17, 17]
    codes = np.array([[{"good": 0, "bad": 1}.get(v, np.nan) if v else np.nan for v in VERDICT[u]] for u in VERDICT])
    assert frame.loc["verdict", "alpha"] == pytest.approx(krippendorff.alpha(codes, level_of_measurement="nominal"))
    scores = np.array([[np.nan if v is None else v for v in SCORE[u]] for u in SCORE], dtype=float)
    assert frame.loc["score", "alpha"] == pytest.approx(krippendorff.alpha(scores, level_of_measurement="interval"))
    for name in ("alpha", "fleiss_kappa", "percent_agreement"):
        low, value, high = frame.loc["verdict", [f"{name}_low", name, f"{name}_high"]]
        assert low <= value <= high, name
    assert math.isnan(frame.loc["verdict", "cohen_kappa"])  # three labelers
    # 24 of the 32 ordered pairs of verdicts on the same item agree
    assert frame.loc["verdict", "percent_agreement"] == pytest.approx(12 / 16)
    assert frame.loc["verdict", "categories"] == ["bad", "good"]
    assert np.array(frame.loc["verdict", "confusion"]).sum() == 2 * 3 * 5 + 2  # ordered pairs: 5 items x 3, 1 x 1

    # the SQL view gives the same point estimates
    sql = {
        r["label_schema"]: r
        for r in app.sql(f"SELECT * FROM labeling_agreement WHERE session_id = '{session.mlflow_run_id}'")
    }
    assert sql["verdict"]["alpha_nominal"] == pytest.approx(frame.loc["verdict", "alpha"])
    assert sql["verdict"]["percent_agreement"] == pytest.approx(frame.loc["verdict", "percent_agreement"])
    assert sql["score"]["alpha_interval"] == pytest.approx(frame.loc["score", "alpha"])
    assert (sql["tags"]["items"], sql["tags"]["labelers"], sql["tags"]["answers"]) == (6, 3, 17)

    labelers = agreement(session.mlflow_run_id, by="labeler")
    cy = labelers[(labelers["labeler"] == "cy") & (labelers["schema"] == "score")].iloc[0]
    assert cy["items"] == 5
    # cy's scores minus the mean of the others' on the same items: 0.5, 1, -1, -1, -1
    assert cy["leniency"] == pytest.approx((0.5 + 1 - 1 - 1 - 1) / 5)
    worst = agreement(session, by="item")
    assert worst.iloc[0]["trace_id"] in {items[1]["trace_id"], items[2]["trace_id"]}


def test_judge_agreement_on_a_constructed_case(app: Collector) -> None:  # noqa: F811
    traces = [run_app(app, f"q{i}") for i in range(6)]
    human = [True, True, False, False, True, False]
    judge_v1 = [True, False, False, True, True, False]  # 4 of 6 right
    judge_v2 = [True, True, False, False, True, True]  # 5 of 6 right
    for trace_id, h, v1, v2 in zip(traces, human, judge_v1, judge_v2, strict=True):
        mlflow.log_feedback(trace_id=trace_id, name="safe", value=h, source=AssessmentSource("HUMAN", "expert"))
        mlflow.log_feedback(trace_id=trace_id, name="safe", value=v1, source=AssessmentSource("LLM_JUDGE", "judge-v1"))
        mlflow.log_feedback(trace_id=trace_id, name="safe", value=v2, source=AssessmentSource("LLM_JUDGE", "judge-v2"))
    frame = judge_agreement("safe").set_index("source_id")
    assert list(frame.index) == ["judge-v1", "judge-v2"]
    assert list(frame["traces"]) == [6, 6]
    assert frame.loc["judge-v1", "accuracy"] == pytest.approx(4 / 6)
    assert frame.loc["judge-v2", "accuracy"] == pytest.approx(5 / 6)
    # v1: p_o 4/6; human 3 true / 3 false, judge 3 / 3 -> p_e 1/2; kappa (2/3 - 1/2) / (1/2) = 1/3
    assert frame.loc["judge-v1", "kappa"] == pytest.approx(1 / 3)
    assert frame.loc["judge-v1", "categories"] == ["false", "true"]
    assert frame.loc["judge-v1", "confusion"] == [[2, 1], [1, 2]]  # rows human, columns judge
    assert sorted(frame.loc["judge-v1", "disagreeing_trace_ids"]) == sorted([traces[1], traces[3]])
    assert frame.loc["judge-v2", "disagreeing_trace_ids"] == [traces[5]]
