"""``mlflow.genai.datasets`` for an annotrace collector: evaluation datasets of inputs and
expectations, over MLflow's REST API (``/api/3.0/mlflow/datasets/...``).

``merge_records`` takes a ``search_traces`` DataFrame (it must have the ``trace`` column), a list
of ``Trace`` objects, or a list of dicts with ``inputs`` (and ``expectations``, ``outputs``,
``tags``, ``source``). From a trace, ``inputs`` is its request (the root span inputs),
``outputs`` its response and ``expectations`` its valid expectation assessments. The collector
de-duplicates by inputs: merging the same inputs again updates the record's expectations.
As MLflow's client does, the SDK infers a record's source (HUMAN with expectations, else CODE),
tags datasets and records with ``mlflow.user`` and loads ``experiment_ids`` on demand, so
``annotrace`` and ``mlflow`` leave the same data on either server.
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from annotrace.client import rest
from annotrace.entities.trace import Trace
from annotrace.exceptions import AnnotraceException
from annotrace.genai.label_schemas import current_experiment_id

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EvaluationDataset",
    "create_dataset",
    "delete_dataset",
    "delete_dataset_tag",
    "get_dataset",
    "search_datasets",
    "set_dataset_tags",
]

_BASE = "/api/3.0/mlflow/datasets"
DF_COLUMNS = [
    "inputs",
    "outputs",
    "expectations",
    "tags",
    "source_type",
    "source_id",
    "source",
    "created_time",
    "dataset_record_id",
]
USER_TAG = "mlflow.user"
SEARCH_DAYS = 7  # search_datasets() without a filter: datasets created in the last week (MLflow's default)


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
        tags = self._data.get("tags") or "{}"
        return dict(json.loads(tags) if isinstance(tags, str) else tags)

    @property
    def experiment_ids(self) -> list[str]:
        """Loaded from the server on first use (only ``create`` returns them)."""
        if "experiment_ids" not in self._data:
            answer = rest.call("GET", f"{_BASE}/{rest.quote(self.dataset_id)}/experiment-ids")
            self._data["experiment_ids"] = list(answer.get("experiment_ids") or [])
        return list(self._data["experiment_ids"])

    @property
    def digest(self) -> str | None:
        return self._data.get("digest")

    @property
    def schema(self) -> str | None:
        return self._data.get("schema")

    @property
    def profile(self) -> str | None:
        return self._data.get("profile")

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
        get_dataset(dataset_id=self.dataset_id)  # a clear error before anything is sent
        infer_sources(prepared)
        for record in prepared:
            record["tags"] = {USER_TAG: getpass.getuser(), **(record.get("tags") or {})}
        if prepared:
            answer = rest.call(
                "POST",
                f"{_BASE}/{rest.quote(self.dataset_id)}/records",
                json={"records": json.dumps(prepared, default=str)},
            )
            self._last_merge = (answer.get("inserted_count", 0), answer.get("updated_count", 0))
        self._refresh()
        return self

    def _refresh(self) -> None:
        known = {"experiment_ids": self._data["experiment_ids"]} if "experiment_ids" in self._data else {}
        self._data = {**rest.call("GET", f"{_BASE}/{rest.quote(self.dataset_id)}")["dataset"], **known}

    def delete_records(self, record_ids: list[str]) -> int:
        answer = rest.call(
            "DELETE", f"{_BASE}/{rest.quote(self.dataset_id)}/records", json={"dataset_record_ids": list(record_ids)}
        )
        self._refresh()
        return int(answer.get("deleted_count", 0))

    def set_tags(self, tags: dict[str, Any]) -> None:
        set_dataset_tags(self.dataset_id, tags)
        self._refresh()

    def delete_tag(self, key: str) -> None:
        delete_dataset_tag(self.dataset_id, key)
        self._refresh()

    def to_df(self) -> pd.DataFrame:
        import pandas as pd

        rows = self.records
        if not rows:
            return pd.DataFrame(columns=DF_COLUMNS)
        return pd.DataFrame([{column: r.get(column) for column in DF_COLUMNS} for r in rows])

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
            if "inputs" not in record:
                raise AnnotraceException.invalid_parameter_value("Each record must have an 'inputs' field")
            out.append(dict(record))
        else:
            raise AnnotraceException.invalid_parameter_value(
                f"Expected a dict or mlflow.entities.Trace record, got {type(record).__name__}"
            )
    return out


def infer_sources(records: list[dict[str, Any]]) -> None:
    """MLflow's rule for a record without a source: HUMAN with expectations, CODE without."""
    for record in records:
        if "source" in record:
            continue
        if record.get("expectations"):
            record["source"] = {"source_type": "HUMAN", "source_data": {}}
        elif "expectations" not in record:
            record["source"] = {"source_type": "CODE", "source_data": {}}


def trace_inputs(trace: Trace) -> dict[str, Any]:
    request = _loads(trace.data.request)
    if request is None:
        return {}
    return request if isinstance(request, dict) else {"request": request}


def trace_record(trace: Trace) -> dict[str, Any]:
    expectations = {
        a.name: a.expectation.value
        for a in trace.info.assessments
        if a.expectation is not None and a.valid is not False
    }
    source_data = {"trace_id": trace.info.trace_id}
    session_id = (trace.info.trace_metadata or {}).get("mlflow.trace.session")
    if session_id:
        source_data["session_id"] = session_id
    return {
        "inputs": trace_inputs(trace),
        "outputs": _loads(trace.data.response),
        "expectations": expectations,
        "source": {"source_type": "TRACE", "source_data": source_data},
    }


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def create_dataset(
    name: str, experiment_id: str | list[str] | None = None, tags: dict[str, str] | None = None
) -> EvaluationDataset:
    """Create a dataset linked to ``experiment_id`` (default: the current experiment)."""
    ids = [str(e) for e in experiment_id] if isinstance(experiment_id, list) else [current_experiment_id(experiment_id)]
    merged = {str(k): str(v) for k, v in (tags or {}).items()}
    merged.setdefault(USER_TAG, getpass.getuser())
    body: dict[str, Any] = {"name": name, "experiment_ids": ids, "tags": json.dumps(merged)}
    return EvaluationDataset(rest.call("POST", f"{_BASE}/create", json=body)["dataset"])


def _by_name(name: str) -> dict[str, Any]:
    """MLflow's lookup: the newest two with this name; none or two is an error."""
    if '"' not in name:
        filter_string = f'name = "{name}"'
    elif "'" not in name:
        filter_string = f"name = '{name}'"
    else:
        filter_string = "name = '{}'".format(name.replace("'", "''"))
    found = (
        rest.call(
            "POST",
            f"{_BASE}/search",
            json={"filter_string": filter_string, "max_results": 2, "order_by": ["created_time DESC"]},
        ).get("datasets")
        or []
    )
    if not found:
        raise AnnotraceException(f"Dataset with name '{name}' not found.", error_code="RESOURCE_DOES_NOT_EXIST")
    if len(found) > 1:
        raise AnnotraceException.invalid_parameter_value(
            f"Multiple datasets found with name '{name}'. Use 'dataset_id' for unambiguous retrieval."
        )
    return dict(found[0])


def get_dataset(name: str | None = None, dataset_id: str | None = None) -> EvaluationDataset:
    """The dataset with this id or name; missing -> ``RESOURCE_DOES_NOT_EXIST``."""
    if name is not None and dataset_id is not None:
        raise AnnotraceException.invalid_parameter_value(
            "Cannot specify both 'name' and 'dataset_id'. Use only one parameter."
        )
    if name is None and dataset_id is None:
        raise AnnotraceException.invalid_parameter_value("Either 'name' or 'dataset_id' must be provided.")
    if dataset_id is not None:
        return EvaluationDataset(rest.call("GET", f"{_BASE}/{rest.quote(dataset_id)}")["dataset"])
    assert name is not None
    return EvaluationDataset(_by_name(name))


def delete_dataset(name: str | None = None, dataset_id: str | None = None) -> None:
    """Delete the dataset and its records (by name: the one dataset with that name)."""
    if dataset_id is None:
        dataset_id = get_dataset(name=name).dataset_id
    rest.call("DELETE", f"{_BASE}/{rest.quote(dataset_id)}")


def set_dataset_tags(dataset_id: str, tags: dict[str, Any]) -> None:
    """Upsert tags (values are stored as text; a None value is skipped)."""
    rest.call("PATCH", f"{_BASE}/{rest.quote(dataset_id)}/tags", json={"tags": json.dumps(tags)})


def delete_dataset_tag(dataset_id: str, key: str) -> None:
    rest.call("DELETE", f"{_BASE}/{rest.quote(dataset_id)}/tags/{rest.quote(key)}")


def search_datasets(
    experiment_ids: str | list[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: list[str] | None = None,
) -> list[EvaluationDataset]:
    """MLflow's filter grammar; without a filter, the datasets created in the last 7 days, newest first."""
    body: dict[str, Any] = {}
    if experiment_ids is not None:
        body["experiment_ids"] = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
    body["filter_string"] = filter_string or f"created_time >= {int((time.time() - SEARCH_DAYS * 86400) * 1000)}"
    body["order_by"] = list(order_by) if order_by is not None else ["created_time DESC"]
    out: list[EvaluationDataset] = []
    while True:
        answer = rest.call("POST", f"{_BASE}/search", json=body)
        out.extend(EvaluationDataset(d) for d in answer.get("datasets") or [])
        if max_results is not None and len(out) >= max_results:
            return out[:max_results]
        if not answer.get("next_page_token"):
            return out
        body["page_token"] = answer["next_page_token"]
