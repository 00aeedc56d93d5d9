"""Traceloop's SDK, OpenLLMetry (current and 0.54) and Logfire, run for real against the fake LLM and a real collector.

These SDKs install global OTel providers and patch ``openai`` for the life of the process, so each
app runs as a user's script would, in a process of its own (``tests/e2e/genai_workload.py``),
exporting OTLP/HTTP to the collector; nothing leaks into other tests. Then SQL must show:

- Traceloop: the shared workload under OpenLLMetry's current ``opentelemetry-instrumentation-openai``
  (``gen_ai.input.messages``), and a ``@workflow`` whose ``@task`` and ``@tool`` spans get MLflow
  span types and their inputs/outputs from ``traceloop.entity.input`` / ``.output``, so the trace
  has a request, a response and previews (and ``Associations`` its session and user); the tool's
  JSON result is message text like any other;
- Logfire: ``instrument_openai(version=1)``, whose messages are only in ``request_data`` /
  ``response_data``;
- OpenLLMetry 0.54, the last release with indexed ``gen_ai.prompt.<i>.*`` attributes: it cannot be
  installed next to the current one (``traceloop-sdk`` pins that), so ``make install`` puts it in a
  directory of its own that only its process has on its path.

OpenLIT pins an older ``openai`` and OTel SDK than the suite's: its attribute shapes are rebuilt
from its source in ``tests/collector/pipeline/processors/test_genai_otel.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.collector_process import Collector
from tests.e2e.genai_producers import check
from tests.e2e.genai_workload import Call
from tests.fakes.llm import FakeLLM

ROOT = Path(__file__).resolve().parents[2]


OPENLLMETRY_054 = "compat/openllmetry-0.54"
"""Where ``make install`` puts ``opentelemetry-instrumentation-openai`` 0.54.0 (``pip --target``, no
dependencies: it runs on the current ones), beside the venv's ``lib``: one venv cannot hold two
versions of a distribution, and ``traceloop-sdk`` needs the current one."""


def openllmetry_054() -> Path:
    """The 0.54 directory of this venv, or of a venv whose site-packages this one shares (a ``.pth``)."""
    venvs = [Path(sys.prefix)] + [Path(p).parents[2] for p in sys.path if p.endswith("site-packages")]
    for venv in venvs:
        if (venv / OPENLLMETRY_054 / "opentelemetry").is_dir():
            return venv / OPENLLMETRY_054
    pytest.fail(f"OpenLLMetry 0.54 is not installed in {sys.prefix}/{OPENLLMETRY_054}: run make install")


def run_app(app: str, collector: Collector, *path: Path) -> dict[str, Any]:
    """Run one app of ``genai_workload`` in its own process (``path`` first on its PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACELOOP_", "LOGFIRE_"))}
    env.update(TRACELOOP_TELEMETRY="false", PYTHONPATH=os.pathsep.join(map(str, (*path, ROOT))))
    with FakeLLM() as llm:
        done = subprocess.run(
            [sys.executable, "-m", "tests.e2e.genai_workload", app, collector.http, llm.base_url],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    result["calls"] = {case: Call(**call) for case, call in result["calls"].items()}
    return result


def spans_of(collector: Collector, trace_id: str, count: int) -> list[dict[str, Any]]:
    """The trace's spans in start order, once all ``count`` are stored."""
    where = f"trace_id = '{trace_id}'"
    assert collector.wait_for(f"SELECT count(*) AS n FROM spans WHERE {where}", [{"n": count}]) == [{"n": count}]
    return collector.sql(
        "SELECT span_id, name, span_type, inputs, outputs, model, input_tokens, output_tokens, "
        f"normalization_errors FROM spans WHERE {where} ORDER BY start_time_unix_nano"
    )


def messages_of(collector: Collector, span_id: str) -> list[tuple[str, str | None, str | None]]:
    rows = collector.sql(
        f"SELECT direction, role, content FROM messages WHERE span_id = '{span_id}' ORDER BY direction, position"
    )
    return [(r["direction"], r["role"], r["content"]) for r in rows]


def test_traceloop_sdk(collector: Collector) -> None:
    result = run_app("traceloop", collector)
    calls: dict[str, Call] = result["calls"]
    embeddings = calls.pop("embeddings")
    check(collector, calls, chat_type="CHAT_MODEL", embedding_io=True)
    # OpenLLMetry sends the texts to embed as user messages in gen_ai.input.messages: kept as sent
    (_, span) = spans_of(collector, embeddings.trace_id, 2)
    assert (span["span_type"], span["model"], span["input_tokens"]) == ("EMBEDDING", "embed-model", 3)
    assert messages_of(collector, span["span_id"]) == [("input", "user", "first text"), ("input", "user", "second")]

    flow = result["workflow"]
    spans = spans_of(collector, flow["trace_id"], 6)
    assert [(s["name"], s["span_type"]) for s in spans] == [
        ("weather.workflow", "CHAIN"),
        ("ask.task", "CHAIN"),
        ("openai.chat", "CHAT_MODEL"),
        ("get_weather.tool", "TOOL"),
        ("ask.task", "CHAIN"),
        ("openai.chat", "CHAT_MODEL"),
    ]
    assert all(s["normalization_errors"] is None for s in spans)
    root, ask, _, tool, _, chat = spans
    assert (json.loads(root["inputs"]), json.loads(root["outputs"])) == ("Paris", flow["answer"])
    assert json.loads(ask["inputs"]) == [{"role": "user", "content": "Paris"}]  # the one argument, unwrapped
    assert (json.loads(tool["inputs"]), tool["outputs"]) == ({"city": "Paris"}, flow["tool_result"])
    (trace,) = collector.sql(
        "SELECT request, response, request_preview, response_preview, trace_metadata "
        f"FROM traces WHERE trace_id = '{flow['trace_id']}'"
    )
    metadata = json.loads(trace.pop("trace_metadata"))
    assert trace == {
        "request": root["inputs"],
        "response": root["outputs"],
        "request_preview": root["inputs"],
        "response_preview": root["outputs"],
    }
    # Associations.set: the trace's session and user
    assert (metadata["mlflow.trace.session"], metadata["mlflow.trace.user"]) == ("conv-1", "u-1")
    assert messages_of(collector, chat["span_id"]) == [
        ("input", "user", "Paris"),
        ("input", "assistant", None),
        ("input", "tool", flow["tool_result"]),
        ("output", "assistant", flow["answer"]),
    ]


def test_logfire_version_1(collector: Collector) -> None:
    calls: dict[str, Call] = run_app("logfire", collector)["calls"]
    stream = calls.pop("stream")
    check(collector, calls, chat_type="CHAT_MODEL", embedding_io=True)
    # a stream is two spans: the request, then "streaming response ..." with the answer and usage
    (_, request, response) = spans_of(collector, stream.trace_id, 3)
    assert messages_of(collector, request["span_id"]) == [("input", "user", "tell me a story")]
    assert messages_of(collector, response["span_id"]) == [
        ("input", "user", "tell me a story"),
        ("output", "assistant", stream.outputs[0][1]),
    ]
    assert (response["span_type"], response["model"], response["input_tokens"], response["output_tokens"]) == (
        "CHAT_MODEL",
        "stream-model",
        stream.input_tokens,
        stream.output_tokens,
    )


def test_openllmetry_before_055(collector: Collector) -> None:
    result = run_app("openllmetry", collector, openllmetry_054())
    assert result["version"] == "0.54.0"
    calls: dict[str, Call] = result["calls"]
    embeddings = calls.pop("embeddings")
    check(collector, calls, chat_type="CHAT_MODEL", embedding_io=True)
    (_, span) = spans_of(collector, embeddings.trace_id, 2)
    assert (span["span_type"], span["model"], span["input_tokens"]) == ("EMBEDDING", "embed-model", 3)
    assert json.loads(span["inputs"]) == ["first text", "second"]  # texts to embed, not messages
    assert messages_of(collector, span["span_id"]) == []
