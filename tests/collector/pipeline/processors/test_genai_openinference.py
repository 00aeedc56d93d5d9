"""OpenInference attributes (flattened messages and documents) through GenAINormalizeProcessor."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

REQUEST = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
}
RESPONSE = {"id": "chatcmpl-1", "choices": [{"index": 0, "message": {"role": "assistant", "content": None}}]}


def j(value: Any) -> str:
    return orjson.dumps(value).decode()


def llm_attrs() -> dict[str, Any]:
    return {
        "openinference.span.kind": "LLM",
        "llm.system": "openai",
        "llm.provider": "azure",
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "input.value": j(REQUEST),
        "input.mime_type": "application/json",
        "output.value": j(RESPONSE),
        "output.mime_type": "application/json",
        "llm.invocation_parameters": j({"temperature": 0}),
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "Be brief.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.contents.0.message_content.type": "text",
        "llm.input_messages.1.message.contents.0.message_content.text": "Weather in Paris?",
        "llm.input_messages.1.message.contents.1.message_content.type": "image",
        "llm.input_messages.1.message.contents.1.message_content.image.image.url": "https://x/y.png",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"city": "Paris"}',
        "llm.token_count.prompt": 30,
        "llm.token_count.completion": 9,
        "llm.token_count.total": 39,
        "session.id": "sess-1",
        "user.id": "user-7",
    }


def test_llm_span_with_flattened_messages(genai):
    i = genai.add(llm_attrs(), name="ChatCompletion")
    genai.run()
    row = genai.row(i)
    assert orjson.loads(row.pop("inputs")) == REQUEST
    assert orjson.loads(row.pop("outputs")) == RESPONSE
    assert row == {
        "span_type": "LLM",
        "model": "gpt-4o-mini-2024-07-18",
        "provider": "azure",
        "input_tokens": 30,
        "output_tokens": 9,
        "total_tokens": 39,
        "session_id": "sess-1",
        "user_id": "user-7",
        "request_preview": "Weather in Paris?",
        "response_preview": j(RESPONSE),  # no assistant text: the JSON
        "trace_tags": None,
        "trace_metadata": {"mlflow.trace.session": "sess-1", "mlflow.trace.user": "user-7"},
        "normalization_errors": None,
    }
    call = [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]
    got = genai.messages(i)
    assert [m[:5] for m in got] == [
        ("input", 0, "system", "Be brief.", None),
        ("input", 1, "user", "Weather in Paris?", None),
        ("output", 0, "assistant", None, call),
    ]
    assert got[1][5] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "Weather in Paris?"},
            {"type": "image", "image.image.url": "https://x/y.png"},
        ],
    }
    assert got[2][5]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_messages_are_ordered_by_index_not_by_key_order(genai):
    attrs = {"openinference.span.kind": "LLM"}
    for n in (10, 2, 1):
        attrs[f"llm.input_messages.{n}.message.role"] = "user"
        attrs[f"llm.input_messages.{n}.message.content"] = f"m{n}"
    i = genai.add(attrs)
    genai.run()
    assert [m[3] for m in genai.messages(i)] == ["m1", "m2", "m10"]


def test_retriever_span_with_documents(genai):
    attrs = {
        "openinference.span.kind": "RETRIEVER",
        "input.value": "where is paris",
        "retrieval.documents.0.document.id": "d-1",
        "retrieval.documents.0.document.content": "Paris is in France.",
        "retrieval.documents.0.document.score": 0.87,
        "retrieval.documents.0.document.metadata": j({"doc_uri": "https://kb/paris", "chunk_id": "3"}),
        "retrieval.documents.1.document.id": 42,
        "retrieval.documents.1.document.content": "France is in Europe.",
    }
    i = genai.add(attrs)
    genai.run()
    row = genai.row(i)
    assert row["span_type"] == "RETRIEVER"
    assert orjson.loads(row["inputs"]) == "where is paris"
    assert row["request_preview"] == '"where is paris"'
    assert row["outputs"] is None
    assert genai.documents(i) == [
        (0, "d-1", "Paris is in France.", 0.87, "https://kb/paris", {"doc_uri": "https://kb/paris", "chunk_id": "3"}),
        (1, "42", "France is in Europe.", None, None, None),
    ]
    assert row["normalization_errors"] is None


def test_reranker_output_documents(genai):
    i = genai.add(
        {
            "openinference.span.kind": "RERANKER",
            "reranker.model_name": "rerank-v3",
            "reranker.output_documents.0.document.content": "best",
            "reranker.output_documents.0.document.score": 3,
        }
    )
    genai.run()
    assert genai.row(i)["span_type"] == "RERANKER"
    assert genai.row(i)["model"] == "rerank-v3"
    assert genai.documents(i) == [(0, None, "best", 3.0, None, None)]


@pytest.mark.parametrize(
    ("mime", "value", "stored"),
    [
        ("text/plain", '{"a": 1}', '{"a": 1}'),  # text stays text, even if it looks like JSON
        (None, '{"a": 1}', {"a": 1}),  # no mime type: JSON-looking text is JSON
        (None, "{not json", "{not json"),
        ("application/json", "[1, 2]", [1, 2]),
    ],
)
def test_input_value_mime_types(genai, mime, value, stored):
    attrs = {"openinference.span.kind": "CHAIN", "input.value": value}
    if mime:
        attrs["input.mime_type"] = mime
    i = genai.add(attrs)
    genai.run()
    assert orjson.loads(genai.row(i)["inputs"]) == stored
    assert genai.row(i)["normalization_errors"] is None


@pytest.mark.parametrize(
    ("kind", "span_type"),
    [
        ("LLM", "LLM"),
        ("CHAIN", "CHAIN"),
        ("TOOL", "TOOL"),
        ("RETRIEVER", "RETRIEVER"),
        ("EMBEDDING", "EMBEDDING"),
        ("AGENT", "AGENT"),
        ("RERANKER", "RERANKER"),
        ("GUARDRAIL", "GUARDRAIL"),
        ("EVALUATOR", "EVALUATOR"),
        ("PROMPT", "UNKNOWN"),
        ("UNKNOWN", "UNKNOWN"),
        ("llm", "LLM"),
    ],
)
def test_span_kinds(genai, kind, span_type):
    i = genai.add({"openinference.span.kind": kind})
    genai.run()
    assert (genai.row(i)["span_type"], genai.row(i)["normalization_errors"]) == (span_type, None)


def test_openinference_wins_over_otel(genai):
    i = genai.add(
        {
            "openinference.span.kind": "LLM",
            "gen_ai.operation.name": "chat",
            "llm.model_name": "oi-model",
            "gen_ai.request.model": "otel-model",
            "llm.token_count.prompt": 1,
            "gen_ai.usage.input_tokens": 2,
            "gen_ai.usage.output_tokens": 3,
            "session.id": "oi",
            "gen_ai.conversation.id": "otel",
        }
    )
    genai.run()
    row = genai.row(i)
    assert (row["span_type"], row["model"], row["input_tokens"], row["output_tokens"], row["session_id"]) == (
        "LLM",
        "oi-model",
        1,
        3,
        "oi",
    )


def test_chat_payload_gives_messages_when_not_flattened(genai):
    """OPENINFERENCE_HIDE_INPUT_MESSAGES-style spans: messages come from the request JSON."""
    response = {
        "choices": [
            {"message": {"role": "assistant", "content": "Rain."}},
            {"message": {"role": "assistant", "content": "Showers."}},
        ]
    }
    i = genai.add(
        {
            "openinference.span.kind": "LLM",
            "input.value": j(REQUEST),
            "input.mime_type": "application/json",
            "output.value": j(response),
            "output.mime_type": "application/json",
        }
    )
    genai.run()
    assert [m[:4] for m in genai.messages(i)] == [
        ("input", 0, "system", "Be brief."),
        ("input", 1, "user", "Weather in Paris?"),
        ("output", 0, "assistant", "Rain."),
        ("output", 1, "assistant", "Showers."),
    ]
    assert genai.row(i)["response_preview"] == "Rain."  # MLflow previews the first choice
