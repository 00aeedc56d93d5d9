"""Logfire's first OpenAI format (``request_data`` / ``response_data``) through GenAINormalizeProcessor.

Logfire 5.6 runs for real in ``tests/e2e/test_genai_instrumentations_sdks.py``; these spans add
what that run cannot show: releases before the ``gen_ai.*`` attributes (only the JSON), the
completions API, and values that are not what they should be.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

REQUEST = {
    "model": "gpt-4o",
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
    "tools": [],
}
MESSAGE = {
    "content": None,
    "refusal": None,
    "role": "assistant",
    "annotations": None,
    "audio": None,
    "function_call": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    ],
}


def logfire_span(request: Any, response: Any, **extra: Any) -> dict[str, Any]:
    """What an older Logfire records: the JSON and its own ``logfire.*`` keys, no ``gen_ai.*``."""
    return {
        "logfire.msg_template": "Chat Completion with {request_data[model]!r}",
        "logfire.msg": "Chat Completion with 'gpt-4o'",
        "logfire.span_type": "span",
        "logfire.json_schema": "{}",
        "code.function": "create",
        "request_data": json.dumps(request),
        "response_data": json.dumps(response),
        **extra,
    }


def test_chat_from_the_json_alone(genai):
    usage = {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
    i = genai.add(logfire_span(REQUEST, {"message": MESSAGE, "usage": usage}))
    genai.run()
    row = genai.row(i)
    assert orjson.loads(row.pop("inputs")) == REQUEST
    outputs = row.pop("outputs")
    assert orjson.loads(outputs) == {"message": MESSAGE, "usage": usage}
    assert row == {
        "span_type": "CHAT_MODEL",
        "model": "gpt-4o",
        "provider": None,
        "input_tokens": 12,
        "output_tokens": 4,
        "total_tokens": 16,
        "session_id": None,
        "user_id": None,
        "request_preview": "Weather in Paris?",
        "response_preview": outputs,
        "trace_tags": None,
        "trace_metadata": None,
        "normalization_errors": None,
    }
    call = [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]
    assert [m[:5] for m in genai.messages(i)] == [
        ("input", 0, "system", "Be brief.", None),
        ("input", 1, "user", "Weather in Paris?", None),
        ("output", 0, "assistant", None, call),
    ]


def test_gen_ai_attributes_win_and_completions_and_streams(genai):
    chat = genai.add(
        logfire_span(
            REQUEST,
            {
                "message": {"role": "assistant", "content": "Sunny."},
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            },
            **{
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 12,
            },
        )
    )
    completion = genai.add(
        logfire_span({"model": "davinci", "prompt": "Say hi"}, {"finish_reason": "stop", "text": "hi", "usage": None})
    )
    stream = genai.add(
        logfire_span(
            {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
            {"combined_chunk_content": "chunked", "chunk_count": 2},
        )
    )
    genai.run()
    assert [genai.row(chat)[k] for k in ("model", "provider", "input_tokens", "output_tokens")] == [
        "gpt-4o-2024-08-06",
        "openai",
        12,
        1,
    ]
    assert genai.messages(chat)[-1][:4] == ("output", 0, "assistant", "Sunny.")
    assert genai.row(completion)["span_type"] == "LLM"
    assert [m[:4] for m in genai.messages(completion)] == [
        ("input", 0, "user", "Say hi"),
        ("output", 0, "assistant", "hi"),
    ]
    assert genai.messages(stream)[-1][:4] == ("output", 0, "assistant", "chunked")


def test_request_data_without_logfire_is_not_read(genai):
    i = genai.add({"request_data": json.dumps(REQUEST)})
    genai.run()
    assert genai.row(i) == {**dict.fromkeys(genai.row(i)), "span_type": "UNKNOWN"}


def test_bad_json_is_an_error_not_a_failure(genai):
    i = genai.add({**logfire_span(REQUEST, {}), "request_data": "{not json", "response_data": json.dumps([1])})
    genai.run()
    row = genai.row(i)
    assert row["normalization_errors"] == ["request_data: invalid JSON: '{not json'"]
    assert (row["inputs"], row["outputs"], genai.messages(i)) == (None, "[1]", [])


def test_anthropic_system_parameter_and_usage(genai):
    request = {
        "model": "claude-3-5-haiku",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    }
    response = {
        "message": {"role": "assistant", "content": "Hello."},
        "usage": {"input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": 0},
    }
    i = genai.add(logfire_span(request, response, **{"gen_ai.system": "anthropic"}))
    genai.run()
    assert [m[:4] for m in genai.messages(i)] == [
        ("input", 0, "system", "Be brief."),
        ("input", 1, "user", "Hi"),
        ("output", 0, "assistant", "Hello."),
    ]
    row = genai.row(i)
    assert (row["provider"], row["input_tokens"], row["output_tokens"], row["total_tokens"]) == ("anthropic", 5, 2, 7)
