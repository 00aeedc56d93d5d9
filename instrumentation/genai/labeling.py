"""``mlflow.genai.labeling`` for an annotrace collector: labeling sessions over copies of traces.

MLflow's labeling sessions are Databricks-only; here they are the collector's native
``/api/v1/labeling/sessions`` API. A session is a run: its copied traces carry metadata
``mlflow.sourceRun`` = ``mlflow_run_id``, so ``search_traces(run_id=session.mlflow_run_id)``
returns them with the experts' labels as assessments. ``url`` is ``{tracking_uri}/review/{id}``,
the Review App page for the session.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from annotrace import tracking
from annotrace.client import rest
from annotrace.entities.trace import Trace
from annotrace.exceptions import AnnotraceException
from annotrace.genai.label_schemas import current_experiment_id

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LabelingSession",
    "create_labeling_session",
    "delete_labeling_session",
    "get_labeling_session",
    "get_labeling_sessions",
]

_BASE = "/api/v1/labeling/sessions"


class LabelingSession:
    """A labeling session (MLflow's read-only properties, plus ``add_traces`` and ``set_assigned_users``)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __repr__(self) -> str:
        return f"LabelingSession(name={self.name!r}, mlflow_run_id={self.mlflow_run_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelingSession) and other._data == self._data

    __hash__ = None  # type: ignore[assignment]

    @property
    def name(self) -> str:
        return str(self._data["name"])

    @property
    def assigned_users(self) -> list[str]:
        return list(self._data["assigned_users"])

    @property
    def agent(self) -> str | None:
        return self._data.get("agent")

    @property
    def label_schemas(self) -> list[str]:
        return list(self._data["label_schemas"])

    @property
    def labeling_session_id(self) -> str:
        return str(self._data["labeling_session_id"])

    @property
    def mlflow_run_id(self) -> str:
        return str(self._data["mlflow_run_id"])

    @property
    def review_app_id(self) -> str:
        return str(self._data["review_app_id"])

    @property
    def experiment_id(self) -> str:
        return str(self._data["experiment_id"])

    @property
    def url(self) -> str:
        return f"{tracking.get_tracking_uri()}{self._data['url_path']}"

    @property
    def enable_multi_turn_chat(self) -> bool:
        return bool(self._data["enable_multi_turn_chat"])

    @property
    def custom_inputs(self) -> dict[str, Any] | None:
        return self._data.get("custom_inputs")

    @property
    def reviewers_per_item(self) -> int | None:
        """How many labelers answer each item (None: every assigned user; annotrace only)."""
        return self._data.get("reviewers_per_item")

    def add_traces(self, traces: pd.DataFrame | Iterable[Trace | str]) -> LabelingSession:
        """Copy traces into the session: a ``search_traces`` DataFrame, ``Trace`` objects, their JSON,
        or trace ids. A trace already in the session is not copied again."""
        trace_ids = _trace_ids(traces)
        if trace_ids:
            rest.call("POST", f"{_BASE}/{self.mlflow_run_id}/traces", json={"trace_ids": trace_ids})
        return self

    def add_dataset(self, dataset_name: str, record_ids: list[str] | None = None) -> LabelingSession:
        """Add a dataset's records (or those in ``record_ids``) as items, through the traces they
        came from (``source.source_data.trace_id``). Without an agent to run, a record with no
        trace cannot be labeled: MLflow's message names it and nothing is added."""
        from annotrace.genai.datasets import get_dataset

        records = get_dataset(name=dataset_name).records
        if record_ids is not None:
            wanted = set(record_ids)
            records = [r for r in records if r.get("dataset_record_id") in wanted]
        trace_ids = []
        for record in records:
            source = record.get("source") or {}
            trace_id = (source.get("source_data") or {}).get("trace_id") if isinstance(source, dict) else None
            if not trace_id:
                raise AnnotraceException.invalid_parameter_value(
                    f"Record {record.get('dataset_record_id')} has no trace and this session has no agent "
                    "to generate one; add records that came from traces."
                )
            trace_ids.append(trace_id)
        return self.add_traces(list(dict.fromkeys(trace_ids)))

    def sync(self, to_dataset: str) -> None:
        """Merge the session's expectation labels into the dataset named ``to_dataset`` (MLflow's
        ``sync``): one record per labeled item, ``inputs`` = the trace's request, ``expectations``
        = per name, the adjudicator's gold label where there is one, else the labelers' consensus
        (their valid answers all equal; names they disagree on are left out until adjudicated);
        same inputs update a record."""
        from annotrace.client import traces as trace_client
        from annotrace.genai.datasets import get_dataset, trace_inputs

        dataset = get_dataset(name=to_dataset)
        items = rest.call("GET", f"{_BASE}/{self.mlflow_run_id}/items")["items"]
        found = trace_client.batch_get_traces([item["trace_id"] for item in items]) if items else {}
        records = []
        for item in items:
            trace = found.get(item["trace_id"])
            if trace is None:
                continue
            labels = [a for a in trace.info.assessments if a.expectation is not None and a.valid is not False]
            expectations = _settled(labels)
            if not expectations:
                continue
            reviewer = labels[-1].source.source_id if labels[-1].source is not None else None
            records.append(
                {
                    "inputs": trace_inputs(trace),
                    "expectations": expectations,
                    # a HUMAN source's id travels in source_data, as MLflow's server reads it
                    "source": {
                        "source_type": "HUMAN",
                        "source_data": {
                            "source_id": reviewer,
                            "trace_id": item["source_trace_id"],
                            "labeling_session_id": self.mlflow_run_id,
                        },
                    },
                }
            )
        if records:
            dataset.merge_records(records)

    def set_assigned_users(self, assigned_users: list[str]) -> LabelingSession:
        """Replace who may label (an empty list lets anyone)."""
        answer = rest.call("PATCH", f"{_BASE}/{self.mlflow_run_id}", json={"assigned_users": list(assigned_users)})
        self._data = answer["labeling_session"]
        return self


GOLD_KEY = "annotrace.gold"


def _settled(labels: list[Any]) -> dict[str, Any]:
    """name -> the gold label's value, else the value every labeler gave (no entry without either)."""
    out: dict[str, Any] = {}
    by_name: dict[str, list[Any]] = {}
    for a in labels:
        by_name.setdefault(a.name, []).append(a)
    for name, found in by_name.items():
        gold = [a for a in found if (a.metadata or {}).get(GOLD_KEY) == "true"]
        values = [a.expectation.value for a in (gold[-1:] or found)]
        if all(v == values[0] for v in values):
            out[name] = values[0]
    return out


def _trace_ids(traces: Any) -> list[str]:
    if hasattr(traces, "columns") and hasattr(traces, "iterrows"):  # a pandas DataFrame
        if "trace" not in traces.columns:
            raise AnnotraceException.invalid_parameter_value(
                "traces must have a 'trace' column like the result of mlflow.search_traces()"
            )
        traces = list(traces["trace"])
    out = []
    for trace in traces:
        if trace is None:
            raise AnnotraceException.invalid_parameter_value(
                "trace cannot be None. Must be mlflow.entities.Trace or its json string representation."
            )
        if isinstance(trace, str):
            text = trace.strip()
            out.append(Trace.from_json(text).info.trace_id if text.startswith("{") else text)
        elif isinstance(trace, Trace):
            out.append(trace.info.trace_id)
        else:
            raise AnnotraceException.invalid_parameter_value(
                f"Expected mlflow.entities.Trace or json string, got {type(trace).__name__}"
            )
    return out


def create_labeling_session(
    name: str,
    *,
    assigned_users: list[str] | None = None,
    agent: str | None = None,
    label_schemas: list[str] | None = None,
    enable_multi_turn_chat: bool = False,
    custom_inputs: dict[str, Any] | None = None,
    reviewers_per_item: int | None = None,
) -> LabelingSession:
    """Create a session in the current experiment; every schema name must exist (the built-ins
    ``expected_facts``, ``guidelines``, ``expected_response`` are created on first use).

    ``reviewers_per_item`` (annotrace, not MLflow): how many labelers answer each item, each
    without seeing the others' answers; the Review App hands items out by lease so that no item
    gets more. Default: every assigned user answers every item."""
    body: dict[str, Any] = {
        "experiment_id": current_experiment_id(),
        "name": name,
        "assigned_users": list(assigned_users or []),
        "label_schemas": list(label_schemas or []),
        "enable_multi_turn_chat": enable_multi_turn_chat,
    }
    if agent is not None:
        body["agent"] = agent
    if custom_inputs is not None:
        body["custom_inputs"] = custom_inputs
    if reviewers_per_item is not None:
        body["reviewers_per_item"] = reviewers_per_item
    return LabelingSession(rest.call("POST", _BASE, json=body)["labeling_session"])


def get_labeling_sessions() -> list[LabelingSession]:
    """The current experiment's sessions, newest first."""
    answer = rest.call("GET", _BASE, params={"experiment_id": current_experiment_id()})
    return [LabelingSession(d) for d in answer["labeling_sessions"]]


def get_labeling_session(run_id: str) -> LabelingSession:
    """The session with this run id; missing -> ``"Labeling session with run_id `{run_id}` not found"``."""
    return LabelingSession(rest.call("GET", f"{_BASE}/{rest.quote(run_id)}")["labeling_session"])


def delete_labeling_session(labeling_session: LabelingSession) -> None:
    """Delete the session (its copied traces and their labels stay in the experiment)."""
    rest.call("DELETE", f"{_BASE}/{labeling_session.mlflow_run_id}")
