"""Process-wide trace context that is not an OTel span: the active model and the last trace id.

MLflow links traces to a "logged model" so ``search_traces(model_id=...)`` finds every trace a
version of the app produced. annotrace has no model registry: ``set_active_model(name=...)``
derives a stable ``m-<32 hex>`` id from the experiment and the name (uuid5), so the same name
gives the same id in every run, as MLflow's lookup-by-name does. The span processor stamps the
active id on every span as ``mlflow.traceMetadata.mlflow.modelId``.

The active model is process-wide (not per thread), like the tracking settings: an app usually
sets it once at start-up and then serves requests from worker threads. ``ANNOTRACE_ACTIVE_MODEL_ID``
or ``MLFLOW_ACTIVE_MODEL_ID`` give the default.
"""

from __future__ import annotations

import os
import threading
import uuid
from types import TracebackType

from annotrace import tracking
from annotrace.exceptions import AnnotraceException

__all__ = [
    "ActiveModel",
    "get_active_model_id",
    "get_last_active_trace_id",
    "record_last_trace_id",
    "set_active_model",
]

_MODEL_ENV = ("ANNOTRACE_ACTIVE_MODEL_ID", "MLFLOW_ACTIVE_MODEL_ID")
_NAMESPACE = uuid.UUID("6f1d0c52-58a4-4e0e-9a1f-0b8f3c7a2d11")  # fixed: ids must not change between runs

_lock = threading.Lock()
_active: ActiveModel | None = None
_last_trace_id: str | None = None


class ActiveModel:
    """What ``set_active_model`` returns; as a context manager it restores the previous model."""

    def __init__(self, name: str | None, model_id: str, previous: ActiveModel | None = None) -> None:
        self.name = name
        self.model_id = model_id
        self._previous = previous

    def __repr__(self) -> str:
        return f"ActiveModel(name={self.name!r}, model_id={self.model_id!r})"

    def __enter__(self) -> ActiveModel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _active
        with _lock:
            _active = self._previous


def _model_id_for(name: str) -> str:
    experiment = tracking.get_experiment()
    scope = "" if experiment is None else f"{experiment.name or ''}#{experiment.experiment_id or ''}"
    return "m-" + uuid.uuid5(_NAMESPACE, f"{scope}\x00{name}").hex


def set_active_model(name: str | None = None, model_id: str | None = None) -> ActiveModel:
    """Tag every later trace of this process with a model id (MLflow's "version tracking")."""
    global _active
    if name is None and model_id is None:
        raise AnnotraceException.invalid_parameter_value("Either `name` or `model_id` must be provided.")
    resolved = str(model_id) if model_id is not None else _model_id_for(str(name))
    with _lock:
        model = ActiveModel(name=name, model_id=resolved, previous=_active)
        _active = model
    return model


def get_active_model_id() -> str | None:
    """The active model id: from ``set_active_model``, else the environment, else ``None``."""
    if _active is not None:
        return _active.model_id
    for env in _MODEL_ENV:
        value = os.environ.get(env, "").strip()
        if value:
            return value
    return None


def record_last_trace_id(trace_id: str) -> None:
    """Called by the span processor when a root span ends."""
    global _last_trace_id
    _last_trace_id = trace_id


def get_last_active_trace_id() -> str | None:
    """``tr-<32 hex>`` of the last root span that ended in this process, or ``None``."""
    return _last_trace_id


def _reset() -> None:
    """Forget the active model and last trace (tests only)."""
    global _active, _last_trace_id
    with _lock:
        _active = None
        _last_trace_id = None
