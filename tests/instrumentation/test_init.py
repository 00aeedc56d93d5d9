"""The façade: cheap, side-effect-free import; an explicit, sorted, complete ``__all__``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import annotrace

Runner = Callable[..., subprocess.CompletedProcess[str]]


def test_import_is_cheap_and_starts_nothing(run_script: Runner) -> None:
    result = run_script(
        """
        import json, sys, threading
        import annotrace
        import annotrace as mlflow
        before = threading.active_count()

        @mlflow.trace(span_type="RETRIEVER")
        def retrieve(query: str) -> list:
            return []

        heavy = sorted(
            name for name in sys.modules
            if name.split(".")[0] in ("pandas", "openai", "requests", "grpc", "httpx", "numpy")
            or name.startswith(("opentelemetry.sdk", "opentelemetry.exporter", "annotrace.collector"))
        )
        print(json.dumps({"threads_after_import": before, "threads_after_decorating": threading.active_count(), "heavy": heavy}))
        """
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["threads_after_import"] == 1
    # Decorating must not start an exporter thread nor load the OTel SDK: that waits for a span.
    assert report["threads_after_decorating"] == 1
    assert report["heavy"] == []


def test_bare_import_loads_no_otel_sdk(run_script: Runner) -> None:
    result = run_script(
        """
        import sys
        import annotrace
        print(sorted(n for n in sys.modules if n.startswith(("opentelemetry", "pandas", "openai", "httpx"))))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_all_is_sorted_and_resolves() -> None:
    assert annotrace.__all__ == sorted(annotrace.__all__)
    for name in annotrace.__all__:
        assert getattr(annotrace, name) is not None, name


def test_dir_lists_public_names_and_submodules() -> None:
    listed = dir(annotrace)
    assert set(annotrace.__all__) <= set(listed)
    assert {"entities", "openai"} <= set(listed)


def test_mlflow_names_used_by_the_seed_app() -> None:
    import annotrace as mlflow

    assert callable(mlflow.trace)
    assert callable(mlflow.openai.autolog)
    assert mlflow.entities.Document(page_content="x").to_dict() == {"page_content": "x", "metadata": {}, "id": None}
    assert mlflow.SpanType is mlflow.entities.SpanType
    assert mlflow.MlflowException is mlflow.AnnotraceException
    for name in (
        "set_tracking_uri",
        "get_tracking_uri",
        "set_experiment",
        "set_active_model",
        "get_last_active_trace_id",
    ):
        assert callable(getattr(mlflow, name)), name


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        annotrace.does_not_exist  # noqa: B018
    except AttributeError as error:
        assert "does_not_exist" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_entities_and_assessment_names_load_nothing_heavy(run_script: Runner) -> None:
    result = run_script(
        """
        import sys
        import annotrace as mlflow
        from annotrace.entities.assessment import AssessmentSource, AssessmentSourceType, AssessmentError
        mlflow.entities.Feedback, mlflow.entities.Trace
        print(sorted(n for n in sys.modules if n.split(".")[0] in ("pandas", "httpx", "opentelemetry", "google")))
        mlflow.log_feedback, mlflow.search_traces, mlflow.sql  # the REST client loads, pandas does not
        print(sorted(n for n in sys.modules if n.split(".")[0] == "pandas"))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]", "[]"]


def test_assessment_api_names() -> None:
    import annotrace as mlflow

    for name in (
        "log_feedback",
        "log_expectation",
        "get_assessment",
        "update_assessment",
        "override_feedback",
        "delete_assessment",
        "log_assessment",
        "search_traces",
        "get_trace",
        "sql",
    ):
        assert callable(getattr(mlflow, name)), name
    for name in (
        "Feedback",
        "Expectation",
        "AssessmentSource",
        "AssessmentSourceType",
        "AssessmentError",
        "Trace",
        "TraceInfo",
        "TraceData",
        "Span",
    ):
        assert getattr(mlflow.entities, name).__module__.startswith("annotrace.entities."), name


def test_sql_stays_the_function_after_its_module_is_imported(run_script: Runner) -> None:
    result = run_script(
        """
        import annotrace.sql_query
        import annotrace
        print(callable(annotrace.sql), annotrace.sql is annotrace.sql_query.sql)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
