"""A refused OTLP/HTTP export must not stay in memory after its answer.

Under sustained overload most exports are refused; each refusal that left its request body in a
reference cycle held it until a full GC pass (rare in the collector, which raises the GC threshold),
and the collector grew by hundreds of MB. This runs the real Starlette routes with a real spool.
"""

from __future__ import annotations

import gc
from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from annotrace.collector.errors import CollectorError
from annotrace.collector.pipeline.spool import Spool
from annotrace.collector.receivers.http import routes
from annotrace.collector.receivers.ingest import Ingest
from tests.otlp_builders import new_span_id, new_trace_id, request, span


def test_a_refused_export_leaves_no_cycle_holding_its_body(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1_000)  # any real export is over this backlog
    spool.open()
    app = Starlette(routes=routes(Ingest(spool, "otlp", 1 << 20)))
    body = request([span(new_trace_id(), new_span_id(), attributes={"text": "x" * 5_000})]).SerializeToString()
    with TestClient(app) as client:
        gc.collect()
        gc.disable()
        try:
            answer = client.post("/v1/traces", content=body, headers={"content-type": "application/x-protobuf"})
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            stuck = [o for o in gc.garbage if isinstance(o, CollectorError)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    spool.close()
    assert answer.status_code == 429 and answer.headers["retry-after"] == "1"
    assert stuck == []
