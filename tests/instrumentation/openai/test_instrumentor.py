"""``annotrace.openai.autolog()``: OpenAI calls become GenAI child spans of the active ``@trace`` span.

The LLM is the local fake (``tests/fakes/llm.py``); spans are read back from a real OTLP/HTTP sink.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

import annotrace
from annotrace.openai import instrumentor
from tests.fakes.llm import ERROR_MODEL, FakeLLM, answer_for, count_tokens
from tests.fakes.otlp_sink import OTLPSink, SinkSpan

Runner = Callable[..., subprocess.CompletedProcess[str]]

SEED_000_APP = """
    import json
    import os
    from typing import Dict, List

    import openai

    import annotrace as mlflow
    from annotrace.entities import Document

    mlflow.openai.autolog()
    mlflow.set_tracking_uri(os.environ["SINK_URL"])
    mlflow.set_experiment("/Shared/docs-demo")
    client = openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="x")
    model_name = "gpt-4o-mini"


    @mlflow.trace(span_type="RETRIEVER")
    def retrieve_docs(query: str) -> List[Document]:
        normalized_query = query.lower()
        if "john doe" in normalized_query:
            return [
                Document(
                    id="conversation_123",
                    page_content="John Doe mentioned issues with login on July 10th. Expressed interest in feature X.",
                    metadata={"doc_uri": "http://domain.com/conversations/123"},
                ),
                Document(
                    id="conversation_124",
                    page_content="Follow-up call with John Doe on July 12th. Login issue resolved. Discussed pricing for feature X.",
                    metadata={"doc_uri": "http://domain.com/conversations/124"},
                ),
            ]
        return [
            Document(
                id="ticket_987",
                page_content="Acme Corp raised a critical P0 bug regarding their main dashboard on July 15th.",
                metadata={"doc_uri": "http://domain.com/tickets/987"},
            )
        ]


    @mlflow.trace
    def my_app(messages: List[Dict[str, str]]):
        last_user_message_content = messages[-1]["content"]
        retrieved_documents = retrieve_docs(query=last_user_message_content)
        retrieved_docs_text = "\\n".join([doc.page_content for doc in retrieved_documents])
        messages_for_llm = [
            {"role": "system", "content": "You are a helpful assistant!"},
            {
                "role": "user",
                "content": f"Additional retrieved context:\\n{retrieved_docs_text}\\n\\nNow, please provide the one-paragraph summary based on the user's request {last_user_message_content} and this retrieved context.",
            },
        ]
        return client.chat.completions.create(model=model_name, messages=messages_for_llm)


    tracked_model = mlflow.set_active_model(name="my_app")
    summary1_output = my_app([{"role": "user", "content": "what issues does john doe have?"}])
    print(json.dumps({
        "model_id": tracked_model.model_id,
        "trace_id": mlflow.get_last_active_trace_id(),
        "answer": summary1_output.choices[0].message.content,
    }))
"""


def test_seed_000_app(run_script: Runner, sink: OTLPSink, llm: FakeLLM) -> None:
    result = run_script(SEED_000_APP, env={"SINK_URL": sink.url, "LLM_BASE_URL": llm.base_url})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    by_name = {span.name: span for span in sink.spans()}
    assert set(by_name) == {"my_app", "retrieve_docs", "chat gpt-4o-mini"}
    root, retriever, chat = by_name["my_app"], by_name["retrieve_docs"], by_name["chat gpt-4o-mini"]

    # One trace, the one the app reported; root plus two children.
    assert report["trace_id"] == f"tr-{root.trace_id}"
    assert {span.trace_id for span in by_name.values()} == {root.trace_id}
    assert root.parent_span_id == ""
    assert retriever.parent_span_id == root.span_id
    assert chat.parent_span_id == root.span_id

    # Routing and version tracking on every span.
    for span in by_name.values():
        assert span.headers["x-annotrace-experiment"] == "/Shared/docs-demo"
        assert span.attributes["mlflow.traceMetadata.mlflow.modelId"] == report["model_id"]
        assert span.attributes["mlflow.traceRequestId"] == json.dumps(report["trace_id"])

    # The retriever span: MLflow type and the documents as a JSON list of dicts.
    assert retriever.attributes["mlflow.spanType"] == '"RETRIEVER"'
    assert retriever.json_attr("mlflow.spanInputs") == {"query": "what issues does john doe have?"}
    documents = retriever.json_attr("mlflow.spanOutputs")
    assert [doc["id"] for doc in documents] == ["conversation_123", "conversation_124"]
    assert [list(doc) for doc in documents] == [["page_content", "metadata", "id"]] * 2
    assert documents[0]["metadata"] == {"doc_uri": "http://domain.com/conversations/123"}

    # The root records the messages in and the ChatCompletion out.
    assert root.json_attr("mlflow.spanInputs") == {
        "messages": [{"role": "user", "content": "what issues does john doe have?"}]
    }
    outputs = root.json_attr("mlflow.spanOutputs")
    assert outputs["choices"][0]["message"]["content"] == report["answer"]
    assert root.status_code == Status.STATUS_CODE_OK

    # The chat span: GenAI semantic conventions, content and token usage.
    sent = llm.requests[-1]["body"]["messages"]
    assert chat.kind == Span.SPAN_KIND_CLIENT
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert (chat.attributes.get("gen_ai.provider.name") or chat.attributes.get("gen_ai.system")) == "openai"
    assert chat.attributes["gen_ai.usage.input_tokens"] == sum(count_tokens(m["content"]) for m in sent)
    assert chat.attributes["gen_ai.usage.output_tokens"] == count_tokens(answer_for(sent))
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    input_messages = json.loads(chat.attributes["gen_ai.input.messages"])
    assert "John Doe mentioned issues with login" in json.dumps(input_messages)
    output_messages = json.loads(chat.attributes["gen_ai.output.messages"])
    assert output_messages[0]["parts"][0]["content"] == report["answer"]


@pytest.fixture
def client(sdk: OTLPSink, llm: FakeLLM) -> Iterator[openai.OpenAI]:
    """Autologging on for one test (environment restored by ``clean_env``), off afterwards."""
    annotrace.openai.autolog()
    try:
        with openai.OpenAI(base_url=llm.base_url, api_key="x") as openai_client:
            yield openai_client
    finally:
        annotrace.openai.autolog(disable=True)


def spans_by_name(sink: OTLPSink, count: int) -> dict[str, SinkSpan]:
    annotrace.flush_trace_async_logging()
    received = sink.wait_for_spans(count)
    assert len(received) == count, [span.name for span in received]
    return {span.name: span for span in received}


def test_autolog_sets_content_capture_env_only_when_unset(client: openai.OpenAI) -> None:
    import os

    assert os.environ[instrumentor.CONTENT_ENV] == "SPAN_ONLY"
    assert os.environ[instrumentor.SEMCONV_ENV] == "gen_ai_latest_experimental"


def test_streaming_with_usage(client: openai.OpenAI, sdk: OTLPSink) -> None:
    @annotrace.trace(span_type="AGENT")
    def answer(question: str) -> str:
        stream = client.chat.completions.create(
            model="stream-model",
            messages=[{"role": "user", "content": question}],
            stream=True,
            stream_options={"include_usage": True},
        )
        return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    text = answer("tell me about streams")
    spans = spans_by_name(sdk, 2)
    chat, root = spans["chat stream-model"], spans["answer"]
    assert chat.parent_span_id == root.span_id
    assert chat.attributes["gen_ai.request.stream"] is True
    assert chat.attributes["gen_ai.usage.input_tokens"] == 4
    assert chat.attributes["gen_ai.usage.output_tokens"] == count_tokens(text)
    assert json.loads(chat.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"] == text
    assert root.json_attr("mlflow.spanOutputs") == text


def test_tool_calls(client: openai.OpenAI, sdk: OTLPSink) -> None:
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    with annotrace.start_span("agent", span_type="AGENT"):
        response = client.chat.completions.create(
            model="tool-model", messages=[{"role": "user", "content": "Paris"}], tools=tools
        )
    call = response.choices[0].message.tool_calls[0]  # type: ignore[index]
    chat = spans_by_name(sdk, 2)["chat tool-model"]
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]
    (part,) = json.loads(chat.attributes["gen_ai.output.messages"])[0]["parts"]
    assert (part["type"], part["name"], part["id"], part["arguments"]) == (
        "tool_call",
        "get_weather",
        call.id,
        {"city": "Paris"},
    )
    assert json.loads(chat.attributes["gen_ai.tool.definitions"])[0]["name"] == "get_weather"


def test_embeddings(client: openai.OpenAI, sdk: OTLPSink) -> None:
    with annotrace.start_span("index", span_type="EMBEDDING"):
        result = client.embeddings.create(model="embed-model", input=["first text", "second"])
    assert len(result.data) == 2
    span = spans_by_name(sdk, 2)["embeddings embed-model"]
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.usage.input_tokens"] == 3
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 8


def test_async_client(sdk: OTLPSink, llm: FakeLLM, client: openai.OpenAI) -> None:
    @annotrace.trace
    async def ask(question: str) -> str | None:
        async with openai.AsyncOpenAI(base_url=llm.base_url, api_key="x") as async_client:
            response = await async_client.chat.completions.create(
                model="async-model", messages=[{"role": "user", "content": question}]
            )
        return response.choices[0].message.content

    assert asyncio.run(ask("hello async")) == "Fake answer to: hello async."
    spans = spans_by_name(sdk, 2)
    assert spans["chat async-model"].parent_span_id == spans["ask"].span_id


def test_llm_error_marks_both_spans(client: openai.OpenAI, sdk: OTLPSink) -> None:
    @annotrace.trace
    def app() -> None:
        client.chat.completions.create(model=ERROR_MODEL, messages=[{"role": "user", "content": "x"}])

    with pytest.raises(openai.BadRequestError):
        app()
    spans = spans_by_name(sdk, 2)
    chat, root = spans[f"chat {ERROR_MODEL}"], spans["app"]
    assert chat.status_code == Status.STATUS_CODE_ERROR
    assert chat.attributes["error.type"].endswith("BadRequestError")
    assert root.status_code == Status.STATUS_CODE_ERROR
    assert root.events[0][1]["exception.type"] == "openai.BadRequestError"


def test_user_content_setting_is_respected(sdk: OTLPSink, llm: FakeLLM, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(instrumentor.CONTENT_ENV, "NO_CONTENT")
    annotrace.openai.autolog()
    try:
        with openai.OpenAI(base_url=llm.base_url, api_key="x") as plain:
            plain.chat.completions.create(model="private", messages=[{"role": "user", "content": "secret"}])
    finally:
        annotrace.openai.autolog(disable=True)
    chat = spans_by_name(sdk, 1)["chat private"]
    assert "gen_ai.input.messages" not in chat.attributes
    assert chat.attributes["gen_ai.usage.input_tokens"] == 1


def test_disable_stops_tracing(client: openai.OpenAI, sdk: OTLPSink) -> None:
    annotrace.openai.autolog()  # a second call is a no-op
    annotrace.openai.autolog(disable=True)
    client.chat.completions.create(model="untraced", messages=[{"role": "user", "content": "x"}])
    annotrace.flush_trace_async_logging()
    assert sdk.spans() == []


def test_falls_back_to_openai_v2(run_script: Runner, sink: OTLPSink, llm: FakeLLM) -> None:
    # openai-v2 2.4b0 cannot import next to opentelemetry-util-genai >= 1.0 (which the newer
    # package needs): then there is nothing to fall back to, and this test has nothing to check.
    pytest.importorskip("opentelemetry.instrumentation.openai_v2", exc_type=ImportError)
    result = run_script(
        """
        import os, sys
        sys.modules["opentelemetry.instrumentation.genai.openai"] = None  # as if not installed
        import openai
        import annotrace

        annotrace.openai.autolog()
        annotrace.set_tracking_uri(os.environ["SINK_URL"])
        client = openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="x")
        with annotrace.start_span("root"):
            client.chat.completions.create(model="v2-model", messages=[{"role": "user", "content": "hi v2"}])
        """,
        env={"SINK_URL": sink.url, "LLM_BASE_URL": llm.base_url},
    )
    assert result.returncode == 0, result.stderr
    by_name = {span.name: span for span in sink.spans()}
    chat = by_name["chat v2-model"]
    assert chat.scope != "opentelemetry.instrumentation.genai.openai"
    assert chat.parent_span_id == by_name["root"].span_id
    assert chat.attributes["gen_ai.usage.input_tokens"] == 2
    assert "hi v2" in chat.attributes.get("gen_ai.input.messages", "") or sink.received("/v1/logs")


def test_prefers_the_newer_instrumentation(client: openai.OpenAI, sdk: OTLPSink) -> None:
    pytest.importorskip("opentelemetry.instrumentation.genai.openai")
    client.chat.completions.create(model="new", messages=[{"role": "user", "content": "x"}])
    assert spans_by_name(sdk, 1)["chat new"].scope == "opentelemetry.instrumentation.genai.openai"


def test_needs_openai_installed(run_script: Runner) -> None:
    result = run_script(
        """
        import sys
        sys.modules["openai"] = None
        import annotrace
        try:
            annotrace.openai.autolog()
        except ImportError as error:
            print("ImportError:", error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "needs the openai package" in result.stdout


def test_missing_instrumentation_is_explained(run_script: Runner) -> None:
    result = run_script(
        """
        import sys
        sys.modules["opentelemetry.instrumentation.genai.openai"] = None
        sys.modules["opentelemetry.instrumentation.openai_v2"] = None
        import annotrace
        annotrace.openai.autolog(disable=True)  # nothing installed, nothing to turn off: no error
        try:
            annotrace.openai.autolog()
        except ImportError as error:
            print("ImportError:", error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "pip install opentelemetry-instrumentation-genai-openai" in result.stdout
    assert "Tried: opentelemetry.instrumentation.genai.openai" in result.stdout


def test_content_dialects() -> None:
    assert instrumentor.content_capture_value(latest_conventions=True) == "SPAN_ONLY"
    assert instrumentor.content_capture_value(latest_conventions=False) == "true"


def test_log_events_only_when_content_travels_as_events(clean_env: pytest.MonkeyPatch) -> None:
    assert instrumentor.emits_log_events(latest_conventions=False) is True
    assert instrumentor.emits_log_events(latest_conventions=True) is False
    clean_env.setenv(instrumentor.CONTENT_ENV, "span_and_event")
    assert instrumentor.emits_log_events(latest_conventions=True) is True
    clean_env.setenv(instrumentor.CONTENT_ENV, "SPAN_ONLY")
    clean_env.setenv(instrumentor.EMIT_EVENT_ENV, "true")
    assert instrumentor.emits_log_events(latest_conventions=True) is True
