"""`python -m bench.web_trace`: how fast the trace page is on a trace of 1,000 spans, in a browser.

Issue 6's target: "a trace of 1,000 spans is interactive within 1 s" (measured in the browser).
A real collector (``bench.collector_proc``) first gets background traffic (``--background-spans``
of the bench's 4-span GenAI traces, so the page's queries run on a store that is not empty), then
one trace of 1,000 spans (a root AGENT and 111 steps of 9 spans: CHAIN, RETRIEVER with 5
documents, CHAT_MODEL with a 4-message conversation and tokens, TOOL, a nested CHAIN with LLM and
EMBEDDING, PARSER, GUARDRAIL with status ERROR and an exception event; up to 4 levels deep).

Debian's Chromium (headless, through Playwright) then loads ``/traces/{id}`` ``--runs`` times. Per
load, from the browser's own clock (``performance.now()``, 0 = navigation start):
  ttfb      the first byte of the HTML (server time + network)
  dcl       DOMContentLoaded (the tree is parsed)
  load      the load event (CSS and scripts in)
  ready     right after load a span is clicked; the time its detail is on screen (the figure the
            target is about: the page has loaded *and* answers a click)
and ``switch``: the click-to-detail time of moving between spans (chat, retriever, guardrail, ...),
``--switches`` times per load. Printed as median and max over the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from playwright.sync_api import Page, sync_playwright

from bench.collector_proc import Collector, CollectorError
from bench.traffic import RequestFactory

CHROMIUM = os.environ.get("ANNOTRACE_CHROMIUM", "/usr/bin/chromium")
TARGET_READY_MS = 1000.0
STEP_SPANS = 9  # spans per step below the root: 111 steps + the root = 1,000 spans
MS = 1_000_000

_CLICK = """async (spanId) => {
  const link = document.querySelector(`#span-tree a[data-span="${spanId}"]`);
  const clicked = performance.now();
  link.click();
  await new Promise((resolve) => {
    const check = () => document.querySelector(`#span-detail[data-span="${spanId}"]`)
      ? resolve() : requestAnimationFrame(check);
    check();
  });
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));  // painted
  return [clicked, performance.now()];
}"""
_NAV = """() => { const n = performance.getEntriesByType("navigation")[0];
  return [n.responseStart, n.domContentLoadedEventEnd, n.loadEventEnd, n.transferSize || n.encodedBodySize]; }"""


def _kv(key: str, value: str | int) -> KeyValue:
    return KeyValue(
        key=key, value=AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    )


def _j(value: object) -> str:
    return json.dumps(value)


@dataclass(frozen=True, slots=True)
class BigTrace:
    trace_id: str
    root: str
    samples: list[str]  # span ids to click: chat, retriever, tool, guardrail... spread over the tree


def big_trace(steps: int) -> tuple[ExportTraceServiceRequest, BigTrace]:
    """One trace: a root and ``steps`` steps of STEP_SPANS spans (see the module docstring)."""
    trace = os.urandom(16)
    t0 = time.time_ns() - 60_000 * MS
    spans: list[Span] = []
    samples: list[str] = []

    def add(
        name: str, parent: bytes, start_ms: float, dur_ms: float, attrs: dict[str, str | int], error: bool = False
    ) -> bytes:
        span_id = os.urandom(8)
        span = Span(
            trace_id=trace,
            span_id=span_id,
            parent_span_id=parent,
            name=name,
            kind=1,
            start_time_unix_nano=t0 + int(start_ms * MS),
            end_time_unix_nano=t0 + int((start_ms + dur_ms) * MS),
        )
        span.attributes.extend(_kv(k, v) for k, v in attrs.items())
        if error:
            span.status.code = Status.STATUS_CODE_ERROR
            span.status.message = "guardrail tripped"
            event = span.events.add(time_unix_nano=span.end_time_unix_nano, name="exception")
            event.attributes.extend(
                [_kv("exception.type", "GuardrailError"), _kv("exception.message", "answer mentions a card number")]
            )
        spans.append(span)
        return span_id

    def mlflow(kind: str, inputs: object, outputs: object) -> dict[str, str | int]:
        return {"mlflow.spanType": _j(kind), "mlflow.spanInputs": _j(inputs), "mlflow.spanOutputs": _j(outputs)}

    step_ms = 50.0
    root = add(
        "support_agent",
        b"",
        0,
        steps * step_ms + 10,
        mlflow("AGENT", {"question": "Where is my refund?"}, {"answer": "On its way."}),
    )
    for i in range(steps):
        s = 5 + i * step_ms
        chain = add(f"step_{i}", root, s, 45, mlflow("CHAIN", {"step": i}, {"ok": True}))
        docs = [
            {
                "id": f"kb-{i}-{d}",
                "page_content": f"Knowledge base passage {d} for step {i}. " * 4,
                "metadata": {"doc_uri": f"https://kb.example.com/{i}/{d}", "score": round(1 - d / 10, 2)},
            }
            for d in range(5)
        ]
        retriever = add("retrieve", chain, s + 1, 5, mlflow("RETRIEVER", {"query": f"refund step {i}"}, docs))
        messages = [
            {"role": "system", "parts": [{"type": "text", "content": "You are a support agent."}]},
            {"role": "user", "parts": [{"type": "text", "content": f"Question {i}: where is my refund?"}]},
        ]
        answer = [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": f"Answer {i}: it is on its way."}],
                "finish_reason": "stop",
            }
        ]
        chat = add(
            "chat",
            chain,
            s + 7,
            20,
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 120 + i,
                "gen_ai.usage.output_tokens": 30,
                "gen_ai.input.messages": _j(messages),
                "gen_ai.output.messages": _j(answer),
            },
        )
        tool = add(
            "lookup_order",
            chain,
            s + 28,
            8,
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "lookup_order",
                "gen_ai.tool.call.arguments": _j({"order_id": i}),
                "gen_ai.tool.call.result": _j({"status": "sent"}),
            },
        )
        sub = add("summarize", tool, s + 29, 6, mlflow("CHAIN", {"n": i}, {"summary": "sent"}))
        add("llm", sub, s + 29.5, 3, mlflow("LLM", {"prompt": "Summarize"}, {"text": "sent"}))
        add("embed", sub, s + 33, 1, mlflow("EMBEDDING", {"text": "sent"}, [0.1, 0.2, 0.3]))
        add("parse", chain, s + 37, 2, mlflow("PARSER", {"text": "sent"}, {"status": "sent"}))
        guard = add(
            "guardrail", chain, s + 40, 3, mlflow("GUARDRAIL", {"text": "sent"}, {"ok": i % 10 != 3}), error=i % 10 == 3
        )
        if i in (0, steps // 2, steps - 1):
            samples += [chat.hex(), retriever.hex(), guard.hex(), tool.hex()]
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.append(_kv("service.name", "web-trace-bench"))
    scope = resource.scope_spans.add()
    scope.scope.name = "bench.web_trace"
    scope.spans.extend(spans)
    return request, BigTrace("tr-" + trace.hex(), root.hex(), samples)


def _median_max(values: list[float]) -> str:
    return f"median {statistics.median(values):7.1f} ms   max {max(values):7.1f} ms"


def _measure(page: Page, url: str, trace: BigTrace, switches: int) -> tuple[list[float], list[float]]:
    """One load: [ttfb, dcl, load, ready, bytes] and the switch times."""
    page.goto(url, wait_until="load")
    ttfb, dcl, load, size = page.evaluate(_NAV)
    _, ready = page.evaluate(_CLICK, trace.samples[0])
    times: list[float] = []
    for k in range(switches):
        clicked, shown = page.evaluate(_CLICK, trace.samples[(k + 1) % len(trace.samples)])
        times.append(shown - clicked)
    return [ttfb, dcl, load, ready, size], times


def run(background_spans: int, steps: int, runs: int, switches: int, data_dir: Path) -> int:
    collector = Collector(data_dir)
    collector.start()
    try:
        factory = RequestFactory(512, seed=6)
        with httpx.Client(
            base_url=collector.http_url, timeout=60, headers={"content-type": "application/x-protobuf"}
        ) as client:
            for _ in range(max(0, background_spans) // 512):
                client.post("/v1/traces", content=factory.next()).raise_for_status()
            request, trace = big_trace(steps)
            client.post("/v1/traces", content=request.SerializeToString()).raise_for_status()
        total = background_spans // 512 * 512 + 1 + steps * STEP_SPANS
        reached, count = collector.wait_for_count(total, timeout_s=300)
        if reached is None:
            raise CollectorError(f"only {count} of {total} spans stored")
        while not collector.sql(
            f"SELECT 1 FROM traces WHERE trace_id = '{trace.trace_id}' AND span_count = {1 + steps * STEP_SPANS}"
        ):
            time.sleep(0.1)
        url = f"{collector.web_url}/traces/{trace.trace_id}"
        t = time.perf_counter()
        html = httpx.get(url, timeout=30)
        server_ms = (time.perf_counter() - t) * 1000
        print(
            f"store: {count:,} spans; trace {trace.trace_id}: {1 + steps * STEP_SPANS:,} spans; "
            f"page {len(html.content) / 1024:,.0f} KiB HTML, {server_ms:.0f} ms over HTTP (first fetch)"
        )
        loads: list[list[float]] = []
        switch_ms: list[float] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            for _ in range(runs):
                page = context.new_page()
                load, times = _measure(page, url, trace, switches)
                loads.append(load)
                switch_ms += times
                page.close()
            browser.close()
        names = ("ttfb", "DOMContentLoaded", "load", "ready (load + click shows a span)")
        print(f"Chromium, {runs} loads of /traces/{{id}} (ms from navigation start):")
        for i, name in enumerate(names):
            print(f"  {name:36s} {_median_max([row[i] for row in loads])}")
        print(f"  {'switch span (click -> detail shown)':36s} {_median_max(switch_ms)}   ({len(switch_ms)} switches)")
        ready = statistics.median(row[3] for row in loads)
        verdict = "meets" if ready <= TARGET_READY_MS else "MISSES"
        print(f"target: interactive within {TARGET_READY_MS:.0f} ms -> median ready {ready:.0f} ms {verdict} it")
        return 0 if ready <= TARGET_READY_MS else 1
    finally:
        collector.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web_trace", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--background-spans",
        type=int,
        default=100_000,
        help="4-span GenAI traces sent first, in spans (default 100,000)",
    )
    parser.add_argument("--steps", type=int, default=111, help="steps of 9 spans in the big trace (111 -> 1,000)")
    parser.add_argument("--runs", type=int, default=5, help="page loads measured")
    parser.add_argument("--switches", type=int, default=10, help="span switches per load")
    parser.add_argument("--data-dir", type=Path, default=None, help="collector data directory (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        return run(args.background_spans, args.steps, args.runs, args.switches, args.data_dir)
    with tempfile.TemporaryDirectory(prefix="annotrace-web-trace-") as tmp:
        return run(args.background_spans, args.steps, args.runs, args.switches, Path(tmp))


if __name__ == "__main__":
    raise SystemExit(main())
