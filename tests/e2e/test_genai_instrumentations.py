"""Real GenAI instrumentations of the real ``openai`` client, exported to a real collector, read in SQL.

One workload (plain chat, streaming chat with ``include_usage``, a tool call, the tool result sent
back, embeddings) runs against the fake LLM (``tests/fakes/llm.py``) under each producer, one root
span per call so each call is one trace; then every case is checked in SQL: ``spans.span_type``,
``model``, ``provider``, tokens (the fake's ``usage``), ``inputs``/``outputs``, and the ``messages``
rows in order (role, content, tool calls). Producers, all exporting OTLP/HTTP protobuf:

- ``test_annotrace_autolog``: ``annotrace.openai.autolog()`` (the SDK's provider, tracking URI);
- ``test_openinference``: ``openinference.instrumentation.openai.OpenAIInstrumentor``;
- ``test_otel_genai_openai``: ``opentelemetry-instrumentation-genai-openai`` 1.3b0 on a plain OTel
  SDK ``TracerProvider`` + ``LoggerProvider``. It only has the latest conventions (it ignores
  ``OTEL_SEMCONV_STABILITY_OPT_IN``); content ``span_only``, ``event_only`` (content only in
  ``gen_ai.client.inference.operation.details`` log records, joined to their spans by the
  collector, whether they arrive before or after them) and ``span_and_event`` (no duplicates);
- ``test_otel_legacy_events`` and ``test_mlflow_attributes`` (producers written by hand on plain OTel
  SDK spans): ``test_genai_handwritten_producers.py``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import openai
import pytest
from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInferenceInstrumentor
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor as OTelInstrumentor

import annotrace
from annotrace import tracking
from annotrace.client import rest
from annotrace.openai import instrumentor as autolog_instrumentor
from annotrace.tracing import context
from tests.collector_process import Collector
from tests.e2e.genai_producers import CONTENT_ENV, SEMCONV_ENV, OTel, calls_filter, check, wait_for_log_join
from tests.e2e.genai_workload import run_workload
from tests.instrumentation.collector_sdk import SDK_ENV

# autolog() writes these into os.environ when unset; they are restored afterwards.
AUTOLOG_ENV = (autolog_instrumentor.SEMCONV_ENV, autolog_instrumentor.CONTENT_ENV, autolog_instrumentor.EMIT_EVENT_ENV)


# --- producers ----------------------------------------------------------------------------------


@pytest.fixture
def sdk(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    """Fresh SDK state and environment; autologging off and state reset afterwards."""
    for name in (*SDK_ENV, *AUTOLOG_ENV):
        monkeypatch.setenv(name, "")  # so that monkeypatch restores what autolog() writes
        monkeypatch.delenv(name)
    tracking._reset()
    context._reset()
    rest.close()
    try:
        yield collector
    finally:
        annotrace.openai.autolog(disable=True)
        rest.close()
        tracking._reset()
        context._reset()


@pytest.mark.parametrize("content", [None, "EVENT_ONLY"])  # autolog's default (SPAN_ONLY), or the user's choice
def test_annotrace_autolog(
    sdk: Collector, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch, content: str | None
) -> None:
    if content is not None:
        monkeypatch.setenv(CONTENT_ENV, content)
    annotrace.set_tracking_uri(sdk.web)
    annotrace.set_experiment(f"genai-e2e-{uuid.uuid4().hex[:8]}")
    annotrace.openai.autolog()

    @contextlib.contextmanager
    def root(name: str) -> Iterator[str]:
        with annotrace.start_span(name, span_type="AGENT") as span:
            yield span.trace_id

    calls = run_workload(client, root)
    # the user looks at what they traced (an SDK read exports this process's spans first)
    assert {trace.info.trace_id for trace in annotrace.search_traces(return_type="list")} == {
        call.trace_id for call in calls.values()
    }
    check(sdk, calls, chat_type="CHAT_MODEL", embedding_io=False, from_logs=content is not None)


def test_openinference(otel: OTel, client: openai.OpenAI, collector: Collector) -> None:
    instrumentor = OpenInferenceInstrumentor()
    instrumentor.instrument(tracer_provider=otel.tracer_provider)
    try:
        calls = run_workload(client, otel.root)
    finally:
        instrumentor.uninstrument()
    check(collector, calls, chat_type="LLM", embedding_io=True)


@pytest.mark.parametrize(
    ("opt_in", "content", "late_logs"),
    [
        pytest.param(True, "span_only", False, id="latest"),
        pytest.param(False, "event_only", False, id="events"),  # each log record reaches the collector before its span
        pytest.param(False, "event_only", True, id="events-late"),  # ... or after it
        pytest.param(False, "span_and_event", True, id="span-and-event"),  # content both ways: no duplicate messages
    ],
)
def test_otel_genai_openai(
    otel: OTel,
    client: openai.OpenAI,
    collector: Collector,
    monkeypatch: pytest.MonkeyPatch,
    opt_in: bool,
    content: str,
    late_logs: bool,
) -> None:
    if opt_in:  # what selects the latest conventions in openai-v2; genai-openai always uses them
        monkeypatch.setenv(SEMCONV_ENV, "gen_ai_latest_experimental")
    monkeypatch.setenv(CONTENT_ENV, content)  # read by instrument() (capture) and per call (events)
    logger_provider = otel.late_logger_provider if late_logs else otel.logger_provider
    instrumentor = OTelInstrumentor()
    instrumentor.instrument(tracer_provider=otel.tracer_provider, logger_provider=logger_provider)
    try:
        calls = run_workload(client, otel.root)
    finally:
        instrumentor.uninstrument()
    if content != "span_only":
        if late_logs:  # every span stored before the first log record is sent
            assert collector.sql(f"SELECT count(*) AS n FROM spans WHERE {calls_filter(calls)}") == [{"n": 10}]
            wait_for_log_join(collector, calls, 0)
            logger_provider.force_flush()
        wait_for_log_join(collector, calls, 4)  # one operation.details record per chat call
    from_logs = content == "event_only"
    check(collector, calls, chat_type="CHAT_MODEL", embedding_io=False, from_logs=from_logs)
    if from_logs:  # the spans themselves carried no content
        rows = collector.sql(
            f"SELECT count(*) AS n FROM spans WHERE trace_id = '{calls['plain'].trace_id}' "
            "AND attributes->>'$.\"gen_ai.input.messages\"' IS NOT NULL"
        )
        assert rows == [{"n": 0}]
