"""The stock MLflow client (mlflow-skinny) traces into annotrace with no change but the tracking URI.

It sends spans over OTLP (``/v1/traces``, because ``/version`` says >= 3.4) and, when the trace
ends, its tags, metadata and in-trace assessments with StartTraceV3. Run in a child process so
MLflow's tracer provider and background queue stay out of the test process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid

from tests.collector_process import Collector

SCRIPT = textwrap.dedent("""
    import json, sys
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
    mlflow.flush_trace_async_logging()
    mlflow.log_feedback(trace_id=trace_id, name="quality", value=5,
                        source=AssessmentSource(source_type="HUMAN", source_id="expert"))
    trace = mlflow.get_trace(trace_id)
    print(json.dumps({"trace_id": trace_id, "spans": sorted(s.name for s in trace.data.spans),
                      "team": trace.info.tags.get("team"),
                      "assessments": sorted(a.name for a in trace.info.assessments)}))
""")


def test_stock_mlflow_client_traces_and_logs_feedback(collector: Collector) -> None:
    experiment = f"stock-mlflow-{uuid.uuid4().hex[:8]}"
    done = subprocess.run([sys.executable, "-c", SCRIPT, collector.web, experiment], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Failed to send trace" not in done.stderr, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["spans"] == ["answer", "retrieve"]
    assert seen["team"] == "search"
    assert seen["assessments"] == ["inline_check", "quality"]
    rows = collector.sql(
        "SELECT s.span_type, s.name FROM spans s JOIN traces t USING (trace_id) "
        f"WHERE t.trace_id = '{seen['trace_id']}' ORDER BY s.name")
    assert rows == [{"span_type": "CHAIN", "name": "answer"}, {"span_type": "RETRIEVER", "name": "retrieve"}]
    docs = collector.sql(f"SELECT doc_uri FROM documents WHERE trace_id = '{seen['trace_id']}'")
    assert docs == [{"doc_uri": "https://x/1"}]
