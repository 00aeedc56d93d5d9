"""``mlflow.genai.datasets`` for an annotrace collector: evaluation datasets of inputs and
expectations, over MLflow's REST API (``/api/3.0/mlflow/datasets/...``).

``merge_records`` takes a ``search_traces`` DataFrame (it must have the ``trace`` column), a list
of ``Trace`` objects, or a list of dicts with ``inputs`` (and ``expectations``, ``outputs``,
``tags``, ``source``). From a trace, ``inputs`` is its request (the root span inputs),
``outputs`` its response and ``expectations`` its valid expectation assessments. The collector
de-duplicates by inputs: merging the same inputs again updates the record's expectations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from annotrace.client import rest
from annotrace.entities.trace import Trace
from annotrace.exceptions import AnnotraceException
from annotrace.genai.label_schemas import current_experiment_id

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EvaluationDataset", "create_dataset", "delete_dataset", "get_dataset", "search_datasets"]

_BASE = "/api/3.0/mlflow/datasets"
DF_COLUMNS = ["inputs", "outputs", "expectations", "tags", "source_type", "source_id", "created_time",
              "dataset_record_id"]


class EvaluationDataset:
    """An evaluation dataset (MLflow's ``EvaluationDataset`` properties and record methods)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __repr__(self) -> str:
        return f"EvaluationDataset(name={self.name!r}, dataset_id={self.dataset_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EvaluationDataset) and other.dataset_id == self.dataset_id

    __hash__ = None  # type: ignore[assignment]

    @property
    def dataset_id(self) -> str:
        return str(self._data["dataset_id"])

    @property
    def name(self) -> str:
        return str(self._data["name"])

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._data.get("tags") or {})

    @property
    def experiment_ids(self) -> list[str]:
        return list(self._data.get("experiment_ids") or [])

    @property
    def created_time(self) -> int | None:
        return self._data.get("created_time")

    @property
    def last_update_time(self) -> int | None:
        return self._data.get("last_update_time")

    @property
    def created_by(self) -> str | None:
        return self._data.get("created_by")

    @property
    def last_updated_by(self) -> str | None:
        return self._data.get("last_updated_by")

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every record, oldest first, as MLflow's ``DatasetRecord`` dicts."""
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = {"page_token": token} if token else None
            answer = rest.call("GET", f"{_BASE}/{rest.quote(self.dataset_id)}/records", params=params)
            out.extend(json.loads(answer.get("records") or "[]"))
            token = answer.get("next_page_token")
            if not token:
                return out

    def merge_records(self, records: pd.DataFrame | Iterable[dict[str, Any] | Trace]) -> EvaluationDataset:
        """Upsert records (de-duplicated by inputs: the same inputs update the expectations)."""
        prepared = to_records(records)
        if prepared:
            answer = rest.call("POST", f"{_BASE}/{rest.quote(self.dataset_id)}/records",
                               json={"records": json.dumps(prepared, default=str)})
            self._last_merge = (answer.get("inserted_count", 0), answer.get("updated_count", 0))
        self._data = rest.call("GET", f"{_BASE}/{rest.quote(self.dataset_id)}")["dataset"]
        return self

    def delete_records(self, record_ids: list[str]) -> int:
        answer = rest.call("DELETE", f"{_BASE}/{rest.quote(self.dataset_id)}/records",
                           json={"dataset_record_ids": list(record_ids)})
        return int(answer.get("deleted_count", 0))

    def to_df(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{column: r.get(column) for column in DF_COLUMNS} for r in self.records],
                            columns=DF_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        return {**self._data, "records": self.records}


def _is_dataframe(value: Any) -> bool:
    return hasattr(value, "columns") and hasattr(value, "iterrows")


def to_records(records: Any) -> list[dict[str, Any]]:
    """MLflow's ``merge_records`` inputs, as the JSON records the REST API takes."""
    if _is_dataframe(records):
        if "trace" in records.columns:
            records = [Trace.from_json(t) if isinstance(t, str) else t for t in records["trace"]]
        else:
            records = records.to_dict("records")
    out = []
    for record in records:
        if isinstance(record, Trace):
            out.append(trace_record(record))
        elif isinstance(record, dict):
            if record.get("inputs") is None:
                raise AnnotraceException.invalid_parameter_value("Each record must have an 'inputs' field")
            out.append({k: v for k, v in record.items() if v is not None})
        else:
            raise AnnotraceException.invalid_parameter_value(
                f"Expected a dict or mlflow.entities.Trace record, got {type(record).__name__}")
    return out


def trace_inputs(trace: Trace) -> dict[str, Any]:
    request = _loads(trace.data.request)
    if request is None:
        return {}
    return request if isinstance(request, dict) else {"request": request}


def trace_record(trace: Trace) -> dict[str, Any]:
    expectations = {a.name: a.expectation.value for a in trace.info.assessments
                    if a.expectation is not None and a.valid is not False}
    source_data = {"trace_id": trace.info.trace_id}
    session_id = (trace.info.trace_metadata or {}).get("mlflow.trace.session")
    if session_id:
        source_data["session_id"] = session_id
    record: dict[str, Any] = {"inputs": trace_inputs(trace), "expectations": expectations,
                              "source": {"source_type": "TRACE", "source_data": source_data},
                              "source_id": trace.info.trace_id, "source_type": "TRACE"}
    outputs = _loads(trace.data.response)
    if outputs is not None:
        record["outputs"] = outputs
    return record


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def create_dataset(name: str, experiment_id: str | list[str] | None = None,
                   tags: dict[str, str] | None = None) -> EvaluationDataset:
    """Create a dataset linked to ``experiment_id`` (default: the current experiment)."""
    ids = [str(e) for e in experiment_id] if isinstance(experiment_id, list) else [current_experiment_id(experiment_id)]
    body: dict[str, Any] = {"name": name, "experiment_ids": ids}
    if tags:
        body["tags"] = {str(k): str(v) for k, v in tags.items()}
    return EvaluationDataset(rest.call("POST", f"{_BASE}/create", json=body)["dataset"])


def _by_name(name: str) -> dict[str, Any] | None:
    escaped = name.replace("'", "\\'")
    found = rest.call("POST", f"{_BASE}/search", json={"filter_string": f"name = '{escaped}'", "max_results": 1})
    datasets = [d for d in found.get("datasets") or [] if d["name"] == name]
    return datasets[0] if datasets else None


def get_dataset(name: str | None = None, dataset_id: str | None = None) -> EvaluationDataset:
    """The dataset with this id or name; missing -> ``NOT_FOUND``."""
    if (name is None) == (dataset_id is None):
        raise AnnotraceException.invalid_parameter_value("Exactly one of 'name' or 'dataset_id' must be specified.")
    if dataset_id is not None:
        return EvaluationDataset(rest.call("GET", f"{_BASE}/{rest.quote(dataset_id)}")["dataset"])
    assert name is not None
    found = _by_name(name)
    if found is None:
        raise AnnotraceException(f"Dataset '{name}' not found", error_code="RESOURCE_DOES_NOT_EXIST")
    return EvaluationDataset(found)


def delete_dataset(name: str | None = None, dataset_id: str | None = None) -> None:
    """Delete the dataset and its records."""
    dataset = get_dataset(name=name, dataset_id=dataset_id)
    rest.call("DELETE", f"{_BASE}/{rest.quote(dataset.dataset_id)}")


def search_datasets(experiment_ids: str | list[str] | None = None, filter_string: str | None = None,
                    max_results: int | None = None, order_by: list[str] | None = None) -> list[EvaluationDataset]:
    """Datasets newest first, optionally of some experiments and matching ``name = '...'``/``LIKE``."""
    body: dict[str, Any] = {}
    if experiment_ids is not None:
        body["experiment_ids"] = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
    if filter_string:
        body["filter_string"] = filter_string
    out: list[EvaluationDataset] = []
    while True:
        answer = rest.call("POST", f"{_BASE}/search", json=body)
        out.extend(EvaluationDataset(d) for d in answer.get("datasets") or [])
        if max_results is not None and len(out) >= max_results:
            return out[:max_results]
        if not answer.get("next_page_token"):
            return out
        body["page_token"] = answer["next_page_token"]
