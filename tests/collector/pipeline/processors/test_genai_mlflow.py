"""MLflow span attributes, trace tags/metadata, previews and precedence."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from annotrace.collector.pipeline.processors.genai import FACTORY, GenAIConfig, GenAINormalizeProcessor

DOCS = [
    {
        "page_content": "Refunds take 5 days.",
        "metadata": {"doc_uri": "https://kb/refunds", "chunk_id": "1"},
        "id": "doc-1",
    },
    {
        "page_content": "Annual plans are prorated.",
        "metadata": {"doc_uri": "https://kb/annual", "score": 0.5},
        "id": None,
    },
    {"content": "no metadata here"},
]
CHAT_IN = {
    "messages": [
        {"role": "system", "content": "You help."},
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "First answer"},
        {"role": "user", "content": [{"type": "text", "text": "Refund policy?"}]},
    ]
}
CHAT_OUT = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "5 days."}}]}


def j(value: Any) -> str:
    return orjson.dumps(value).decode()


def test_retriever_returning_documents(genai):
    i = genai.add(
        {"mlflow.spanType": '"RETRIEVER"', "mlflow.spanInputs": j({"query": "refunds"}), "mlflow.spanOutputs": j(DOCS)}
    )
    genai.run()
    row = genai.row(i)
    assert row["span_type"] == "RETRIEVER"
    assert orjson.loads(row["outputs"]) == DOCS
    assert row["request_preview"] == '{"query":"refunds"}'
    assert row["response_preview"] == j(DOCS)
    assert genai.documents(i) == [
        (0, "doc-1", "Refunds take 5 days.", None, "https://kb/refunds", DOCS[0]["metadata"]),
        (1, None, "Annual plans are prorated.", 0.5, "https://kb/annual", DOCS[1]["metadata"]),
        (2, None, "no metadata here", None, None, None),
    ]
    assert row["normalization_errors"] is None


def test_chat_model_with_token_usage(genai):
    usage = {"input_tokens": 40, "output_tokens": 12, "total_tokens": 52}
    i = genai.add(
        {
            "mlflow.spanType": '"CHAT_MODEL"',
            "mlflow.spanInputs": j({**CHAT_IN, "model": "gpt-4o"}),
            "mlflow.spanOutputs": j(CHAT_OUT),
            "mlflow.chat.tokenUsage": j(usage),
            "mlflow.llm.model": '"gpt-4o"',
            "mlflow.llm.provider": '"openai"',
        }
    )
    genai.run()
    row = genai.row(i)
    assert (row["span_type"], row["model"], row["provider"]) == ("CHAT_MODEL", "gpt-4o", "openai")
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (40, 12, 52)
    assert (row["request_preview"], row["response_preview"]) == ("Refund policy?", "5 days.")
    assert [m[:4] for m in genai.messages(i)] == [
        ("input", 0, "system", "You help."),
        ("input", 1, "user", "First question"),
        ("input", 2, "assistant", "First answer"),
        ("input", 3, "user", "Refund policy?"),
        ("output", 0, "assistant", "5 days."),
    ]


def test_root_chain_previews_of_a_chat_payload(genai):
    i = genai.add(
        {
            "mlflow.spanType": '"CHAIN"',
            "mlflow.spanInputs": j(CHAT_IN),
            "mlflow.spanOutputs": j({"messages": [{"role": "assistant", "content": "5 days."}]}),
        },
        name="agent",
    )
    genai.run()
    row = genai.row(i)
    assert (row["span_type"], row["request_preview"], row["response_preview"]) == ("CHAIN", "Refund policy?", "5 days.")
    assert genai.messages(i) == []  # messages belong to LLM / chat spans only


def test_preview_is_cut_like_mlflow(genai):
    long = "x" * 5000
    i = genai.add(
        {
            "mlflow.spanType": '"CHAIN"',
            "mlflow.spanInputs": j({"messages": [{"role": "user", "content": long}]}),
            "mlflow.spanOutputs": j(long),
        }
    )
    genai.run(preview_max_chars=100)
    row = genai.row(i)
    assert row["request_preview"] == "x" * 97 + "..."
    assert row["response_preview"] == '"' + "x" * 96 + "..."


def test_trace_tags_and_metadata(genai):
    i = genai.add(
        {
            "mlflow.spanType": '"AGENT"',
            "mlflow.traceTag.env": "prod",
            "mlflow.traceTag.team": "search",
            "mlflow.traceMetadata.mlflow.modelId": "m-123",
            "mlflow.traceMetadata.mlflow.trace.user": "alice",
            "mlflow.traceTag.count": 3,
            "session.id": "s-1",
            "user.id": "bob",
        }
    )
    sdk_chat = genai.add(
        {
            "gen_ai.operation.name": "chat",
            "mlflow.traceRequestId": '"tr-x"',
            "mlflow.traceMetadata.mlflow.modelId": "m-123",
        }
    )
    genai.run()
    row = genai.row(i)
    assert row["trace_tags"] == {"env": "prod", "team": "search", "count": "3"}
    assert row["trace_metadata"] == {
        "mlflow.modelId": "m-123",
        "mlflow.trace.user": "alice",
        "mlflow.trace.session": "s-1",
    }
    assert (row["session_id"], row["user_id"]) == ("s-1", "alice")  # explicit MLflow metadata wins
    assert genai.row(sdk_chat)["trace_metadata"] == {"mlflow.modelId": "m-123"}


def test_custom_span_type_is_kept_and_unknown_falls_through(genai):
    custom = genai.add({"mlflow.spanType": '"MY_STEP"'})
    bare = genai.add({"mlflow.spanType": "TOOL"})  # not JSON-encoded: accepted as is
    unknown = genai.add({"mlflow.spanType": '"UNKNOWN"', "openinference.span.kind": "AGENT"})
    genai.run()
    assert [genai.row(k)["span_type"] for k in (custom, bare, unknown)] == ["MY_STEP", "TOOL", "AGENT"]


def test_mlflow_wins_over_openinference_and_otel(genai):
    i = genai.add(
        {
            "mlflow.spanType": '"CHAT_MODEL"',
            "openinference.span.kind": "CHAIN",
            "gen_ai.operation.name": "embeddings",
            "mlflow.spanInputs": j({"q": "mlflow"}),
            "input.value": j({"q": "oi"}),
            "gen_ai.input.messages": j([]),
            "mlflow.llm.model": '"m-mlflow"',
            "llm.model_name": "m-oi",
            "gen_ai.request.model": "m-otel",
            "mlflow.chat.tokenUsage": j({"input_tokens": 1}),
            "llm.token_count.prompt": 2,
            "gen_ai.usage.output_tokens": 3,
        }
    )
    genai.run()
    row = genai.row(i)
    assert (row["span_type"], orjson.loads(row["inputs"]), row["model"]) == ("CHAT_MODEL", {"q": "mlflow"}, "m-mlflow")
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (1, 3, 4)


def test_idempotent(genai):
    i = genai.add({"mlflow.spanType": '"RETRIEVER"', "mlflow.spanOutputs": j(DOCS)})
    genai.run()
    first = (genai.row(i), list(genai.batch.spans.documents))
    genai.run()
    assert (genai.row(i), list(genai.batch.spans.documents)) == first


def test_config_factory_and_lifecycle():
    assert FACTORY.type == "genai" and FACTORY.config is GenAIConfig
    processor = FACTORY.create(GenAIConfig())
    assert isinstance(processor, GenAINormalizeProcessor)
    processor.shutdown()
    processor.start()
    processor.shutdown()
    processor.shutdown()
    assert GenAIConfig() == GenAIConfig(preview_max_chars=1000, max_documents=1000, max_messages=1000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"preview_max_chars": 3}, "preview_max_chars: must be at least 4"),
        ({"max_documents": -1}, "max_documents: must be >= 0"),
        ({"max_messages": -1}, "max_messages: must be >= 0"),
    ],
)
def test_config_validate(kwargs, message):
    config = GenAIConfig(**kwargs)
    with pytest.raises(ValueError, match=message):
        config.validate()
    with pytest.raises(ValueError, match=message):
        GenAINormalizeProcessor(config)


def test_tool_call_message_without_content(genai):
    # OpenAI omits "content" on an assistant message that only calls tools (requests and dumped responses)
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    history = {
        "messages": [
            {"role": "user", "content": "Paris"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]
    }
    i = genai.add(
        {
            "mlflow.spanType": '"CHAT_MODEL"',
            "mlflow.spanInputs": j(history),
            "mlflow.spanOutputs": j(
                {"choices": [{"index": 0, "message": {"role": "assistant", "tool_calls": [call]}}]}
            ),
        }
    )
    genai.run()
    normalized = [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]
    assert [m[:5] for m in genai.messages(i)] == [
        ("input", 0, "user", "Paris", None),
        ("input", 1, "assistant", None, normalized),
        ("input", 2, "tool", "sunny", None),
        ("output", 0, "assistant", None, normalized),
    ]
