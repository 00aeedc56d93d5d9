"""The workload every GenAI instrumentation test runs, and the apps that need a process of their own.

``run_workload`` makes the same calls under any producer: plain chat, streaming chat with
``include_usage``, a tool call, the tool result sent back, embeddings, each under its own root
span, and returns what the collector must make of each (``Call``).

Some SDKs patch ``openai`` and install global OTel providers that cannot be taken back (Traceloop,
Logfire), so they run here, in a child process, as a user's script would:

    python -m tests.e2e.genai_workload <app> <collector OTLP/HTTP base URL> <fake LLM base URL>

prints one JSON object: ``{"calls": {case: Call}, ...}`` plus what the app adds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["TOOLS", "Call", "Msg", "Root", "run_workload"]

TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]
Msg = tuple[str, str | None, list[dict[str, Any]] | None]  # role, content, tool calls


@dataclass
class Call:
    """One workload call: its trace, and what the collector must have made of it."""

    trace_id: str
    model: str
    inputs: list[Msg]
    outputs: list[Msg]
    input_tokens: int
    output_tokens: int | None


Root = Callable[[str], contextlib.AbstractContextManager[str]]


def run_workload(client: Any, root: Root) -> dict[str, Call]:
    """Each call under its own root span (``root(name)`` yields the trace id)."""
    calls: dict[str, Call] = {}
    chat = client.chat.completions
    with root("plain") as trace_id:
        reply = chat.create(
            model="plain-model",
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}],
        )
    calls["plain"] = Call(
        trace_id,
        "plain-model",
        [("system", "Be brief.", None), ("user", "hello there", None)],
        [("assistant", reply.choices[0].message.content, None)],
        reply.usage.prompt_tokens,
        reply.usage.completion_tokens,
    )
    with root("stream") as trace_id:
        chunks = list(
            chat.create(
                model="stream-model",
                messages=[{"role": "user", "content": "tell me a story"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Fake answer to: tell me a story."
    calls["stream"] = Call(
        trace_id,
        "stream-model",
        [("user", "tell me a story", None)],
        [("assistant", text, None)],
        chunks[-1].usage.prompt_tokens,
        chunks[-1].usage.completion_tokens,
    )
    question = {"role": "user", "content": "Paris"}
    with root("tool") as trace_id:
        reply = chat.create(model="tool-model", messages=[question], tools=TOOLS)
    tool_call = reply.choices[0].message.tool_calls[0]
    call = [{"id": tool_call.id, "name": "get_weather", "arguments": {"city": "Paris"}}]
    calls["tool"] = Call(
        trace_id,
        "tool-model",
        [("user", "Paris", None)],
        [("assistant", None, call)],
        reply.usage.prompt_tokens,
        reply.usage.completion_tokens,
    )
    # as OpenAI allows (and MLflow records it): no "content" next to "tool_calls"
    history = [
        question,
        {"role": "assistant", "tool_calls": [tool_call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": tool_call.id, "content": "sunny"},
    ]
    with root("tool_result") as trace_id:
        reply = chat.create(model="tool-model", messages=history, tools=TOOLS)
    assert reply.choices[0].message.content == "Fake answer to: Paris. Tool said: sunny"
    calls["tool_result"] = Call(
        trace_id,
        "tool-model",
        [("user", "Paris", None), ("assistant", None, call), ("tool", "sunny", None)],
        [("assistant", reply.choices[0].message.content, None)],
        reply.usage.prompt_tokens,
        reply.usage.completion_tokens,
    )
    with root("embeddings") as trace_id:
        result = client.embeddings.create(model="embed-model", input=["first text", "second"])
    assert len(result.data) == 2
    calls["embeddings"] = Call(trace_id, "embed-model", [], [], result.usage.prompt_tokens, None)
    return calls


# --- apps that run in a process of their own ------------------------------------------------------


def _otel_root(name: str) -> contextlib.AbstractContextManager[str]:
    """A root span from the global tracer provider, which the app's SDK installed."""
    from opentelemetry import trace

    @contextlib.contextmanager
    def root() -> Iterator[str]:
        with trace.get_tracer("tests.e2e.genai").start_as_current_span(name) as span:
            yield f"tr-{span.get_span_context().trace_id:032x}"

    return root()


def _current_trace_id() -> str:
    from opentelemetry import trace

    return f"tr-{trace.get_current_span().get_span_context().trace_id:032x}"


def traceloop_app(otlp: str, llm: str) -> dict[str, Any]:
    """Traceloop's SDK as its README sets it up: ``Traceloop.init``, decorators, OpenLLMetry's openai."""
    import openai
    from traceloop.sdk import Traceloop
    from traceloop.sdk.associations import AssociationProperty, Associations
    from traceloop.sdk.decorators import task, tool, workflow
    from traceloop.sdk.instruments import Instruments

    Traceloop.init(
        app_name="traceloop-e2e",
        api_endpoint=otlp,
        disable_batch=True,
        telemetry_enabled=False,
        instruments={Instruments.OPENAI},
    )
    client = openai.OpenAI(base_url=llm, api_key="x")
    calls = run_workload(client, _otel_root)
    seen: dict[str, Any] = {}

    @tool(name="get_weather")
    def get_weather(city: str) -> dict[str, Any]:
        return {"city": city, "temp_c": 18}

    @task(name="ask")
    def ask(messages: list[dict[str, Any]]) -> Any:
        return client.chat.completions.create(model="tool-model", messages=messages, tools=TOOLS).choices[0].message

    @workflow(name="weather")
    def weather(question: str) -> str:
        seen["trace_id"] = _current_trace_id()
        messages: list[Any] = [{"role": "user", "content": question}]
        call = ask(messages).tool_calls[0]
        seen["tool_result"] = json.dumps(get_weather(city=json.loads(call.function.arguments)["city"]))
        messages += [
            {"role": "assistant", "tool_calls": [call.model_dump(exclude_none=True)]},
            {"role": "tool", "tool_call_id": call.id, "content": seen["tool_result"]},
        ]
        return str(ask(messages).content)

    Associations.set([(AssociationProperty.SESSION_ID, "conv-1"), (AssociationProperty.USER_ID, "u-1")])
    seen["answer"] = weather("Paris")
    return {"calls": {case: dataclasses.asdict(call) for case, call in calls.items()}, "workflow": seen}


def logfire_app(otlp: str, llm: str) -> dict[str, Any]:
    """Logfire's OpenAI integration in its first format (``version=1``), exported to the collector only."""
    import logfire
    import openai
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    logfire.configure(
        send_to_logfire=False,
        console=False,
        service_name="logfire-e2e",
        inspect_arguments=False,
        additional_span_processors=[SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp}/v1/traces"))],
    )
    client = openai.OpenAI(base_url=llm, api_key="x")
    logfire.instrument_openai(client, version=1)

    @contextlib.contextmanager
    def root(name: str) -> Iterator[str]:
        with logfire.span(name):
            yield _current_trace_id()

    calls = run_workload(client, root)
    return {"calls": {case: dataclasses.asdict(call) for case, call in calls.items()}}


def openllmetry_app(otlp: str, llm: str) -> dict[str, Any]:
    """OpenLLMetry's ``OpenAIInstrumentor`` on a plain OTel SDK pipeline, whichever version is first on
    the path (the test puts 0.54, installed apart by ``make install``, before the current one)."""
    from importlib.metadata import version

    import openai
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "openllmetry-e2e"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp}/v1/traces")))
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    calls = run_workload(openai.OpenAI(base_url=llm, api_key="x"), _otel_root)
    return {
        "calls": {case: dataclasses.asdict(call) for case, call in calls.items()},
        "version": version("opentelemetry-instrumentation-openai"),
    }


APPS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "traceloop": traceloop_app,
    "logfire": logfire_app,
    "openllmetry": openllmetry_app,
}

if __name__ == "__main__":
    print(json.dumps(APPS[sys.argv[1]](sys.argv[2], sys.argv[3])))
