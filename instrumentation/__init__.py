"""annotrace: MLflow-compatible GenAI tracing that ships OpenTelemetry spans to an annotrace collector.

``import annotrace`` (or ``import annotrace as mlflow``) is cheap and has no side effects: no
provider, no thread, no network, and neither httpx nor pandas. Each public name is loaded from its
module on first access (module ``__getattr__``), so the OTel SDK is imported by the first ``@trace``
decoration and spans start flowing (and a background export thread starts) at the first traced
call; the REST client (httpx) loads with the first assessment, trace or SQL call, and pandas only
when a DataFrame is built.

Submodules ``annotrace.entities``, ``annotrace.genai`` (label schemas, labeling sessions) and
``annotrace.openai`` are also loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from annotrace._lazy import attach

if TYPE_CHECKING:
    from annotrace.assessments import (
        delete_assessment,
        get_assessment,
        log_assessment,
        log_expectation,
        log_feedback,
        override_feedback,
        update_assessment,
    )
    from annotrace.entities.span import SpanType
    from annotrace.exceptions import AnnotraceException, MlflowException
    from annotrace.experiments import set_experiment
    from annotrace.logged_models import set_active_model
    from annotrace.sql_query import sql
    from annotrace.traces import get_trace, search_traces
    from annotrace.tracing.context import (
        get_active_model_id,
        get_last_active_trace_id,
    )
    from annotrace.tracing.fluent import (
        flush_trace_async_logging,
        get_current_active_span,
        start_span,
        trace,
        update_current_trace,
    )
    from annotrace.tracking import get_tracking_uri, set_tracking_uri

__all__ = [
    "AnnotraceException",
    "MlflowException",
    "SpanType",
    "delete_assessment",
    "flush_trace_async_logging",
    "get_active_model_id",
    "get_assessment",
    "get_current_active_span",
    "get_last_active_trace_id",
    "get_trace",
    "get_tracking_uri",
    "log_assessment",
    "log_expectation",
    "log_feedback",
    "override_feedback",
    "search_traces",
    "set_active_model",
    "set_experiment",
    "set_tracking_uri",
    "sql",
    "start_span",
    "trace",
    "update_assessment",
    "update_current_trace",
]

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "AnnotraceException": "annotrace.exceptions",
    "MlflowException": "annotrace.exceptions",
    "SpanType": "annotrace.entities.span",
    "delete_assessment": "annotrace.assessments",
    "flush_trace_async_logging": "annotrace.tracing.fluent",
    "get_active_model_id": "annotrace.tracing.context",
    "get_assessment": "annotrace.assessments",
    "get_current_active_span": "annotrace.tracing.fluent",
    "get_last_active_trace_id": "annotrace.tracing.context",
    "get_trace": "annotrace.traces",
    "get_tracking_uri": "annotrace.tracking",
    "log_assessment": "annotrace.assessments",
    "log_expectation": "annotrace.assessments",
    "log_feedback": "annotrace.assessments",
    "override_feedback": "annotrace.assessments",
    "search_traces": "annotrace.traces",
    "set_active_model": "annotrace.logged_models",
    "set_experiment": "annotrace.experiments",
    "set_tracking_uri": "annotrace.tracking",
    "sql": "annotrace.sql_query",
    "start_span": "annotrace.tracing.fluent",
    "trace": "annotrace.tracing.fluent",
    "update_assessment": "annotrace.assessments",
    "update_current_trace": "annotrace.tracing.fluent",
}
_SUBMODULES = frozenset({"entities", "genai", "openai"})


__getattr__, __dir__ = attach(__name__, _LAZY, _SUBMODULES)
