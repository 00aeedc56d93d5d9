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
            if name.split(".")[0] in ("pandas", "openai", "requests", "grpc")
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
        print(sorted(n for n in sys.modules if n.startswith(("opentelemetry", "pandas", "openai"))))
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
    for name in ("set_tracking_uri", "get_tracking_uri", "set_experiment", "set_active_model", "get_last_active_trace_id"):
        assert callable(getattr(mlflow, name)), name


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        annotrace.does_not_exist  # noqa: B018
    except AttributeError as error:
        assert "does_not_exist" in str(error)
    else:
        raise AssertionError("expected AttributeError")
