"""Regenerate the screenshots in docs/ (``make screenshots``): a real collector with demo data,
pages captured by headless Chromium (/usr/bin/chromium) as a user sees them.

The data is made the way users make it (OTLP exports, the SDK, a labeling session); the helpers
come from the browser tests so the pictures show what the tests check.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

import annotrace  # noqa: E402
from annotrace.genai.labeling import create_labeling_session  # noqa: E402
from tests.collector_process import start  # noqa: E402
from tests.web.review_sessions import _traces, define_questions, sdk  # noqa: E402
from tests.web.trace_data import genai_trace  # noqa: E402

EXPERIMENT = "support-bot"
OUT = ROOT / "docs"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        collector = start(Path(tmp) / "collector")
        try:
            traces = [genai_trace(collector, EXPERIMENT) for _ in range(3)]
            with sdk(collector):
                annotrace.set_experiment(EXPERIMENT)
                _traces(collector, EXPERIMENT, 6)
                for n, trace in enumerate(traces):
                    annotrace.log_feedback(
                        trace_id=trace.trace_id,
                        name="quality",
                        value=[5, 3, 4][n],
                        rationale="checked against the refund policy",
                    )
                define_questions()
                session = create_labeling_session(
                    name="Refund answers, week 47", label_schemas=["quality", "score", "better"]
                )
                session.add_traces(annotrace.search_traces(max_results=4))
            shoot(collector.web, traces[0].trace_id, traces[0].chat, session.mlflow_run_id)
        finally:
            collector.stop()


def shoot(web: str, trace_id: str, chat_span: str, session_id: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(base_url=web, viewport={"width": 1280, "height": 800})
        page.goto("/login?next=/")
        page.get_by_label("Name or e-mail").fill("expert@example.com")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/")
        page.screenshot(path=OUT / "experiments.png")
        page.get_by_role("link", name=EXPERIMENT, exact=True).first.click()
        page.wait_for_load_state()
        page.screenshot(path=OUT / "traces.png")
        page.goto(f"/traces/{trace_id}?span={chat_span}")
        page.screenshot(path=OUT / "trace.png", full_page=True)
        page.goto("/review")
        page.screenshot(path=OUT / "review_sessions.png")
        page.goto(f"/review/{session_id}")
        page.get_by_label("Good").first.check()
        page.screenshot(path=OUT / "review_item.png")
        page.keyboard.press("?")
        expect(page.get_by_role("dialog")).to_be_visible()
        page.screenshot(path=OUT / "review_shortcuts.png")
        browser.close()


if __name__ == "__main__":
    main()
