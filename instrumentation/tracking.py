"""Process-wide tracking settings: where traces go (tracking URI) and which experiment they join.

MLflow keeps these as process globals set by ``set_tracking_uri``/``set_experiment`` or read from
the environment, and so do we. Nothing here touches the network: the collector resolves an
experiment by name from the ``x-annotrace-experiment`` header (or by id from
``x-mlflow-experiment-id``), so ``set_experiment`` here only records the choice. The public
``annotrace.set_experiment`` (``experiments.py``) also creates a named experiment on the server.

The tracing pipeline subscribes to changes (``subscribe``) so it can flush and rebuild its exporter
with the new endpoint and header. That makes this module a leaf below ``tracing/`` and ``client/``
(both read the settings); it imports only ``exceptions``.

Environment, read when first needed (not at import): ``ANNOTRACE_TRACKING_URI`` then
``MLFLOW_TRACKING_URI``; ``ANNOTRACE_EXPERIMENT_NAME`` / ``MLFLOW_EXPERIMENT_NAME`` (first), or
``ANNOTRACE_EXPERIMENT_ID`` / ``MLFLOW_EXPERIMENT_ID``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from annotrace.exceptions import AnnotraceException

__all__ = [
    "DEFAULT_TRACKING_URI",
    "ExperimentChoice",
    "experiment_choice",
    "get_experiment",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "set_experiment",
    "set_tracking_uri",
    "subscribe",
]

DEFAULT_TRACKING_URI = "http://127.0.0.1:5000"
_URI_ENV = ("ANNOTRACE_TRACKING_URI", "MLFLOW_TRACKING_URI")
_EXPERIMENT_NAME_ENV = ("ANNOTRACE_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")
_EXPERIMENT_ID_ENV = ("ANNOTRACE_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID")


@dataclass(frozen=True, slots=True)
class ExperimentChoice:
    """The experiment the user picked: exactly one of ``name`` or ``experiment_id`` is set."""

    name: str | None = None
    experiment_id: str | None = None


_lock = threading.Lock()
_tracking_uri: str | None = None
_experiment: ExperimentChoice | None = None
_listeners: list[Callable[[], None]] = []


def _first_env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _normalise_uri(uri: str) -> str:
    text = str(uri).strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise AnnotraceException.invalid_parameter_value(
            f"Unsupported tracking URI {uri!r}: annotrace sends traces over HTTP, so the URI must "
            f"start with http:// or https:// (for example {DEFAULT_TRACKING_URI!r})."
        )
    return text


def _notify() -> None:
    for listener in list(_listeners):
        listener()


def subscribe(listener: Callable[[], None]) -> None:
    """Call ``listener()`` after every change of tracking URI or experiment."""
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)


def set_tracking_uri(uri: str) -> None:
    """Send traces to the annotrace collector at ``uri`` (its web port, e.g. ``http://127.0.0.1:5000``).

    Spans are exported as OTLP/HTTP protobuf to ``{uri}/v1/traces``.
    """
    global _tracking_uri
    normalised = _normalise_uri(uri)
    with _lock:
        changed = normalised != _tracking_uri
        _tracking_uri = normalised
    if changed:
        _notify()


def get_tracking_uri() -> str:
    """The tracking URI: set explicitly, else from the environment, else ``http://127.0.0.1:5000``."""
    if _tracking_uri is not None:
        return _tracking_uri
    from_env = _first_env(_URI_ENV)
    return _normalise_uri(from_env) if from_env else DEFAULT_TRACKING_URI


def is_tracking_uri_set() -> bool:
    """True when the user chose a URI (call or environment), so it wins over ``OTEL_EXPORTER_OTLP_*``."""
    return _tracking_uri is not None or _first_env(_URI_ENV) is not None


def experiment_choice(experiment_name: str | None = None, experiment_id: str | None = None) -> ExperimentChoice:
    """The checked choice for ``set_experiment``'s arguments (MLflow's messages for bad ones)."""
    if (experiment_name is None) == (experiment_id is None):
        raise AnnotraceException.invalid_parameter_value(
            "Must specify exactly one of: `experiment_id` or `experiment_name`."
        )
    if experiment_name is not None and not str(experiment_name).strip():
        raise AnnotraceException.invalid_parameter_value("`experiment_name` must be a non-empty string.")
    return (
        ExperimentChoice(name=str(experiment_name))
        if experiment_name is not None
        else ExperimentChoice(experiment_id=str(experiment_id))
    )


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> None:
    """Make later traces of this process join an experiment, by name or by id (not both).

    Only records the choice (no network): the collector creates a named experiment on first use.
    """
    global _experiment
    choice = experiment_choice(experiment_name, experiment_id)
    with _lock:
        changed = choice != _experiment
        _experiment = choice
    if changed:
        _notify()


def get_experiment() -> ExperimentChoice | None:
    """The chosen experiment: set explicitly, else from the environment, else ``None``."""
    if _experiment is not None:
        return _experiment
    name = _first_env(_EXPERIMENT_NAME_ENV)
    if name is not None:
        return ExperimentChoice(name=name)
    experiment_id = _first_env(_EXPERIMENT_ID_ENV)
    return ExperimentChoice(experiment_id=experiment_id) if experiment_id is not None else None


def _reset() -> None:
    """Forget explicit settings (tests only); listeners are told so exporters rebuild."""
    global _tracking_uri, _experiment
    with _lock:
        _tracking_uri = None
        _experiment = None
    _notify()
