"""The Review App shows the user's question in the request bubble whoever produced the trace.

A plain OpenTelemetry SDK app writes OTel GenAI ``parts`` messages (``gen_ai.input.messages``),
OpenInference and OTel's OpenAI instrumentation trace the real ``openai`` client (against the
fake LLM), and the stock MLflow client writes ``{"messages": [{"role", "content"}]}``. Each chat
call is a trace of its own (its model span is the root, as in an app with no outer span), all are
put in one MLflow review queue, and a labeler reads each in Chromium: the USER bubble holds the
question and the ASSISTANT bubble the answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest
from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInferenceInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor as OTelInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from playwright.sync_api import Page, expect

from tests.collector_process import Collector
from tests.fakes.llm import FakeLLM
from tests.web.conftest import sign_in

CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
MLFLOW_APP = textwrap.dedent("""
    import sys
    import mlflow

    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment(experiment_id=sys.argv[2])

    @mlflow.trace(span_type="CHAT_MODEL")
    def chat(messages):
        return {"choices": [{"message": {"role": "assistant", "content": "Paris, says MLflow."}}]}

    chat([{"role": "user", "content": "Capital of France, asked through MLflow?"}])
    print(mlflow.get_last_active_trace_id())
""")


@pytest.fixture
def experiment_id(collector: Collector) -> str:
    made = httpx.post(
        f"{collector.web}/api/2.0/mlflow/experiments/create", json={"name": f"chat-sources-{uuid.uuid4().hex[:8]}"}
    )
    return str(made.json()["experiment_id"])


@pytest.fixture
def tracer_provider(collector: Collector, experiment_id: str) -> Iterator[TracerProvider]:
    provider = TracerProvider(resource=Resource.create({"service.name": "chat-sources"}))
    provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=f"{collector.http}/v1/traces", headers={"x-mlflow-experiment-id": experiment_id})
        )
    )
    yield provider
    provider.shutdown()


def plain_otel_app(provider: TracerProvider) -> str:
    """What an app instrumented by hand with the OTel GenAI conventions sends."""
    tracer = provider.get_tracer("chat-app")
    with tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.provider.name": "openai",
                "gen_ai.input.messages": json.dumps(
                    [
                        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
                        {
                            "role": "user",
                            "parts": [{"type": "text", "content": "Capital of France, asked with OTel parts?"}],
                        },
                    ]
                ),
                "gen_ai.output.messages": json.dumps(
                    [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": "Paris, in parts."}],
                            "finish_reason": "stop",
                        }
                    ]
                ),
            }
        )
        return f"tr-{span.get_span_context().trace_id:032x}"


class RootSpans(SpanProcessor):
    """Remembers the trace id of each root span that ends (the instrumentations make the spans)."""

    def __init__(self) -> None:
        self.trace_ids: list[str] = []

    def on_end(self, span: ReadableSpan) -> None:
        if span.parent is None and span.context is not None:
            self.trace_ids.append(f"tr-{span.context.trace_id:032x}")


def instrumented_call(
    provider: TracerProvider, instrumentor: OpenInferenceInstrumentor | OTelInstrumentor, question: str
) -> str:
    """One chat completion of the real openai client under ``instrumentor``; its trace id."""
    seen = RootSpans()
    provider.add_span_processor(seen)
    instrumentor.instrument(tracer_provider=provider)
    try:
        with FakeLLM() as llm, openai.OpenAI(base_url=llm.base_url, api_key="x") as client:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
    finally:
        instrumentor.uninstrument()
    return seen.trace_ids[-1]


def test_the_request_bubble_shows_the_question_for_every_producer(
    collector: Collector,
    experiment_id: str,
    tracer_provider: TracerProvider,
    page: Page,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CONTENT_ENV, "span_only")
    questions = {plain_otel_app(tracer_provider): "Capital of France, asked with OTel parts?"}
    for instrumentor, question in (
        (OpenInferenceInstrumentor(), "Capital of France, asked via OpenInference?"),
        (OTelInstrumentor(), "Capital of France, asked via the OTel instrumentation?"),
    ):
        questions[instrumented_call(tracer_provider, instrumentor, question)] = question
    ran = subprocess.run(
        [sys.executable, "-c", MLFLOW_APP, collector.web, experiment_id], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    questions[ran.stdout.strip().splitlines()[-1]] = "Capital of France, asked through MLflow?"

    with httpx.Client(base_url=collector.web, timeout=30) as api:
        queue = api.post(
            "/api/3.0/mlflow/review-queues/create",
            json={"experiment_id": experiment_id, "name": "Chats", "queue_type": "CUSTOM", "users": ["rita"]},
        )
        queue_id = queue.json()["review_queue"]["queue_id"]
        added = api.post(
            "/api/3.0/mlflow/review-queues/items/add", json={"queue_id": queue_id, "item_ids": list(questions)}
        )
        assert added.status_code == 200, added.text

    sign_in(page, "rita", f"/review/{queue_id}")
    for trace_id, question in questions.items():
        page.goto(f"/review/{queue_id}?item={trace_id}")
        request = page.locator("section[aria-labelledby=request-title]")
        expect(request.locator(".bubble.role-user .text")).to_have_text(question)
        expect(
            page.locator("section[aria-labelledby=response-title] .bubble.role-assistant .text").first
        ).not_to_be_empty()
