"""Runs on the wire: MLflow's ``Run`` JSON out, and the run RPCs' typed list fields in.

Apart from ``runs.py`` so the handlers stay thin and the shapes are in one place. Output follows
what a stock ``mlflow server`` writes with ``message_to_json``: empty repeated fields and unset
optional fields (``end_time`` of a running run) are left out, ``run_uuid`` repeats ``run_id``.
"""

from __future__ import annotations

import math
from typing import Any

from annotrace.collector.api.mlflow.wire import Fields, invalid, missing
from annotrace.collector.store.queries import runs as store


def artifact_uri(run: store.Run) -> str:
    return f"mlflow-artifacts:/{run.experiment_id}/{run.run_id}/artifacts"


def run_info_json(run: store.Run) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_uuid": run.run_id,
        "experiment_id": run.experiment_id,
        "run_name": run.run_name,
        "user_id": run.user_id,
        "status": run.status,
        "start_time": run.start_time,
    }
    if run.end_time is not None:
        info["end_time"] = run.end_time
    info.update({"artifact_uri": artifact_uri(run), "lifecycle_stage": run.lifecycle_stage, "run_id": run.run_id})
    return info


def metric_json(m: store.Metric) -> dict[str, Any]:
    value: float | str = m.value
    if math.isnan(m.value):
        value = "NaN"
    elif math.isinf(m.value):
        value = "Infinity" if m.value > 0 else "-Infinity"
    return {"key": m.key, "value": value, "timestamp": m.timestamp, "step": m.step}


def run_json(run: store.Run, *, with_outputs: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if run.metrics:
        data["metrics"] = [metric_json(m) for m in run.metrics]
    if run.params:
        data["params"] = [{"key": k, "value": v} for k, v in run.params.items()]
    if run.tags:
        data["tags"] = [{"key": k, "value": v} for k, v in run.tags.items()]
    inputs: dict[str, Any] = {}
    if run.dataset_inputs:
        inputs["dataset_inputs"] = run.dataset_inputs
    if run.model_inputs:
        inputs["model_inputs"] = run.model_inputs
    out: dict[str, Any] = {"info": run_info_json(run), "data": data, "inputs": inputs}
    if with_outputs:
        out["outputs"] = {"model_outputs": run.model_outputs} if run.model_outputs else {}
    return out


def run_id_of(body: Fields) -> str:
    """``run_id``, or the deprecated ``run_uuid`` older clients still send."""
    value = body.get_str("run_id") or body.get_str("run_uuid")
    if not value:
        raise missing(body.path("run_id"))
    return value


def key_values(body: Fields, name: str) -> dict[str, str]:
    """A repeated ``{"key", "value"}`` field as a dict (a later key wins, as MLflow's tags do)."""
    out: dict[str, str] = {}
    for index, item in enumerate(body.raw(name) or []):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise invalid(f"{body.path(name)}[{index}]", 'an object {"key": string, "value": string}', item)
        value = item.get("value", "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise invalid(f"{body.path(name)}[{index}].value", "a string", value)
        out[item["key"]] = value
    return out


def metric_of(item: Fields) -> store.Metric:
    """One metric (LogMetric's body or a LogBatch entry); value and timestamp are required."""
    key = item.get_str("key")
    if key is None:
        raise missing(item.path("key"))
    raw = item.raw("value")
    if raw is None:
        raise missing(item.path("value"))
    value = _number(raw, item.path("value"))
    timestamp = item.get_int("timestamp")
    if timestamp is None:
        raise missing(item.path("timestamp"))
    return store.Metric(
        key,
        value,
        timestamp,
        item.get_int("step") or 0,
        item.get_str("model_id"),
        item.get_str("dataset_name"),
        item.get_str("dataset_digest"),
    )


def metrics_of(body: Fields, name: str) -> list[store.Metric]:
    out = []
    for index, raw in enumerate(body.raw(name) or []):
        if not isinstance(raw, dict):
            raise invalid(f"{body.path(name)}[{index}]", "an object", raw)
        out.append(metric_of(Fields(raw, f"{body.path(name)}[{index}].")))
    return out


def dataset_inputs_of(body: Fields) -> list[dict[str, Any]]:
    """LogInputs' ``datasets``: each ``{"tags": [...], "dataset": {name, digest, source_type, source, ...}}``."""
    out = []
    for index, raw in enumerate(body.raw("datasets") or []):
        item = Fields(raw if isinstance(raw, dict) else {}, f"datasets[{index}].")
        if not isinstance(raw, dict):
            raise invalid(f"datasets[{index}]", "an object", raw)
        dataset = item.get_obj("dataset", required=True)
        assert dataset is not None
        entry: dict[str, Any] = {}
        tags = key_values(item, "tags")
        if tags:
            entry["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        shape: dict[str, str] = {}
        for name in ("name", "digest", "source_type", "source"):
            value = dataset.get_str(name)
            if value is None:
                raise missing(dataset.path(name))
            shape[name] = value
        for name in ("schema", "profile"):
            value = dataset.get_str(name)
            if value is not None:
                shape[name] = value
        entry["dataset"] = shape
        out.append(entry)
    return out


def model_refs_of(body: Fields, name: str, *, with_step: bool = False) -> list[dict[str, Any]]:
    out = []
    for index, raw in enumerate(body.raw(name) or []):
        if not isinstance(raw, dict):
            raise invalid(f"{name}[{index}]", "an object", raw)
        item = Fields(raw, f"{name}[{index}].")
        model_id = item.get_str("model_id", required=True)
        entry: dict[str, Any] = {"model_id": model_id}
        if with_step:
            entry["step"] = item.get_int("step") or 0
        out.append(entry)
    return out


def _number(raw: Any, path: str) -> float:
    if isinstance(raw, bool):
        raise invalid(path, "a number", raw)
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        special = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}
        if raw.lower() in special:
            return special[raw.lower()]
        try:
            return float(raw)
        except ValueError:
            pass
    raise invalid(path, "a number", raw)
