"""``TraceInfo``: a trace's metadata (id, experiment, time, state, tags, assessments), MLflow v3 shape.

The REST API sends MLflow's ``TraceInfoV3`` JSON (RFC 3339 ``request_time``, ``"0.25s"``
durations); ``from_json`` reads it into MLflow's Python fields (milliseconds) and ``to_dict``
writes MLflow's ``TraceInfo.to_dict()`` (the proto JSON with ``execution_duration_ms`` as an int),
which is what ``Trace.to_json()`` and the ``trace`` column of ``search_traces`` carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from annotrace.entities._proto_json import duration_from_json, timestamp_from_json, timestamp_to_json
from annotrace.entities.assessment import Assessment

__all__ = ["MlflowExperimentLocation", "TraceInfo", "TraceLocation", "TraceState"]


class TraceState(str, Enum):
    """A trace's state; a ``str`` so ``df.state == "OK"`` works as in MLflow."""

    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"

    def __str__(self) -> str:
        return self.value


@dataclass
class MlflowExperimentLocation:
    experiment_id: str


@dataclass
class TraceLocation:
    """Where a trace lives; annotrace only has experiments (``MLFLOW_EXPERIMENT``)."""

    type: str = "MLFLOW_EXPERIMENT"
    mlflow_experiment: MlflowExperimentLocation | None = None

    @classmethod
    def from_experiment_id(cls, experiment_id: str) -> TraceLocation:
        return cls(mlflow_experiment=MlflowExperimentLocation(str(experiment_id)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.mlflow_experiment is not None:
            out["mlflow_experiment"] = {"experiment_id": self.mlflow_experiment.experiment_id}
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TraceLocation:
        experiment = d.get("mlflow_experiment")
        return cls(
            type=d.get("type") or "MLFLOW_EXPERIMENT",
            mlflow_experiment=MlflowExperimentLocation(str(experiment["experiment_id"])) if experiment else None,
        )


@dataclass
class TraceInfo:
    """MLflow 3's ``TraceInfo``: times in milliseconds, ``state`` a ``TraceState``."""

    trace_id: str
    trace_location: TraceLocation
    request_time: int
    state: TraceState
    request_preview: str | None = None
    response_preview: str | None = None
    client_request_id: str | None = None
    execution_duration: int | None = None
    trace_metadata: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    assessments: list[Assessment] = field(default_factory=list)

    @property
    def request_id(self) -> str:
        """MLflow 2 name of ``trace_id``."""
        return self.trace_id

    @property
    def experiment_id(self) -> str | None:
        experiment = self.trace_location.mlflow_experiment
        return experiment.experiment_id if experiment else None

    @property
    def timestamp_ms(self) -> int:
        return self.request_time

    @property
    def execution_time_ms(self) -> int | None:
        return self.execution_duration

    @property
    def request_metadata(self) -> dict[str, str]:
        return self.trace_metadata

    def to_dict(self) -> dict[str, Any]:
        """MLflow's ``TraceInfo.to_dict()``: proto JSON, ``execution_duration_ms`` in place of the duration."""
        out: dict[str, Any] = {"trace_id": self.trace_id}
        if self.client_request_id is not None:
            out["client_request_id"] = self.client_request_id
        out["trace_location"] = self.trace_location.to_dict()
        out["request_time"] = timestamp_to_json(self.request_time)
        out["state"] = TraceState(self.state).value
        if self.trace_metadata:
            out["trace_metadata"] = dict(self.trace_metadata)
        if self.assessments:
            out["assessments"] = [a.to_dictionary() for a in self.assessments]
        if self.tags:
            out["tags"] = dict(self.tags)
        if self.request_preview is not None:
            out["request_preview"] = self.request_preview
        if self.response_preview is not None:
            out["response_preview"] = self.response_preview
        if self.execution_duration is not None:
            out["execution_duration_ms"] = self.execution_duration
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TraceInfo:
        """Reads ``to_dict()`` output and the REST ``trace_info`` JSON alike."""
        duration: int | None = d.get("execution_duration_ms")
        if duration is None and d.get("execution_duration") is not None:
            raw = d["execution_duration"]
            duration = duration_from_json(raw) if isinstance(raw, str) else int(raw)
        request_time = d.get("request_time")
        return cls(
            trace_id=d["trace_id"],
            trace_location=TraceLocation.from_dict(d.get("trace_location") or {}),
            request_time=timestamp_from_json(request_time) if isinstance(request_time, str) else int(request_time or 0),
            state=TraceState(d.get("state") or "STATE_UNSPECIFIED"),
            request_preview=d.get("request_preview"),
            response_preview=d.get("response_preview"),
            client_request_id=d.get("client_request_id"),
            execution_duration=duration,
            trace_metadata=dict(d.get("trace_metadata") or {}),
            tags=dict(d.get("tags") or {}),
            assessments=[Assessment.from_dictionary(a) for a in d.get("assessments") or []],
        )
