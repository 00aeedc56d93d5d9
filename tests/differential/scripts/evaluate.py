"""Client scripts: ``mlflow.genai.evaluate`` with ``@scorer`` functions, and traces linked to runs.

Run by tests/differential/client_runner.py under each client version: mlflow and the standard
library only.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow.genai.scorers import scorer

DATA = [
    {
        "inputs": {"question": "What is MLflow?"},
        "outputs": "An open source platform",
        "expectations": {"expected_response": "An open source platform"},
    },
    {
        "inputs": {"question": "What is annotrace?"},
        "outputs": "A collector",
        "expectations": {"expected_response": "An OpenTelemetry collector"},
    },
]


@scorer
def exact_match(outputs: Any, expectations: dict[str, Any]) -> bool:
    return bool(outputs == expectations["expected_response"])


@scorer
def length(outputs: Any) -> int:
    return len(str(outputs))


def _assessment(a: Any) -> dict[str, Any]:
    return {
        "name": a.name,
        "value": a.value,
        "source_type": a.source.source_type,
        "source_id": a.source.source_id,
        "kind": type(a).__name__,
        "run_id": (a.metadata or {}).get("mlflow.assessment.sourceRunId"),
        "trace_id": a.trace_id,
    }


def _expected(trace: Any) -> str:
    return str([a.value for a in trace.info.assessments if a.name == "expected_response"])


def evaluate_two_rows(client: Any) -> dict[str, Any]:
    """The issue's case: 2 rows, 2 @scorer functions -> 2 traces on the run, 3 assessments each.

    Returns what the run and the traces' infos say; the spans' contents are ``evaluate_trace_spans``."""
    experiment_id = mlflow.set_experiment(f"diff-eval-{client.unique}").experiment_id
    result = mlflow.genai.evaluate(data=DATA, scorers=[exact_match, length])
    run = mlflow.get_run(result.run_id)
    traces = sorted(mlflow.search_traces(run_id=result.run_id, return_type="list"), key=_expected)
    rows = [
        {
            "state": str(t.info.state),
            "request_preview": t.info.request_preview,
            "response_preview": t.info.response_preview,
            "assessments": sorted((_assessment(a) for a in t.info.assessments), key=lambda a: a["name"]),
        }
        for t in traces
    ]
    return {
        "experiment_id": experiment_id,
        "run_id": result.run_id,
        "result_metrics": dict(sorted(result.metrics.items())),
        "run_metrics": dict(sorted(run.data.metrics.items())),
        "run_status": run.info.status,
        "run_tags": sorted(k for k in run.data.tags if not k.startswith("mlflow.source")),
        "dataset_inputs": [
            (d.dataset.name, d.dataset.source_type, [(t.key, t.value) for t in d.tags])
            for d in run.inputs.dataset_inputs
        ],
        "traces": rows,
    }


def evaluate_trace_spans(client: Any) -> dict[str, Any]:
    """The spans of evaluate's traces, read right after ``evaluate`` returns, as a script would."""
    mlflow.set_experiment(f"diff-eval-spans-{client.unique}")
    result = mlflow.genai.evaluate(data=DATA, scorers=[exact_match, length])
    traces = sorted(mlflow.search_traces(run_id=result.run_id, return_type="list"), key=_expected)
    return {
        "traces": [
            {
                "request": t.data.request,
                "response": t.data.response,
                "spans": [(s.name, s.span_type, s.inputs, s.outputs) for s in t.data.spans],
            }
            for t in traces
        ]
    }


def traces_of_a_run(client: Any) -> dict[str, Any]:
    """A trace made inside ``start_run`` and one linked afterwards both answer ``search_traces(run_id=)``."""
    c = mlflow.MlflowClient()
    experiment_id = mlflow.set_experiment(f"diff-run-traces-{client.unique}").experiment_id

    @mlflow.trace
    def answer(question: str) -> str:
        return question.upper()

    with mlflow.start_run(run_name="diff-traced") as run:
        answer("inside")
    inside = mlflow.get_last_active_trace_id()
    answer("outside")
    outside = mlflow.get_last_active_trace_id()
    role = {inside: "inside", outside: "outside"}
    before = sorted(
        role.get(t.info.trace_id, t.info.trace_id)
        for t in mlflow.search_traces(run_id=run.info.run_id, return_type="list")
    )
    c.link_traces_to_run([outside], run_id=run.info.run_id)
    c.link_traces_to_run([outside], run_id=run.info.run_id)  # twice is fine
    after = sorted(
        role.get(t.info.trace_id, t.info.trace_id)
        for t in mlflow.search_traces(run_id=run.info.run_id, return_type="list")
    )
    by_filter = sorted(
        role.get(t.info.trace_id, t.info.trace_id)
        for t in mlflow.search_traces(filter_string=f"attributes.run_id = '{run.info.run_id}'", return_type="list")
    )
    return {
        "experiment_id": experiment_id,
        "run_id": run.info.run_id,
        "before": before,
        "after": after,
        "run_filter": by_filter,
        "inside_source_run": mlflow.get_trace(inside).info.trace_metadata.get("mlflow.sourceRun"),
        "link_unknown_run": client.error(c.link_traces_to_run, [outside], run_id="0" * 32),
        "search_missing_run": client.error(mlflow.search_traces, run_id="0" * 32),
    }


def evaluate_predict_fn_with_active_model(client: Any) -> dict[str, Any]:
    """evaluate with a predict_fn under an active model: the app's traces carry the model id, the
    run gets the metrics, and search_traces(model_id=...) finds the evaluated traces."""
    experiment_id = mlflow.set_experiment(f"diff-eval-model-{client.unique}").experiment_id
    model_id = mlflow.set_active_model(name="diff-eval-app").model_id

    def predict(question: str) -> str:
        return "An open source platform" if "MLflow" in question else "A collector"

    data = [{"inputs": row["inputs"], "expectations": row["expectations"]} for row in DATA]
    result = mlflow.genai.evaluate(data=data, predict_fn=predict, scorers=[exact_match, length])
    traces = sorted(mlflow.search_traces(run_id=result.run_id, return_type="list"), key=_expected)
    by_model = mlflow.search_traces(model_id=model_id, return_type="list")
    return {
        "experiment_id": experiment_id,
        "model_id": model_id,
        "run_id": result.run_id,
        "metrics": dict(sorted(result.metrics.items())),
        "traces": [
            {
                "model_id": t.info.trace_metadata.get("mlflow.modelId"),
                "response_preview": t.info.response_preview,
                "assessments": sorted((_assessment(a) for a in t.info.assessments), key=lambda a: a["name"]),
            }
            for t in traces
        ],
        "by_model": len(by_model),
        "model_metrics": sorted((m.key, m.value) for m in (mlflow.get_logged_model(model_id).metrics or [])),
    }
