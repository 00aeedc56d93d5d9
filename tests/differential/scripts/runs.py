"""Client scripts: runs (create/get/update/search/delete/restore, params, metrics, tags, inputs).

Run by tests/differential/client_runner.py under each client version: mlflow and the standard
library only.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag, ViewType


def run_json(run: Any) -> dict[str, Any]:
    """What a user reads from a Run; a random run name is reduced to whether it is set."""
    info = run.info
    return {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "status": info.status,
        "lifecycle_stage": info.lifecycle_stage,
        "user_id": info.user_id,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "artifact_uri": info.artifact_uri,
        "run_name": info.run_name if info.run_name.startswith("diff-") else bool(info.run_name),
        "params": dict(sorted(run.data.params.items())),
        "metrics": dict(sorted(run.data.metrics.items())),
        "tags": {
            k: (v if k != "mlflow.runName" or v.startswith("diff-") else bool(v))
            for k, v in sorted(run.data.tags.items())
        },
        "dataset_inputs": [
            {
                "name": d.dataset.name,
                "digest": d.dataset.digest,
                "source_type": d.dataset.source_type,
                "source": d.dataset.source,
                "schema": d.dataset.schema,
                "profile": d.dataset.profile,
                "tags": sorted((t.key, t.value) for t in d.tags),
            }
            for d in (run.inputs.dataset_inputs if run.inputs else [])
        ],
    }


def metric_json(m: Any) -> dict[str, Any]:
    return {"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step}


def lifecycle(client: Any) -> dict[str, Any]:
    """MlflowClient over one run: every write, then reads, search, delete and restore."""
    c = MlflowClient()
    experiment_id = mlflow.set_experiment(f"diff-runs-{client.unique}").experiment_id
    out: dict[str, Any] = {"experiment_id": experiment_id}
    run = c.create_run(experiment_id, run_name="diff-first", tags={"team": "search"}, start_time=1700000000000)
    run_id = run.info.run_id
    out["created"] = run_json(run)
    c.log_param(run_id, "lr", "0.1")
    c.log_param(run_id, "lr", "0.1")  # the same value again is fine
    out["param_changed"] = client.error(c.log_param, run_id, "lr", "0.2")
    c.log_metric(run_id, "loss", 0.5, timestamp=1700000001000, step=0)
    c.log_metric(run_id, "loss", 0.25, timestamp=1700000002000, step=1)
    c.log_metric(run_id, "loss", 0.75, timestamp=1700000000500, step=1)  # older, same step
    c.log_metric(run_id, "acc", 0.9, timestamp=1700000003000)
    c.set_tag(run_id, "stage", "dev")
    c.set_tag(run_id, "stage", "prod")
    c.set_tag(run_id, "gone", "soon")
    c.delete_tag(run_id, "gone")
    out["delete_missing_tag"] = client.error(c.delete_tag, run_id, "gone")
    c.log_batch(
        run_id,
        metrics=[Metric("f1", 0.7, 1700000004000, 3), Metric("f1", 0.8, 1700000005000, 4)],
        params=[Param("batch", "32"), Param("epochs", "3")],
        tags=[RunTag("batch_tag", "x")],
    )
    out["batch_param_changed"] = client.error(c.log_batch, run_id, params=[Param("batch", "64")])
    out["loss_history"] = [
        metric_json(m) for m in sorted(c.get_metric_history(run_id, "loss"), key=lambda m: (m.step, m.timestamp))
    ]
    out["missing_history"] = [metric_json(m) for m in c.get_metric_history(run_id, "nope")]
    out["updated_info"] = c.update_run(run_id, status="FINISHED", name="diff-renamed") is None
    c.set_terminated(run_id, status="FINISHED", end_time=1700000009000)
    out["finished"] = run_json(c.get_run(run_id))

    second = c.create_run(experiment_id, run_name="diff-second", start_time=1700000010000).info.run_id
    c.log_param(second, "lr", "0.2")
    c.log_metric(second, "loss", 0.1, timestamp=1700000011000)
    out["search_all"] = [run_json(r) for r in c.search_runs([experiment_id])]
    out["search_param"] = [r.info.run_id for r in c.search_runs([experiment_id], "params.lr = '0.2'")]
    out["search_metric"] = [
        r.info.run_id for r in c.search_runs([experiment_id], "metrics.loss < 0.3", order_by=["metrics.loss DESC"])
    ]
    out["search_tag"] = [r.info.run_id for r in c.search_runs([experiment_id], "tags.stage = 'prod'")]
    out["search_name"] = [r.info.run_id for r in c.search_runs([experiment_id], "attributes.run_name = 'diff-second'")]
    out["search_status"] = [r.info.run_id for r in c.search_runs([experiment_id], "attributes.status = 'RUNNING'")]
    out["search_order_start"] = [
        r.info.run_id for r in c.search_runs([experiment_id], order_by=["attributes.start_time ASC"])
    ]
    page = c.search_runs([experiment_id], max_results=1)
    out["page_1"] = [r.info.run_id for r in page]
    out["page_2"] = [r.info.run_id for r in c.search_runs([experiment_id], max_results=1, page_token=page.token)]

    c.delete_run(second)
    out["deleted"] = run_json(c.get_run(second))
    out["search_active"] = [r.info.run_id for r in c.search_runs([experiment_id])]
    out["search_deleted"] = [r.info.run_id for r in c.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)]
    out["search_every"] = [r.info.run_id for r in c.search_runs([experiment_id], run_view_type=ViewType.ALL)]
    out["write_deleted"] = client.error(c.log_param, second, "x", "1")
    c.restore_run(second)
    out["restored"] = c.get_run(second).info.lifecycle_stage
    out["missing_run"] = client.error(c.get_run, "0" * 32)
    out["missing_experiment"] = client.error(c.create_run, "987654321")
    out["bad_filter"] = client.error(c.search_runs, [experiment_id], "params.lr ~ 'x'")
    return out


def fluent_start_run(client: Any) -> dict[str, Any]:
    """``mlflow.start_run()`` as a script writes it, then the run read back."""
    mlflow.set_experiment(f"diff-fluent-{client.unique}")
    with mlflow.start_run(run_name="diff-fluent") as run:
        mlflow.log_param("model", "gpt")
        mlflow.log_params({"a": 1, "b": "two"})
        mlflow.log_metric("score", 3.0, step=2)
        mlflow.log_metrics({"x": 1.0, "y": 2.0})
        mlflow.set_tag("kind", "fluent")
        mlflow.set_tags({"k1": "v1"})
        active = mlflow.active_run().info.run_id
    out = {"same": active == run.info.run_id, "run": run_json(mlflow.get_run(run.info.run_id))}
    with mlflow.start_run() as unnamed:
        pass
    out["unnamed"] = run_json(mlflow.get_run(unnamed.info.run_id))
    with (
        mlflow.start_run(run_name="diff-parent") as parent,
        mlflow.start_run(run_name="diff-child", nested=True) as child,
    ):
        pass
    out["child_parent"] = mlflow.get_run(child.info.run_id).data.tags.get("mlflow.parentRunId") == parent.info.run_id
    out["last"] = mlflow.last_active_run().info.run_id == parent.info.run_id
    try:
        with mlflow.start_run(run_name="diff-failed"):
            raise ValueError("boom")
    except ValueError:
        pass
    failed = mlflow.search_runs(filter_string="attributes.run_name = 'diff-failed'", output_format="list")
    out["failed_status"] = [r.info.status for r in failed]
    return out


def log_inputs(client: Any) -> dict[str, Any]:
    """Dataset inputs on a run (what ``mlflow.log_input`` and ``genai.evaluate`` send)."""
    c = MlflowClient()
    experiment_id = mlflow.set_experiment(f"diff-inputs-{client.unique}").experiment_id
    run_id = c.create_run(experiment_id, run_name="diff-inputs").info.run_id
    dataset = Dataset(
        name="eval",
        digest="abc123",
        source_type="code",
        source='{"x": 1}',
        schema='{"mlflow_colspec": []}',
        profile='{"num_rows": 2}',
    )
    c.log_inputs(run_id, [DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "evaluation")])])
    c.log_inputs(run_id, [DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "evaluation")])])
    other = Dataset(name="train", digest="def456", source_type="local", source="/tmp/x.csv")
    c.log_inputs(run_id, [DatasetInput(other)])
    run = c.get_run(run_id)
    return {
        "run": run_json(run),
        "by_dataset": [r.info.run_id for r in c.search_runs([experiment_id], "dataset.name = 'eval'")],
    }


def special_metrics(client: Any) -> dict[str, Any]:
    """NaN and infinities, negative steps, a metric on a logged model, and the history's order."""
    c = MlflowClient()
    experiment_id = mlflow.set_experiment(f"diff-metrics-{client.unique}").experiment_id
    model_id = c.create_logged_model(experiment_id, name="diff-metric-model").model_id
    run_id = c.create_run(experiment_id, run_name="diff-metrics").info.run_id
    c.log_metric(run_id, "nan", float("nan"), timestamp=1700000000000)
    c.log_metric(run_id, "inf", float("inf"), timestamp=1700000000000)
    c.log_metric(run_id, "neg_inf", float("-inf"), timestamp=1700000000000)
    c.log_metric(run_id, "steps", 1.0, timestamp=1700000000000, step=-5)
    c.log_metric(run_id, "steps", 2.0, timestamp=1700000000000, step=-1)
    c.log_batch(run_id, metrics=[Metric("acc", 0.5, 1700000000000, 0, model_id=model_id)])
    run = c.get_run(run_id)
    metrics = {k: str(v) for k, v in sorted(run.data.metrics.items())}
    model = c.get_logged_model(model_id)
    return {
        "experiment_id": experiment_id,
        "run_id": run_id,
        "model_id": model_id,
        "metrics": metrics,
        "history": [(m.value, m.step) for m in c.get_metric_history(run_id, "steps")],
        "model_metrics": sorted((m.key, m.value, m.step, m.run_id, m.model_id) for m in (model.metrics or [])),
        "search_inf": [r.info.run_id for r in c.search_runs([experiment_id], "metrics.inf > 1e300")],
        "search_model_metric": [m.model_id for m in c.search_logged_models([experiment_id], "metrics.acc > 0.1")],
    }
