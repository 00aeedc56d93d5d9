"""Traceloop's conventions through GenAINormalizeProcessor: decorator spans and OpenLLMetry before 0.55.

The attributes are written as the producers write them, from their sources, for what the real
runs in ``tests/e2e/test_genai_instrumentations_sdks.py`` (the current SDK and OpenLLMetry, and
OpenLLMetry 0.54 on the workload) do not reach: multi-part content, JSON-looking tool results,
the completions API, bad values, and releases before 0.40, which named the counts
``gen_ai.usage.prompt_tokens`` / ``completion_tokens`` (``opentelemetry-semantic-conventions-ai``
``SpanAttributes``). Sources: ``opentelemetry-instrumentation-openai`` 0.54.0
``shared/chat_wrappers.py`` (``_set_prompts``, ``_set_completions``), ``shared/__init__.py``
(``_set_request_attributes``, ``_set_response_attributes``), ``shared/completion_wrappers.py``
and ``embeddings_wrappers.py``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


def openllmetry_054_chat(usage: str) -> dict[str, Any]:
    """A tool-result round trip as 0.54 records it (``usage``: "new" 0.54 names, "old" pre-0.40 names)."""
    attrs: dict[str, Any] = {
        "llm.request.type": "chat",
        "gen_ai.openai.api_base": "http://127.0.0.1:9/v1/",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "llm.headers": "None",
        "llm.is_streaming": False,
        "llm.request.functions.0.name": "get_weather",
        "llm.request.functions.0.parameters": json.dumps({"type": "object"}),
        "gen_ai.prompt.0.role": "system",
        "gen_ai.prompt.0.content": "Be brief.",
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.1.content": json.dumps(
            [{"type": "text", "text": "Weather in"}, {"type": "text", "text": "Paris?"}]
        ),
        "gen_ai.prompt.2.role": "assistant",
        "gen_ai.prompt.2.tool_calls.0.id": "call_1",
        "gen_ai.prompt.2.tool_calls.0.name": "get_weather",
        "gen_ai.prompt.2.tool_calls.0.arguments": '{"city": "Paris"}',
        "gen_ai.prompt.3.role": "tool",
        "gen_ai.prompt.3.content": '{"temp_c": 18}',
        "gen_ai.prompt.3.tool_call_id": "call_1",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.openai.system_fingerprint": "fp_1",
        "gen_ai.prompt.prompt_filter_results": "[]",
        "llm.usage.total_tokens": 30,
        "gen_ai.usage.cache_read_input_tokens": 0,
        "gen_ai.completion.0.finish_reason": "stop",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": "18 degrees.",
    }
    if usage == "new":
        attrs.update({"gen_ai.usage.output_tokens": 3, "gen_ai.usage.input_tokens": 27})
    else:
        attrs.update({"gen_ai.usage.completion_tokens": 3, "gen_ai.usage.prompt_tokens": 27})
    return attrs


@pytest.mark.parametrize("usage", ["new", "old"])
def test_openllmetry_before_055_chat(genai, usage):
    i = genai.add(openllmetry_054_chat(usage), name="openai.chat", kind="CLIENT")
    genai.run()
    row = genai.row(i)
    call = [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]
    assert genai.messages(i) == [
        ("input", 0, "system", "Be brief.", None, None),
        (
            "input",
            1,
            "user",
            "Weather in\nParis?",
            None,
            {"role": "user", "content": [{"type": "text", "text": "Weather in"}, {"type": "text", "text": "Paris?"}]},
        ),
        (
            "input",
            2,
            "assistant",
            None,
            call,
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
        ),
        (
            "input",
            3,
            "tool",
            '{"temp_c": 18}',
            None,  # a tool result that is JSON is still the text
            {"role": "tool", "content": '{"temp_c": 18}', "tool_call_id": "call_1"},
        ),
        (
            "output",
            0,
            "assistant",
            "18 degrees.",
            None,
            {"finish_reason": "stop", "role": "assistant", "content": "18 degrees."},
        ),
    ]
    assert [m["role"] for m in orjson.loads(row.pop("inputs"))] == ["system", "user", "assistant", "tool"]
    assert orjson.loads(row.pop("outputs")) == [
        {"finish_reason": "stop", "role": "assistant", "content": "18 degrees."}
    ]
    assert row == {
        "span_type": "CHAT_MODEL",
        "model": "gpt-4o-2024-08-06",
        "provider": "openai",
        "input_tokens": 27,
        "output_tokens": 3,
        "total_tokens": 30,
        "session_id": None,
        "user_id": None,
        "request_preview": "Weather in\nParis?",
        "response_preview": "18 degrees.",
        "trace_tags": None,
        "trace_metadata": None,
        "normalization_errors": None,
    }


def test_openllmetry_before_055_completion_and_embeddings(genai):
    completion = genai.add(
        {
            "llm.request.type": "completion",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-3.5-turbo-instruct",
            "gen_ai.prompt.0.user": "Say hi",
            "gen_ai.completion.0.finish_reason": "stop",
            "gen_ai.completion.0.content": "hi",
        }
    )
    embedding = genai.add(
        {
            "llm.request.type": "embedding",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "text-embedding-3-small",
            "gen_ai.prompt.0.content": "first",
            "gen_ai.prompt.1.content": "second",
            "gen_ai.usage.input_tokens": 2,
            "llm.usage.total_tokens": 2,
        }
    )
    genai.run()
    assert genai.row(completion)["span_type"] == "LLM"
    assert [m[:4] for m in genai.messages(completion)] == [
        ("input", 0, "user", "Say hi"),
        ("output", 0, "assistant", "hi"),
    ]
    row = genai.row(embedding)
    assert (row["span_type"], row["input_tokens"], row["total_tokens"]) == ("EMBEDDING", 2, 2)
    assert orjson.loads(row["inputs"]) == ["first", "second"]  # texts to embed, not a conversation
    assert genai.messages(embedding) == []


def test_request_types_and_bad_values(genai):
    spans = {t: genai.add({"llm.request.type": t}) for t in ("chat", "completion", "embedding", "rerank", "unknown")}
    odd = genai.add({"llm.request.type": "teleport", "llm.usage.total_tokens": "many"})
    genai.run()
    assert {t: genai.row(i)["span_type"] for t, i in spans.items()} == {
        "chat": "CHAT_MODEL",
        "completion": "LLM",
        "embedding": "EMBEDDING",
        "rerank": "RERANKER",
        "unknown": "UNKNOWN",
    }
    assert genai.row(spans["unknown"])["normalization_errors"] is None
    assert genai.row(odd)["normalization_errors"] == [
        "llm.request.type: unknown request type: 'teleport'",
        "llm.usage.total_tokens: not an integer token count: 'many'",
    ]


def test_current_conventions_win_over_indexed_ones(genai):
    i = genai.add(
        {
            "gen_ai.operation.name": "chat",
            "llm.request.type": "completion",
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "new"}]}]),
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "old",
        }
    )
    genai.run()
    assert genai.row(i)["span_type"] == "CHAT_MODEL"
    assert [m[3] for m in genai.messages(i)] == ["new"]


@pytest.mark.parametrize(
    ("kind", "span_type"), [("workflow", "CHAIN"), ("task", "CHAIN"), ("agent", "AGENT"), ("tool", "TOOL")]
)
def test_decorator_span_kinds(genai, kind, span_type):
    i = genai.add(
        {"traceloop.span.kind": kind, "traceloop.entity.name": "joke", "traceloop.workflow.name": "jokes"},
        name=f"joke.{kind}",
    )
    genai.run()
    assert (genai.row(i)["span_type"], genai.row(i)["normalization_errors"]) == (span_type, None)


@pytest.mark.parametrize(
    ("sent", "inputs"),
    [
        ({"args": ["pirates"], "kwargs": {}}, "pirates"),  # one positional argument: that argument
        ({"args": [], "kwargs": {"topic": "pirates", "n": 2}}, {"topic": "pirates", "n": 2}),  # keywords: named inputs
        (
            {"args": ["pirates"], "kwargs": {"n": 2}},
            {"args": ["pirates"], "kwargs": {"n": 2}},
        ),  # names unknown: as sent
        ({"args": ["MyAgent", "hi"], "kwargs": {}}, {"args": ["MyAgent", "hi"], "kwargs": {}}),
    ],
)
def test_workflow_root_gets_request_response_and_previews(genai, sent, inputs):
    root = genai.add(
        {
            "traceloop.span.kind": "workflow",
            "traceloop.entity.name": "joke_workflow",
            "traceloop.entity.input": json.dumps(sent),
            "traceloop.entity.output": json.dumps("Arr!"),
        },
        name="joke_workflow.workflow",
    )
    genai.run()
    row = genai.row(root)
    assert (row["span_type"], orjson.loads(row["inputs"]), orjson.loads(row["outputs"])) == ("CHAIN", inputs, "Arr!")
    assert (row["request_preview"], row["response_preview"]) == (row["inputs"], '"Arr!"')
    assert row["normalization_errors"] is None


def test_cut_entity_json_is_kept_as_text(genai):
    cut = '{"args": ["a very long', '{"answer": "a very long'
    i = genai.add({"traceloop.span.kind": "task", "traceloop.entity.input": cut[0], "traceloop.entity.output": cut[1]})
    genai.run()
    row = genai.row(i)
    assert (orjson.loads(row["inputs"]), orjson.loads(row["outputs"])) == cut
    assert row["normalization_errors"] is None


def test_explicit_mlflow_wins_over_traceloop(genai):
    i = genai.add(
        {
            "mlflow.spanType": '"RETRIEVER"',
            "mlflow.spanInputs": '{"q": 1}',
            "traceloop.span.kind": "task",
            "traceloop.entity.input": '{"args": [2], "kwargs": {}}',
        }
    )
    genai.run()
    assert (genai.row(i)["span_type"], genai.row(i)["inputs"]) == ("RETRIEVER", '{"q": 1}')


def test_association_properties_are_session_and_user(genai):
    i = genai.add(
        {
            "traceloop.span.kind": "workflow",
            "traceloop.association.properties.session_id": "conv-1",
            "traceloop.association.properties.user_id": "u-1",
            "traceloop.association.properties.customer_id": "c-1",
        }
    )
    genai.run()
    row = genai.row(i)
    assert (row["session_id"], row["user_id"]) == ("conv-1", "u-1")
    assert row["trace_metadata"] == {"mlflow.trace.session": "conv-1", "mlflow.trace.user": "u-1"}
