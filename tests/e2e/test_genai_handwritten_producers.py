"""GenAI producers written by hand on plain OTel SDK spans (the workload and checks of
``test_genai_instrumentations.py``):

- ``test_otel_legacy_events``: the deprecated ``opentelemetry-instrumentation-openai-v2``'s default
  mode (``gen_ai.system``, per-message ``gen_ai.{role}.message`` / ``gen_ai.choice`` log events)
  cannot be installed next to util-genai 1.3b0, so its spans and events are written with the OTel
  API as its ``message_to_event`` / ``choice_to_event`` build them;
- ``test_mlflow_attributes``: what MLflow's openai autolog records (``mlflow.spanType``,
  ``spanInputs``/``spanOutputs``, ``chat.tokenUsage``, ``llm.model``/``llm.provider``, stream
  chunk events), set by hand on plain OTel SDK spans.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import openai
from opentelemetry._logs import LogRecord
from opentelemetry.trace import SpanKind

from tests.collector_process import Collector
from tests.e2e.genai_producers import OTel, check, wait_for_log_join
from tests.e2e.genai_workload import run_workload


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
