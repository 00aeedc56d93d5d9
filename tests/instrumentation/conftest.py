"""Fixtures for the SDK tests: a real OTLP/HTTP sink, the fake LLM, and a clean SDK state.

The SDK keeps process-wide state (tracking settings, active model, one TracerProvider), so
``sdk`` resets the settings, points the SDK at a fresh sink and, on teardown, flushes while that
sink is still listening. Tests that need a pristine interpreter (import cost, exit behaviour,
a global provider) run a script in a subprocess instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from annotrace import tracking
from annotrace.tracing import context, provider
from tests.fakes.llm import FakeLLM
from tests.fakes.otlp_sink import OTLPSink
from tests.instrumentation.scripted_server import ScriptedServer

REPO_ROOT = Path(__file__).resolve().parents[2]

# Variables that would change what the SDK does; tests start without them.
SDK_ENV = (
    "ANNOTRACE_TRACKING_URI",
    "MLFLOW_TRACKING_URI",
    "ANNOTRACE_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_NAME",
    "ANNOTRACE_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_ID",
    "ANNOTRACE_ACTIVE_MODEL_ID",
    "MLFLOW_ACTIVE_MODEL_ID",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SEMCONV_STABILITY_OPT_IN",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT",
    "OTEL_SDK_DISABLED",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SDK_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def sink() -> Iterator[OTLPSink]:
    with OTLPSink() as running:
        yield running


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as running:
        yield running


@pytest.fixture
def sdk(sink: OTLPSink, clean_env: pytest.MonkeyPatch) -> Iterator[OTLPSink]:
    """The SDK exporting to ``sink``, with no experiment and no active model."""
    tracking._reset()
    context._reset()
    tracking.set_tracking_uri(sink.url)
    yield sink
    provider.flush()
    context._reset()
    from annotrace.client import rest

    rest.close()  # set_experiment's lookup may have opened a connection to the sink


@pytest.fixture
def server(clean_env: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    """A scripted REST server (``scripted_server.py``) as the tracking URI, with fresh SDK state.

    The REST client's session is closed on both sides so no connection outlives its server.
    """
    from annotrace.client import rest

    tracking._reset()
    context._reset()
    rest.close()
    with ScriptedServer() as running:
        tracking.set_tracking_uri(running.url)
        yield running
    rest.close()
    tracking._reset()
    context._reset()


@pytest.fixture
def run_script() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_script(source, env={...})``: run ``source`` in a fresh interpreter, capture its output.

    The child gets the repo root on ``sys.path`` (for ``tests.fakes``) and none of ``SDK_ENV``.
    """

    def run(source: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        full_env = {key: value for key, value in os.environ.items() if key not in SDK_ENV}
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(source)],
            cwd=REPO_ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run
