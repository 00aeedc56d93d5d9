"""Bad input never fails ingestion: the canonical field stays None and the error names the attribute."""

from __future__ import annotations

import textwrap
from typing import Any

import orjson
import pytest

from annotrace.collector.config import ConfigError, load_text
from annotrace.collector.pipeline.processors.genai import _KNOWN_KEYS, GenAIConfig


def j(value: Any) -> str:
    return orjson.dumps(value).decode()


CASES = [
    # (attributes, column, expected value, error text)
    (
        {"gen_ai.operation.name": "chat", "gen_ai.input.messages": '[{"role": "user", '},
        "inputs",
        None,
        'gen_ai.input.messages: invalid JSON: \'[{"role": "user", \'',
    ),
    ({"gen_ai.output.messages": "not json"}, "outputs", None, "gen_ai.output.messages: invalid JSON: 'not json'"),
    ({"gen_ai.input.messages": '"\\ud800"'}, "inputs", None, "gen_ai.input.messages: invalid JSON"),
    (
        {"gen_ai.input.messages": j({"role": "user"})},
        "span_type",
        "UNKNOWN",
        "gen_ai.input.messages: not a list of messages: {'role': 'user'}",
    ),
    (
        {"gen_ai.input.messages": j([{"role": "user", "content": "ok"}, 42])},
        "span_type",
        "UNKNOWN",
        "gen_ai.input.messages: message 1 is not an object: 42",
    ),
    ({"gen_ai.usage.input_tokens": -5}, "input_tokens", None, "gen_ai.usage.input_tokens: negative token count: -5"),
    (
        {"gen_ai.usage.output_tokens": "many"},
        "output_tokens",
        None,
        "gen_ai.usage.output_tokens: not an integer token count: 'many'",
    ),
    (
        {"gen_ai.usage.input_tokens": True},
        "input_tokens",
        None,
        "gen_ai.usage.input_tokens: not an integer token count: True",
    ),
    (
        {"llm.token_count.prompt": 1.5, "openinference.span.kind": "LLM"},
        "input_tokens",
        None,
        "llm.token_count.prompt: not an integer token count: 1.5",
    ),
    (
        {"mlflow.chat.tokenUsage": j({"input_tokens": -1, "output_tokens": 2})},
        "input_tokens",
        None,
        "mlflow.chat.tokenUsage.input_tokens: negative token count: -1",
    ),
    ({"mlflow.chat.tokenUsage": "{oops"}, "input_tokens", None, "mlflow.chat.tokenUsage: invalid JSON"),
    ({"mlflow.chat.tokenUsage": j([1, 2])}, "input_tokens", None, "mlflow.chat.tokenUsage: not an object: [1, 2]"),
    (
        {"openinference.span.kind": "WIZARD"},
        "span_type",
        "UNKNOWN",
        "openinference.span.kind: unknown span kind: 'WIZARD'",
    ),
    ({"openinference.span.kind": 7}, "span_type", "UNKNOWN", "openinference.span.kind: unknown span kind: 7"),
    (
        {"gen_ai.operation.name": "teleport"},
        "span_type",
        "UNKNOWN",
        "gen_ai.operation.name: unknown operation: 'teleport'",
    ),
    ({"mlflow.spanType": 3}, "span_type", "UNKNOWN", "mlflow.spanType: not a string: 3"),
    ({"mlflow.spanType": '"LLM'}, "span_type", "UNKNOWN", "mlflow.spanType: invalid JSON string: '\"LLM'"),
    ({"mlflow.spanInputs": "{bad"}, "inputs", None, "mlflow.spanInputs: invalid JSON: '{bad'"),
    (
        {"input.value": "{bad", "input.mime_type": "application/json", "openinference.span.kind": "CHAIN"},
        "inputs",
        None,
        "input.value: invalid JSON: '{bad'",
    ),
    ({"gen_ai.request.model": ["gpt"]}, "model", None, "gen_ai.request.model: not a string: ['gpt']"),
    (
        {"llm.provider": {"name": "x"}, "openinference.span.kind": "LLM"},
        "provider",
        None,
        "llm.provider: not a string: {'name': 'x'}",
    ),
    ({"session.id": {"a": 1}}, "session_id", None, "session.id: not a string: {'a': 1}"),
    (
        {"gen_ai.retrieval.documents": j({"id": "d"})},
        "span_type",
        "UNKNOWN",
        "gen_ai.retrieval.documents: not a list of documents: {'id': 'd'}",
    ),
    ({"gen_ai.retrieval.documents": "[{"}, "outputs", None, "gen_ai.retrieval.documents: invalid JSON: '[{'"),
    (
        {"mlflow.spanType": '"RETRIEVER"', "mlflow.spanOutputs": j("just text")},
        "span_type",
        "RETRIEVER",
        "mlflow.spanOutputs: not a list of documents: 'just text'",
    ),
    (
        {"mlflow.spanType": '"RETRIEVER"', "mlflow.spanOutputs": j([{"page_content": "a"}, 5])},
        "span_type",
        "RETRIEVER",
        "mlflow.spanOutputs: document 1 is not an object: 5",
    ),
    (
        {"openinference.span.kind": "RETRIEVER", "retrieval.documents.0.document.metadata": "{nope"},
        "span_type",
        "RETRIEVER",
        "retrieval.documents: document 0 metadata is not JSON: '{nope'",
    ),
    (
        {"openinference.span.kind": "LLM", "llm.input_messages.x.message.role": "user"},
        "span_type",
        "LLM",
        "llm.input_messages.x.message.role: index is not a number",
    ),
    ({"mlflow.spanType": '"AGENT"', "mlflow.traceTag.": "v"}, "trace_tags", None, "mlflow.traceTag.: empty key"),
]


@pytest.mark.parametrize(("attrs", "column", "expected", "error"), CASES, ids=[c[3][:40] for c in CASES])
def test_bad_input(genai, attrs, column, expected, error):
    i = genai.add(attrs)
    genai.run()
    row = genai.row(i)
    assert row[column] == expected
    errors = row["normalization_errors"]
    assert errors is not None and any(e.startswith(error) for e in errors), errors


def test_a_broken_source_falls_through_to_the_next(genai):
    i = genai.add({"mlflow.spanInputs": "{bad", "input.value": j({"q": 1}), "openinference.span.kind": "CHAIN"})
    genai.run()
    assert orjson.loads(genai.row(i)["inputs"]) == {"q": 1}
    assert genai.row(i)["normalization_errors"] == ["mlflow.spanInputs: invalid JSON: '{bad'"]


def test_no_total_from_a_broken_count(genai):
    i = genai.add({"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": -1})
    genai.run()
    assert (genai.row(i)["input_tokens"], genai.row(i)["total_tokens"]) == (10, None)


def test_limits(genai):
    docs = [{"page_content": str(n)} for n in range(5)]
    messages = [{"role": "user", "content": str(n)} for n in range(5)]
    i = genai.add(
        {"mlflow.spanType": '"RETRIEVER"', "mlflow.spanOutputs": j(docs), "gen_ai.input.messages": j(messages)}
    )
    chat = genai.add({"mlflow.spanType": '"CHAT_MODEL"', "mlflow.spanInputs": j({"messages": messages})})
    genai.run(max_documents=2, max_messages=3)
    assert [d[2] for d in genai.documents(i)] == ["0", "1"]
    assert [m[3] for m in genai.messages(i)] == ["0", "1", "2"]
    assert genai.row(i)["normalization_errors"] == [
        "mlflow.spanOutputs: 5 documents, kept the first 2",
        "gen_ai.input.messages: 5 messages, kept the first 3",
    ]
    assert len(genai.messages(chat)) == 3
    assert genai.row(chat)["normalization_errors"] == ["mlflow.spanInputs: 5 messages, kept the first 3"]


GARBAGE = [
    None,
    0,
    -1,
    2**62,
    1.5,
    float("nan"),
    True,
    "",
    " ",
    "{",
    "[]",
    "null",
    '"x"',
    "\\ud800",
    [],
    {},
    [1, "x", None, {"a": []}],
    {"role": 5, "parts": "no", "content": {"x": 1}, "tool_calls": "[{"},
    [{"role": None, "parts": [None, {"type": "text"}, {"type": "tool_call"}]}],
]


@pytest.mark.parametrize("value", GARBAGE, ids=repr)
def test_garbage_in_every_known_key_never_raises(genai, value):
    attrs = dict.fromkeys(_KNOWN_KEYS, value)
    attrs.update(
        {
            "llm.input_messages.0.message.role": value,
            "llm.output_messages.0.message.content": value,
            "retrieval.documents.0.document.content": value,
            "mlflow.traceTag.t": value,
            "mlflow.traceMetadata.m": value,
        }
    )
    events = [
        (name, {"content": value, "message": value, "tool_calls": value, "index": value, "gen_ai.prompt": value})
        for name in (
            "gen_ai.user.message",
            "gen_ai.choice",
            "gen_ai.content.prompt",
            "gen_ai.client.inference.operation.details",
        )
    ]
    for span_type in ('"RETRIEVER"', '"CHAT_MODEL"'):
        genai.add({**attrs, "mlflow.spanType": span_type}, events)
    genai.run()  # checks the column lengths and that every JSON text is valid


def test_genai_config_from_yaml():
    factories = {"processors": {"genai": GenAIConfig}}
    config = load_text(
        textwrap.dedent("""
        processors:
          genai:
            preview_max_chars: 200
          genai/all: {}
    """),
        factories,
    )
    assert [str(k) for k in config.processors] == ["genai", "genai/all"]
    assert list(config.processors.values()) == [GenAIConfig(preview_max_chars=200), GenAIConfig()]
    with pytest.raises(ConfigError, match="processors::genai: has invalid keys: preview_chars"):
        load_text("processors: {genai: {preview_chars: 5}}", factories)
    with pytest.raises(ConfigError, match="processors::genai: max_documents: must be >= 0"):
        load_text("processors: {genai: {max_documents: -1}}", factories)
