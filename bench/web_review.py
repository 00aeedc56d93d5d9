"""`python -m bench.web_review`: moving through a Review App queue, timed in a real browser.

Target (issue 6): "moving to the next queue item takes at most 200 ms", measured in the browser.
The bench starts a collector (``bench.collector_proc``), makes a session the way a user does
with the SDK (50 traces, each with a retriever span of 3 documents and a chat span, copied into a
session with 3 label schemas: categorical, numeric, text), then drives Chromium through the queue
with the keyboard the way an expert does:

- ``submit``: answer the three questions (digit, number, text), then press Enter: the answers
  are posted, saved in one writer job, and the next item (the 303's target) is shown;
- ``next``: press ``n`` (the Next link, nothing saved; ``review.js`` fetched it in advance).

Each figure is the time from the key press (the keydown event's time stamp) to the next item
being interactive: ``review.js`` marks ``review:ready`` once the item is in the page and its
handlers are set up (after swapping ``<main>``, or at load after a full navigation, which the
bench also handles and counts). Network, server, parsing and script are all in it. The httpx
figures time the server alone: an item's GET and a Submit's POST (without following the 303).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = "/usr/bin/chromium"
TARGET_MS = 200.0
ITEMS = 50
MOVES = 30
# the key press as the page saw it (the event's own time stamp), kept across a full navigation
_PRESS = (
    "document.addEventListener('keydown', (e) => sessionStorage.setItem('pressed', "
    "String(performance.timeOrigin + e.timeStamp)), true)"
)
# review.js marks "review:ready" once an item is shown and its keyboard handlers are set up (first
# load and every swap); a page without the script would be measured at DOMContentLoaded instead
_TIMES = (
    "(() => { const o = performance.timeOrigin; const m = performance.getEntriesByName('review:ready'); "
    "const n = performance.getEntriesByType('navigation')[0]; "
    "return {pressed: Number(sessionStorage.getItem('pressed')), "
    "ready: o + (m.length ? m[m.length - 1].startTime : n.domContentLoadedEventEnd), "
    "navigated: Number(sessionStorage.getItem('pressed')) < o}; })()"
)
_SHOWN = "document.querySelector('[data-trace-id]')?.dataset.traceId"


def make_session(web_url: str, items: int = ITEMS) -> str:
    """A labeling session of ``items`` copied traces and 3 questions; returns its URL."""
    import annotrace
    from annotrace.entities import Document
    from annotrace.genai.label_schemas import InputCategorical, InputNumeric, InputText, create_label_schema
    from annotrace.genai.labeling import create_labeling_session

    annotrace.set_tracking_uri(web_url)
    annotrace.set_experiment(f"bench-review-{uuid.uuid4().hex[:8]}")

    @annotrace.trace(span_type="RETRIEVER")
    def retrieve(query: str) -> list[Document]:
        return [
            Document(
                id=f"doc-{i}",
                page_content=f"Passage {i} about {query}. " * 20,
                metadata={"doc_uri": f"https://example.com/docs/{i}"},
            )
            for i in range(3)
        ]

    @annotrace.trace(span_type="CHAT_MODEL")
    def chat(messages: list[dict[str, str]]) -> dict[str, Any]:
        return {"choices": [{"message": {"role": "assistant", "content": "A helpful answer. " * 30}}]}

    @annotrace.trace
    def app(messages: list[dict[str, str]]) -> dict[str, Any]:
        docs = retrieve(messages[-1]["content"])
        context = "\n".join(d.page_content for d in docs)
        return chat(
            [
                {"role": "system", "content": "Answer from the context."},
                {"role": "user", "content": f"{context}\n\n{messages[-1]['content']}"},
            ]
        )

    for n in range(items):
        app([{"role": "user", "content": f"Question number {n}: what happened?"}])
    annotrace.flush_trace_async_logging()
    deadline = time.monotonic() + 60
    while _stored(annotrace) < items:
        if time.monotonic() > deadline:
            raise RuntimeError("traces were not stored in time")
        time.sleep(0.2)
    create_label_schema(
        name="helpful",
        type="feedback",
        title="Is the answer helpful?",
        input=InputCategorical(options=["Yes", "Partly", "No"]),
        enable_comment=True,
        overwrite=True,
    )
    create_label_schema(
        name="score",
        type="feedback",
        title="Quality from 1 to 5",
        input=InputNumeric(min_value=1, max_value=5),
        overwrite=True,
    )
    create_label_schema(
        name="better", type="expectation", title="A better answer", input=InputText(max_length=500), overwrite=True
    )
    session = create_labeling_session(name="bench", label_schemas=["helpful", "score", "better"])
    session.add_traces(annotrace.search_traces())
    return session.url


def _stored(annotrace: Any) -> int:
    try:  # the experiment itself exists only once its first trace is stored
        return len(annotrace.search_traces(filter_string="trace.status = 'OK'"))
    except annotrace.MlflowException:
        return 0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _press(page: Any, key: str) -> dict[str, Any]:
    """Press ``key`` and wait until another item is shown; the page's timings of that move."""
    shown = page.evaluate(_SHOWN)
    page.keyboard.press(key)
    page.wait_for_function(f"{_SHOWN} !== {json.dumps(shown)} && performance.getEntriesByName('review:ready').length")
    result: dict[str, Any] = page.evaluate(_TIMES)
    return result


def measure(web_url: str, url: str, moves: int = MOVES) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"submit": [], "next": []}
    navigations = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        context = browser.new_context(base_url=web_url, viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "annotrace_user", "value": "bench", "url": web_url}])
        context.add_init_script(_PRESS)
        page = context.new_page()
        page.goto(url)
        for _ in range(3):  # the first pages warm the connection, the template cache and the JIT
            _press(page, "n")
        page.goto(url)
        for move in range(moves):
            kind = "submit" if move % 2 == 0 else "next"
            if kind == "submit":
                page.keyboard.press(str(1 + move % 3))
                page.locator("input[type=number]").fill(str(1 + move % 5))
                page.locator("textarea[name='a:better']").fill(f"Better answer {move}")
                page.locator("textarea[name='a:better']").press("Escape")
            t = _press(page, "Enter" if kind == "submit" else "n")
            times[kind].append(t["ready"] - t["pressed"])
            navigations += bool(t["navigated"])
        browser.close()
    with httpx.Client(cookies={"annotrace_user": "bench-http"}, timeout=30) as http:
        gets, posts = [], []
        for n in range(1, 21):
            t0 = time.perf_counter()
            page_html = http.get(f"{url}?item={n}").raise_for_status().text
            gets.append((time.perf_counter() - t0) * 1000)
            action = re.search(r'action="([^"]+)" id="review-form"', page_html)
            shown = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page_html)
            assert action is not None and shown is not None
            form = {"fingerprint": shown.group(1), "a:helpful": "Yes", "a:score": "3", "a:better": "Fine."}
            t0 = time.perf_counter()
            posted = http.post(web_url + action.group(1), data=form)
            posts.append((time.perf_counter() - t0) * 1000)
            assert posted.status_code == 303, posted.text[:300]
    every = times["submit"] + times["next"]
    return {
        "moves": len(every),
        "target_ms": TARGET_MS,
        **{f"{kind}_p50_ms": round(statistics.median(v), 1) for kind, v in times.items()},
        **{f"{kind}_p95_ms": round(_pct(v, 0.95), 1) for kind, v in times.items()},
        "all_p50_ms": round(statistics.median(every), 1),
        "all_p95_ms": round(_pct(every, 0.95), 1),
        "all_max_ms": round(max(every), 1),
        "server_get_p50_ms": round(statistics.median(gets), 1),
        "server_post_p50_ms": round(statistics.median(posts), 1),
        "full_page_loads": navigations,
    }


def main(argv: list[str] | None = None) -> int:
    from bench.collector_proc import Collector

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--moves", type=int, default=MOVES)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        collector = Collector(Path(tmp) / "collector")
        collector.start()
        try:
            url = make_session(collector.web_url, args.items)
            result = measure(collector.web_url, url, min(args.moves, args.items - 1))
        finally:
            collector.stop()
    if args.json:
        print(json.dumps(result))
    else:
        print(f"Review App, next queue item (target {TARGET_MS:.0f} ms, {result['moves']} moves):")
        for kind in ("submit", "next", "all"):
            print(f"  {kind:>6}: p50 {result[f'{kind}_p50_ms']:7.1f} ms   p95 {result[f'{kind}_p95_ms']:7.1f} ms")
        print(
            f"  slowest move {result['all_max_ms']:.1f} ms; server alone (httpx): GET of an item p50 "
            f"{result['server_get_p50_ms']:.1f} ms, Submit POST p50 {result['server_post_p50_ms']:.1f} ms"
        )
        print(f"  moves that loaded a whole new page (no JS swap): {result['full_page_loads']}")
    return 0 if result["all_p95_ms"] <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
