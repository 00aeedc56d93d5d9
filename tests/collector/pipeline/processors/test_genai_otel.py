"""OTel GenAI conventions, current and deprecated, through GenAINormalizeProcessor."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

SYSTEM = [{"type": "text", "content": "You are terse."}]
INPUT = [
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    {
        "role": "assistant",
        "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}],
    },
    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "rainy, 57F"}]},
    {"role": "user", "parts": [{"type": "text", "content": "And tomorrow?"}]},
]
OUTPUT = [{"role": "assistant", "parts": [{"type": "text", "content": "Sunny."}], "finish_reason": "stop"}]


def j(value: Any) -> str:
    return orjson.dumps(value).decode()


def chat_attrs(structured: bool) -> dict[str, Any]:
    encode = (lambda v: v) if structured else j
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.conversation.id": "conv-9",
        "gen_ai.system_instructions": encode(SYSTEM),
        "gen_ai.input.messages": encode(INPUT),
        "gen_ai.output.messages": encode(OUTPUT),
    }


@pytest.mark.parametrize("structured", [False, True], ids=["json-string", "structured"])
def test_chat_span_new_conventions(genai, structured):
    i = genai.add(chat_attrs(structured), name="chat gpt-4o", kind="CLIENT")
    genai.run()
    row = genai.row(i)
    assert orjson.loads(row.pop("inputs")) == INPUT
    assert orjson.loads(row.pop("outputs")) == OUTPUT
    assert row == {
        "span_type": "CHAT_MODEL",
        "model": "gpt-4o-2024-08-06",
        "provider": "openai",
        "input_tokens": 120,
        "output_tokens": 7,
        "total_tokens": 127,
        "session_id": "conv-9",
        "user_id": None,
        "request_preview": "And tomorrow?",
        "response_preview": "Sunny.",
        "trace_tags": None,
        "trace_metadata": {"mlflow.trace.session": "conv-9"},
        "normalization_errors": None,
    }
    call = [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]
    # raw is kept only where role + text do not say everything (tool calls, responses, finish reason)
    assert genai.messages(i) == [
        ("input", 0, "system", "You are terse.", None, None),
        ("input", 1, "user", "Weather in Paris?", None, None),
        ("input", 2, "assistant", None, call, INPUT[1]),
        ("input", 3, "tool", "rainy, 57F", None, INPUT[2]),
        ("input", 4, "user", "And tomorrow?", None, None),
        ("output", 0, "assistant", "Sunny.", None, OUTPUT[0]),
    ]
    assert genai.documents(i) == []


def test_raw_attributes_are_not_changed(genai):
    attrs = chat_attrs(False)
    i = genai.add(attrs)
    genai.run()
    assert genai.batch.spans.attributes[i] == attrs


def test_inputs_keep_the_json_text_as_sent(genai):
    text = '[{"role": "user",  "parts": [{"type": "text", "content": "hi"}]}]'
    i = genai.add({"gen_ai.operation.name": "chat", "gen_ai.input.messages": text})
    genai.run()
    assert genai.row(i)["inputs"] == text


def test_deprecated_attributes(genai):
    i = genai.add(
        {
            "gen_ai.operation.name": "text_completion",
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-3",
            "gen_ai.usage.prompt_tokens": 11,
            "gen_ai.usage.completion_tokens": 4,
        }
    )
    genai.run()
    row = genai.row(i)
    assert (row["span_type"], row["provider"], row["model"]) == ("LLM", "anthropic", "claude-3")
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (11, 4, 15)


def test_new_attributes_win_over_deprecated(genai):
    i = genai.add(
        {
            "gen_ai.provider.name": "azure.ai.openai",
            "gen_ai.system": "openai",
            "gen_ai.usage.input_tokens": 3,
            "gen_ai.usage.prompt_tokens": 99,
        }
    )
    genai.run()
    assert (genai.row(i)["provider"], genai.row(i)["input_tokens"]) == ("azure.ai.openai", 3)


@pytest.mark.parametrize(
    ("operation", "span_type"),
    [
        ("chat", "CHAT_MODEL"),
        ("text_completion", "LLM"),
        ("generate_content", "LLM"),
        ("embeddings", "EMBEDDING"),
        ("execute_tool", "TOOL"),
        ("invoke_agent", "AGENT"),
        ("create_agent", "AGENT"),
        ("retrieval", "RETRIEVER"),
        ("invoke_workflow", "CHAIN"),
        ("search_memory", "MEMORY"),
    ],
)
def test_operation_to_span_type(genai, operation, span_type):
    i = genai.add({"gen_ai.operation.name": operation})
    genai.run()
    assert genai.row(i)["span_type"] == span_type
    assert genai.row(i)["normalization_errors"] is None


def test_embeddings_total_is_the_input_count(genai):
    i = genai.add(
        {
            "gen_ai.operation.name": "embeddings",
            "gen_ai.request.model": "text-embedding-3-small",
            "gen_ai.usage.input_tokens": 8,
        }
    )
    genai.run()
    row = genai.row(i)
    assert (row["span_type"], row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (
        "EMBEDDING",
        8,
        None,
        8,
    )


def test_tool_span(genai):
    i = genai.add(
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.arguments": j({"city": "Paris"}),
            "gen_ai.tool.call.result": "rainy, 57F",
        }
    )
    genai.run()
    row = genai.row(i)
    assert row["span_type"] == "TOOL"
    assert orjson.loads(row["inputs"]) == {"city": "Paris"}
    assert orjson.loads(row["outputs"]) == "rainy, 57F"  # plain text result: stored as a JSON string
    assert row["request_preview"] == '{"city":"Paris"}'
    assert row["response_preview"] == '"rainy, 57F"'
    assert row["normalization_errors"] is None
    assert genai.messages(i) == []


def test_retrieval_span(genai):
    docs = [{"id": "d1", "score": 0.9, "content": "Paris is in France."}, {"id": "d2", "score": None}]
    i = genai.add(
        {
            "gen_ai.operation.name": "retrieval",
            "gen_ai.data_source.id": "kb",
            "gen_ai.retrieval.query.text": "where is paris",
            "gen_ai.retrieval.documents": j(docs),
        }
    )
    genai.run()
    row = genai.row(i)
    assert row["span_type"] == "RETRIEVER"
    assert orjson.loads(row["inputs"]) == "where is paris"
    assert orjson.loads(row["outputs"]) == docs
    assert genai.documents(i) == [(0, "d1", "Paris is in France.", 0.9, None, None), (1, "d2", None, None, None, None)]


def test_legacy_span_events(genai):
    tool_calls = [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"x"}'}}]
    events = [
        ("gen_ai.system.message", {"gen_ai.system": "openai", "content": "Be brief."}),
        ("gen_ai.user.message", {"gen_ai.system": "openai", "content": "Look up x"}),
        ("gen_ai.assistant.message", {"gen_ai.system": "openai", "tool_calls": j(tool_calls)}),
        ("gen_ai.tool.message", {"gen_ai.system": "openai", "content": "x=1", "id": "call_1"}),
        ("exception", {"exception.type": "ValueError"}),
        (
            "gen_ai.choice",
            {
                "gen_ai.system": "openai",
                "index": 1,
                "finish_reason": "stop",
                "message": j({"role": "assistant", "content": "Second"}),
            },
        ),
        (
            "gen_ai.choice",
            {
                "gen_ai.system": "openai",
                "index": 0,
                "finish_reason": "stop",
                "message": j({"role": "assistant", "content": "x is 1"}),
            },
        ),
    ]
    i = genai.add(
        {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"}, events
    )
    genai.run()
    call = [{"id": "call_1", "name": "lookup", "arguments": {"q": "x"}}]
    got = genai.messages(i)
    assert [m[:5] for m in got] == [
        ("input", 0, "system", "Be brief.", None),
        ("input", 1, "user", "Look up x", None),
        ("input", 2, "assistant", None, call),
        ("input", 3, "tool", "x=1", None),
        ("output", 0, "assistant", "x is 1", None),
        ("output", 1, "assistant", "Second", None),
    ]
    assert got[1][5] == events[1][1]  # raw = the event attributes as received
    row = genai.row(i)
    assert orjson.loads(row["inputs"]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Look up x"},
        {"role": "assistant", "content": None, "tool_calls": call},
        {"role": "tool", "content": "x=1"},
    ]
    assert orjson.loads(row["outputs"]) == [
        {"role": "assistant", "content": "x is 1"},
        {"role": "assistant", "content": "Second"},
    ]
    assert (row["request_preview"], row["response_preview"]) == ("Look up x", "Second")
    assert row["span_type"] == "CHAT_MODEL"


def test_span_events_alone_make_a_span_genai(genai):
    i = genai.add({}, [("gen_ai.user.message", {"content": "hello"})])
    genai.run()
    assert genai.messages(i)[0][:4] == ("input", 0, "user", "hello")
    assert genai.row(i)["span_type"] == "UNKNOWN"


def test_attributes_win_over_events(genai):
    i = genai.add(
        {"gen_ai.operation.name": "chat", "gen_ai.input.messages": j(INPUT[:1])},
        [("gen_ai.user.message", {"content": "from an event"})],
    )
    genai.run()
    assert [m[3] for m in genai.messages(i)] == ["Weather in Paris?"]


def test_operation_details_span_event(genai):
    details = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.response.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 1,
        "gen_ai.input.messages": INPUT[:1],
        "gen_ai.output.messages": OUTPUT,
    }
    i = genai.add({}, [("gen_ai.client.inference.operation.details", details)])
    genai.run()
    row = genai.row(i)
    assert (row["span_type"], row["model"], row["total_tokens"]) == ("CHAT_MODEL", "gpt-4o", 6)
    assert orjson.loads(row["inputs"]) == INPUT[:1]
    assert [m[:4] for m in genai.messages(i)] == [
        ("input", 0, "user", "Weather in Paris?"),
        ("output", 0, "assistant", "Sunny."),
    ]


def test_old_content_events(genai):
    i = genai.add(
        {"gen_ai.system": "openai"},
        [
            ("gen_ai.content.prompt", {"gen_ai.prompt": j([{"role": "user", "content": "2+2?"}])}),
            ("gen_ai.content.completion", {"gen_ai.completion": j([{"role": "assistant", "content": "4"}])}),
        ],
    )
    genai.run()
    assert [m[:4] for m in genai.messages(i)] == [("input", 0, "user", "2+2?"), ("output", 0, "assistant", "4")]


def test_user_id_and_plain_spans(genai):
    plain = genai.add({"http.request.method": "GET", "url.path": "/"})
    user = genai.add({"enduser.id": "u-1"})
    genai.run()
    assert genai.row(plain) == {**dict.fromkeys(genai.row(plain)), "span_type": "UNKNOWN"}
    assert genai.row(user)["user_id"] == "u-1"
    assert genai.row(user)["trace_metadata"] == {"mlflow.trace.user": "u-1"}


def test_legacy_span_events_whose_text_is_json_keep_it(genai):
    text = '{"temp_c": 18}'
    i = genai.add(
        {"gen_ai.operation.name": "chat"},
        [
            ("gen_ai.tool.message", {"gen_ai.system": "openai", "content": text, "id": "call_1"}),
            ("gen_ai.user.message", {"content": "[1, 2]"}),
        ],
    )
    genai.run()
    got = genai.messages(i)
    assert [m[:4] for m in got] == [("input", 0, "tool", text), ("input", 1, "user", "[1, 2]")]
    assert got[0][5] == {"gen_ai.system": "openai", "content": text, "id": "call_1"}
    assert orjson.loads(genai.row(i)["inputs"]) == [
        {"role": "tool", "content": text},
        {"role": "user", "content": "[1, 2]"},
    ]


def openlit_chat(system: list[str]) -> dict[str, Any]:
    """A chat span as OpenLIT 1.45 writes it (``instrumentation/openai/utils.py``: ``build_input_messages``,
    ``build_system_instructions_from_messages``, ``_set_span_messages_as_array``; ``__helpers.py``
    ``common_span_attributes``). OpenLIT pins an older ``openai`` and OTel SDK than the suite's, so
    it is not installed here; the shapes are taken from its source."""
    sent = [{"role": "system", "parts": [{"type": "text", "content": text}]} for text in system]
    sent.append({"role": "user", "parts": [{"type": "text", "content": "hello there"}]})
    return {
        "telemetry.sdk.name": "openlit",
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "server.address": "127.0.0.1",
        "server.port": 9,
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "deployment.environment": "default",
        "service.name": "default",
        "gen_ai.request.stream": False,
        "gen_ai.sdk.version": "1.45.0",
        "gen_ai.usage.input_tokens": 4,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.client.token.usage": 9,
        "gen_ai.usage.cost": 0.0,
        "gen_ai.input.messages": j(sent),
        "gen_ai.output.messages": j(
            [{"role": "assistant", "parts": [{"type": "text", "content": "Hi."}], "finish_reason": "stop"}]
        ),
        "gen_ai.system_instructions": j([{"type": "text", "content": text} for text in system]),
    }


@pytest.mark.parametrize("system", [["Be brief."], ["Be brief.", "Be kind."]], ids=["one", "two"])
def test_openlit_system_message_is_stored_once(genai, system):
    i = genai.add(openlit_chat(system), name="chat gpt-4o", kind="CLIENT")
    genai.run()
    assert [m[:4] for m in genai.messages(i)] == [
        *(("input", n, "system", text) for n, text in enumerate(system)),
        ("input", len(system), "user", "hello there"),
        ("output", 0, "assistant", "Hi."),
    ]
    row = genai.row(i)
    assert (row["span_type"], row["input_tokens"], row["total_tokens"], row["normalization_errors"]) == (
        "CHAT_MODEL",
        4,
        9,
        None,
    )


def test_system_instructions_that_differ_from_the_system_messages_are_kept(genai):
    attrs = {**openlit_chat(["Be brief."]), "gen_ai.system_instructions": j([{"type": "text", "content": "Other."}])}
    i = genai.add(attrs)
    genai.run()
    assert [m[2:4] for m in genai.messages(i) if m[0] == "input"] == [
        ("system", "Other."),
        ("system", "Be brief."),
        ("user", "hello there"),
    ]
