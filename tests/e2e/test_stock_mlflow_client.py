"""The stock MLflow client (mlflow-skinny) traces into annotrace with no change but the tracking URI.

It sends spans over OTLP (``/v1/traces``, because ``/version`` says >= 3.4) and, when the trace
ends, its tags, metadata and in-trace assessments with StartTraceV3. Run in a child process so
MLflow's tracer provider and background queue stay out of the test process. The scripts read on the
line after the traced call, as MLflow users do: no flush, no sleep, no polling. They run the client
in synchronous mode (``MLFLOW_ENABLE_ASYNC_TRACE_LOGGING=false``): in its default async mode the
trace waits in the client's own queue, where no server can see it (against a stock ``mlflow
server`` too) until ``mlflow.flush_trace_async_logging()``, as MLflow's documentation says.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid

import pytest

from tests.collector_process import Collector

SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    import mlflow
    from mlflow.entities import AssessmentSource

    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment(sys.argv[2])

    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(q):
        return [{"page_content": "Paris is the capital of France.", "metadata": {"doc_uri": "https://x/1"}}]

    @mlflow.trace(span_type="CHAIN")
    def answer(q):
        mlflow.update_current_trace(tags={"team": "search"})
        mlflow.log_feedback(trace_id=mlflow.get_active_trace_id(), name="inline_check", value=True,
                            source=AssessmentSource(source_type="CODE", source_id="rule"))
        retrieve(q)
        return "Paris"

    answer("capital of France?")
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.log_feedback(trace_id=trace_id, name="quality", value=5,
                        source=AssessmentSource(source_type="HUMAN", source_id="expert"))
    trace = mlflow.get_trace(trace_id)
    print(json.dumps({"trace_id": trace_id, "spans": sorted(s.name for s in trace.data.spans),
                      "team": trace.info.tags.get("team"),
                      "assessments": sorted(a.name for a in trace.info.assessments)}))
""")


def test_stock_mlflow_client_traces_and_logs_feedback(collector: Collector) -> None:
    experiment = f"stock-mlflow-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, collector.web, experiment], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Failed to send trace" not in done.stderr, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["spans"] == ["answer", "retrieve"]
    assert seen["team"] == "search"
    assert seen["assessments"] == ["inline_check", "quality"]
    rows = collector.sql(
        "SELECT s.span_type, s.name FROM spans s JOIN traces t USING (trace_id) "
        f"WHERE t.trace_id = '{seen['trace_id']}' ORDER BY s.name"
    )
    assert rows == [{"span_type": "CHAIN", "name": "answer"}, {"span_type": "RETRIEVER", "name": "retrieve"}]
    docs = collector.sql(f"SELECT doc_uri FROM documents WHERE trace_id = '{seen['trace_id']}'")
    assert docs == [{"doc_uri": "https://x/1"}]


SYNC_SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    import mlflow

    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment(sys.argv[2])

    @mlflow.trace
    def tool(x):
        return x * 2

    @mlflow.trace
    def plan(x):
        return tool(x) + 1

    @mlflow.trace
    def agent(x):
        return plan(x)

    seen = []
    for i in range(int(sys.argv[3])):
        agent(i)
        trace = mlflow.get_trace(mlflow.get_last_active_trace_id())
        seen.append({"state": str(trace.info.state), "spans": sorted(s.name for s in trace.data.spans)})
    print(json.dumps(seen))
""")


@pytest.mark.parametrize("rounds", [20])
def test_stock_client_in_sync_mode_gets_the_whole_trace_right_after_the_call(collector: Collector, rounds: int) -> None:
    """Synchronous mode exports ``/v1/traces``, calls StartTraceV3, then the script reads: the
    trace must be complete every time (the collector acknowledges spans once spooled, stores them a
    moment later, and a read waits for what was acknowledged before it)."""
    experiment = f"stock-sync-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, "-c", SYNC_SCRIPT, collector.web, experiment, str(rounds)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == [{"state": "OK", "spans": ["agent", "plan", "tool"]}] * rounds
