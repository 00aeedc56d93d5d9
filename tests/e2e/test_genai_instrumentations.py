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
- ``test_otel_legacy_events``: the deprecated ``opentelemetry-instrumentation-openai-v2``'s default
  mode (``gen_ai.system``, per-message ``gen_ai.{role}.message`` / ``gen_ai.choice`` log events)
  cannot be installed next to util-genai 1.3b0, so its spans and events are written with the OTel
  API as its ``message_to_event`` / ``choice_to_event`` build them;
- ``test_mlflow_attributes``: what MLflow's openai autolog records (``mlflow.spanType``,
  ``spanInputs``/``spanOutputs``, ``chat.tokenUsage``, ``llm.model``/``llm.provider``, stream
  chunk events), set by hand on plain OTel SDK spans.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import openai
import pytest
from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInferenceInstrumentor
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor as OTelInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

import annotrace
from annotrace import tracking
from annotrace.client import rest
from annotrace.openai import instrumentor as autolog_instrumentor
from annotrace.tracing import context
from tests.collector_process import Collector
from tests.e2e.genai_workload import Call, run_workload
from tests.fakes.llm import FakeLLM
from tests.instrumentation.collector_sdk import SDK_ENV

# autolog() writes these into os.environ when unset; they are restored afterwards.
AUTOLOG_ENV = (autolog_instrumentor.SEMCONV_ENV, autolog_instrumentor.CONTENT_ENV, autolog_instrumentor.EMIT_EVENT_ENV)

CONTENT_ENV, SEMCONV_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "OTEL_SEMCONV_STABILITY_OPT_IN"


def _arguments(calls: str | None) -> list[dict[str, Any]] | None:
    """Stored tool calls: one shape whatever the producer (OTel objects, OpenAI JSON text)."""
    return None if calls is None else json.loads(calls)  # type: ignore[no-any-return]


def check(
    collector: Collector, calls: dict[str, Call], chat_type: str, embedding_io: bool, from_logs: bool = False
) -> None:
    for case, call in calls.items():
        where = f"trace_id = '{call.trace_id}'"
        expected_messages = len(call.inputs) + len(call.outputs)
        counts = collector.sql(
            f"SELECT (SELECT count(*) FROM spans WHERE {where}) AS spans, "
            f"(SELECT count(*) FROM messages WHERE {where}) AS messages"
        )
        assert counts == [{"spans": 2, "messages": expected_messages}], case
        (span,) = collector.sql(
            "SELECT span_id, span_type, model, provider, input_tokens, output_tokens, total_tokens, "
            "inputs IS NOT NULL AS has_inputs, outputs IS NOT NULL AS has_outputs, normalization_errors "
            f"FROM spans WHERE {where} AND parent_span_id IS NOT NULL"
        )
        embedding = case == "embeddings"
        has_io = embedding_io if embedding else True
        total = call.input_tokens + (call.output_tokens or 0)
        assert span == {
            **span,
            "span_type": "EMBEDDING" if embedding else chat_type,
            "model": call.model,
            "provider": "openai",
            "input_tokens": call.input_tokens,
            "output_tokens": call.output_tokens,
            "total_tokens": total,
            "has_inputs": has_io,
            "has_outputs": has_io,
            "normalization_errors": None,
        }, case
        rows = collector.sql(
            f"SELECT span_id, direction, role, content, tool_calls, log_record_id IS NOT NULL "
            f"AS from_log FROM messages WHERE {where} ORDER BY direction, position"
        )
        got = [(r["direction"], r["role"], r["content"], _arguments(r["tool_calls"])) for r in rows]
        assert got == [("input", *m) for m in call.inputs] + [("output", *m) for m in call.outputs], case
        assert {(r["span_id"], r["from_log"]) for r in rows} <= {(span["span_id"], from_logs)}, case


# --- producers ----------------------------------------------------------------------------------


@dataclass
class OTel:
    """A plain OTel SDK pipeline to the collector's OTLP/HTTP port, under a service of its own."""

    tracer_provider: TracerProvider
    logger_provider: LoggerProvider
    late_logger_provider: LoggerProvider
    """Exports only on ``force_flush``: its log records reach the collector after their spans."""

    @contextlib.contextmanager
    def root(self, name: str) -> Iterator[str]:
        with self.tracer_provider.get_tracer("tests.e2e.genai").start_as_current_span(name) as span:
            yield f"tr-{span.get_span_context().trace_id:032x}"


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


@pytest.fixture
def client() -> Iterator[openai.OpenAI]:
    with FakeLLM() as llm, openai.OpenAI(base_url=llm.base_url, api_key="x") as running:
        yield running


@pytest.fixture
def otel(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> Iterator[OTel]:
    for name in (CONTENT_ENV, SEMCONV_ENV, "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"):
        monkeypatch.delenv(name, raising=False)
    resource = Resource.create({"service.name": f"genai-e2e-{uuid.uuid4().hex[:8]}"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{collector.http}/v1/traces")))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{collector.http}/v1/logs"))
    )
    late_logger_provider = LoggerProvider(resource=resource)
    late_logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{collector.http}/v1/logs"), schedule_delay_millis=600_000)
    )
    yield OTel(tracer_provider, logger_provider, late_logger_provider)
    for provider in (tracer_provider, logger_provider, late_logger_provider):
        provider.shutdown()


def _in(calls: dict[str, Call]) -> str:
    return "trace_id IN (" + ", ".join(f"'{call.trace_id}'" for call in calls.values()) + ")"


def wait_for_log_join(collector: Collector, calls: dict[str, Call], records: int) -> None:
    """The GenAI log records of ``calls`` are stored and none waits for its span any more (a read
    sees every export acknowledged before it: no polling)."""
    expected = [{"records": records, "pending": 0}]
    got = collector.sql(
        f"SELECT (SELECT count(*) FROM log_records WHERE {_in(calls)}) AS records, "
        f"(SELECT count(*) FROM genai_log_events_pending WHERE {_in(calls)}) AS pending"
    )
    assert got == expected


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
            assert collector.sql(f"SELECT count(*) AS n FROM spans WHERE {_in(calls)}") == [{"n": 10}]
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


# --- hand-written producers: openai-v2's legacy events, MLflow's attributes -----------------------


def _shim(chat: Callable[..., Any], embed: Callable[..., Any]) -> Any:
    """An object shaped like ``openai.OpenAI`` for ``run_workload``."""
    return SimpleNamespace(
        chat=SimpleNamespace(completions=SimpleNamespace(create=chat)), embeddings=SimpleNamespace(create=embed)
    )


def _final(result: Any) -> tuple[Any, Any, Any]:
    """(what the workload gets back, the message, the usage) of a chat result, stream or not."""
    if not isinstance(result, openai.Stream):
        return result, result.choices[0].message, result.usage
    chunks = list(result)
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    text = "".join(d.content or "" for d in deltas)
    return chunks, SimpleNamespace(role="assistant", content=text, tool_calls=None), chunks[-1].usage


def legacy_v2_client(client: openai.OpenAI, otel: OTel) -> Any:
    """openai-v2 2.4b0 without the opt-in: ``chat {model}`` spans, content as per-message log events."""
    tracer = otel.tracer_provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    logger = otel.logger_provider.get_logger("opentelemetry.instrumentation.openai_v2")
    system = {"gen_ai.system": "openai"}

    def tool_calls(message: Any) -> list[dict[str, Any]] | None:
        calls = message.get("tool_calls") if isinstance(message, dict) else message.tool_calls
        return (
            [
                {"id": c["id"], "type": "function", "function": c["function"]}
                for c in (c if isinstance(c, dict) else c.model_dump() for c in calls)
            ]
            if calls
            else None
        )

    def chat(**kwargs: Any) -> Any:
        with tracer.start_as_current_span(
            f"chat {kwargs['model']}",
            kind=SpanKind.CLIENT,
            attributes={"gen_ai.operation.name": "chat", **system, "gen_ai.request.model": kwargs["model"]},
        ) as span:
            for message in kwargs["messages"]:
                body = {"content": message["content"]} if message.get("content") else {}
                if message["role"] == "assistant" and tool_calls(message):
                    body = {"tool_calls": tool_calls(message)}
                elif message["role"] == "tool":
                    body["id"] = message["tool_call_id"]
                logger.emit(
                    LogRecord(event_name=f"gen_ai.{message['role']}.message", attributes=system, body=body or None)
                )
            returned, message, usage = _final(client.chat.completions.create(**kwargs))
            finish = "tool_calls" if message.tool_calls else "stop"
            span.set_attributes(
                {
                    "gen_ai.response.model": kwargs["model"],
                    "gen_ai.response.finish_reasons": [finish],
                    "gen_ai.usage.input_tokens": usage.prompt_tokens,
                    "gen_ai.usage.output_tokens": usage.completion_tokens,
                }
            )
            out: dict[str, Any] = {
                "role": "assistant",
                **({"tool_calls": tool_calls(message)} if message.tool_calls else {"content": message.content}),
            }
            logger.emit(
                LogRecord(
                    event_name="gen_ai.choice",
                    attributes=system,
                    body={"index": 0, "finish_reason": finish, "message": out},
                )
            )
            return returned

    def embed(**kwargs: Any) -> Any:
        with tracer.start_as_current_span(
            f"embeddings {kwargs['model']}",
            kind=SpanKind.CLIENT,
            attributes={"gen_ai.operation.name": "embeddings", **system, "gen_ai.request.model": kwargs["model"]},
        ) as span:
            result = client.embeddings.create(**kwargs)
            span.set_attributes(
                {"gen_ai.response.model": result.model, "gen_ai.usage.input_tokens": result.usage.prompt_tokens}
            )
            return result

    return _shim(chat, embed)


def mlflow_client(client: openai.OpenAI, otel: OTel) -> Any:
    """MLflow's openai autolog: ``Completions`` / ``Embeddings`` spans with JSON-valued MLflow attributes."""
    tracer = otel.tracer_provider.get_tracer("mlflow.openai")

    def span(name: str, span_type: str, kwargs: dict[str, Any], call: Callable[..., Any]) -> Any:
        with tracer.start_as_current_span(
            name,
            attributes={
                "mlflow.spanType": json.dumps(span_type),
                "mlflow.spanInputs": json.dumps(kwargs),
                "mlflow.llm.model": json.dumps(kwargs["model"]),
                "mlflow.llm.provider": json.dumps("openai"),
            },
        ) as live:
            returned, outputs, usage = call(live)
            live.set_attribute("mlflow.spanOutputs", json.dumps(outputs))
            tokens = {"input_tokens": usage.prompt_tokens, "total_tokens": usage.total_tokens}
            if getattr(usage, "completion_tokens", None) is not None:
                tokens["output_tokens"] = usage.completion_tokens
            live.set_attribute("mlflow.chat.tokenUsage", json.dumps(tokens))
            return returned

    def chat(**kwargs: Any) -> Any:
        def call(live: Any) -> tuple[Any, Any, Any]:
            result = client.chat.completions.create(**kwargs)
            if not isinstance(result, openai.Stream):
                return result, result.model_dump(exclude_none=True), result.usage
            returned, message, usage = _final(result)
            for index, chunk in enumerate(returned):  # MLflow: one event per chunk, then the rebuilt completion
                live.add_event(f"mlflow.chunk.item.{index}", {"mlflow.chunk.value": chunk.model_dump_json()})
            completion = {
                "id": returned[0].id,
                "object": "chat.completion",
                "model": kwargs["model"],
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": message.content}, "finish_reason": "stop"}
                ],
            }
            return returned, completion, usage

        return span("Completions", "CHAT_MODEL", kwargs, call)

    def embed(**kwargs: Any) -> Any:
        def call(live: Any) -> tuple[Any, Any, Any]:
            result = client.embeddings.create(**kwargs)
            return result, result.model_dump(), result.usage

        return span("Embeddings", "EMBEDDING", kwargs, call)

    return _shim(chat, embed)


def test_otel_legacy_events(otel: OTel, client: openai.OpenAI, collector: Collector) -> None:
    calls = run_workload(legacy_v2_client(client, otel), otel.root)
    wait_for_log_join(collector, calls, 11)  # one record per message sent, one per choice
    check(collector, calls, chat_type="CHAT_MODEL", embedding_io=False, from_logs=True)
    # the rebuilt inputs/outputs: [{role, content, tool_calls?}] in message order
    (span,) = collector.sql(
        f"SELECT inputs, outputs FROM spans WHERE trace_id = '{calls['tool_result'].trace_id}' "
        "AND parent_span_id IS NOT NULL"
    )
    assert [m["role"] for m in json.loads(span["inputs"])] == ["user", "assistant", "tool"]
    assert json.loads(span["outputs"]) == [{"role": "assistant", "content": "Fake answer to: Paris. Tool said: sunny"}]


def test_mlflow_attributes(otel: OTel, client: openai.OpenAI, collector: Collector) -> None:
    calls = run_workload(mlflow_client(client, otel), otel.root)
    check(collector, calls, chat_type="CHAT_MODEL", embedding_io=True)
    chunks = collector.sql(
        f"SELECT count(*) AS n FROM span_events WHERE trace_id = '{calls['stream'].trace_id}' "
        "AND name LIKE 'mlflow.chunk.item.%'"
    )
    assert chunks[0]["n"] > 3
