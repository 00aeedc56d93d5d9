"""The steps every OTLP receiver takes, in one place: admit, decode, check, spool, answer.

gRPC and HTTP differ only in transport; both call ``Ingest.export`` so they refuse the same
things with the same words, and both acknowledge only after the spool has fsynced the record.
Metrics are accepted and dropped (apps that also export metrics must see no errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import orjson
from google.protobuf.message import Message

from annotrace.collector.pipeline.spool import Spool
from annotrace.collector.receivers import otlp_decode
from annotrace.collector.receivers.otlp_decode import Checked, Encoding, Signal

EXPERIMENT_ID_HEADER = "x-mlflow-experiment-id"
EXPERIMENT_HEADER = "x-annotrace-experiment"


@dataclass(slots=True)
class Ingest:
    spool: Spool
    receiver: str
    max_bytes: int

    def export(self, signal: Signal, data: bytes, encoding: Encoding, headers: Mapping[str, str]) -> Message:
        """Store one decoded-size-checked request body; returns the Export*ServiceResponse."""
        self.spool.admit(len(data))
        request = otlp_decode.parse(signal, data, encoding)
        if signal == "metrics":
            return otlp_decode.RESPONSE_TYPES[signal]()
        checked: Checked = (
            otlp_decode.check_traces(request) if signal == "traces" else otlp_decode.check_logs(request)  # type: ignore[arg-type]
        )
        if checked.accepted:
            payload = data if encoding == "protobuf" and not checked.rejected else request.SerializeToString()
            meta = {"receiver": self.receiver}
            experiment_id = headers.get(EXPERIMENT_ID_HEADER)
            experiment = headers.get(EXPERIMENT_HEADER)
            if experiment_id:
                meta["experiment_id"] = experiment_id.strip()
            if experiment:  # percent-encoded: HTTP header values are ASCII (OTEL_EXPORTER_OTLP_HEADERS too)
                meta["experiment"] = unquote(experiment.strip())
            self.spool.append(signal, orjson.dumps(meta), payload, checked.accepted)
        return otlp_decode.partial_success_response(signal, checked)
