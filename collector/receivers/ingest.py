"""The steps every OTLP receiver takes, in one place: admit, decode, check, spool, answer.

gRPC and HTTP differ only in transport; both call ``Ingest.export`` so they refuse the same
things with the same words, and both acknowledge only after the spool has fsynced the record.
Metrics are accepted and dropped (apps that also export metrics must see no errors).

Who may export: the receivers refuse callers below the ingest role (``auth.rules.INGEST``). A user
with permission rows (restricted to some experiments) must also hold EDIT on every experiment the
export would be filed in, and the whole export is refused (403 / PERMISSION_DENIED) otherwise,
before anything is spooled: the experiment of each resource is decided here the way the pipeline
will decide it (``pipeline.decode.route``: the headers, then ``annotrace.experiment`` or
``service.name``), and a name that is no experiment yet, which the pipeline would create, is refused
to them too (they would have no permission on it). Users without permission rows (editors, admins)
write anywhere and create experiments by name, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

import orjson
from google.protobuf.message import Message

from annotrace.collector.auth.principal import Principal
from annotrace.collector.errors import InvalidOTLP, InvalidParameter, PermissionDenied
from annotrace.collector.ids import experiment_id as checked_experiment_id
from annotrace.collector.ids import name_problem
from annotrace.collector.pipeline.decode import attributes, route
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
    experiment_name: Callable[[str], str | None] | None = None
    """Set when the collector has a store (``service``): the name of the experiment with an id, or
    None. An ``x-mlflow-experiment-id`` must then name an experiment that exists, and the record is
    filed by that name (the same experiment: names are unique and never change), which an ``otlp``
    exporter can carry downstream. Without a store only the id's form is checked."""
    experiment_id: Callable[[str], str | None] | None = None
    """Set with ``experiment_name``: the id of the experiment with a name, or None."""
    _known: dict[str, str] = field(default_factory=dict)  # id -> name (annotrace never deletes experiments)

    def export(
        self,
        signal: Signal,
        data: bytes,
        encoding: Encoding,
        headers: Mapping[str, str],
        principal: Principal | None = None,
    ) -> Message:
        """Store one decoded-size-checked request body; returns the Export*ServiceResponse.
        ``principal``: who sends it (None without authentication)."""
        self.spool.admit(len(data))
        if signal == "metrics":  # accepted and dropped: never fail a client for them
            otlp_decode.parse(signal, data, encoding)
            return otlp_decode.RESPONSE_TYPES[signal]()
        meta = self.routing(headers)
        request = otlp_decode.parse(signal, data, encoding)
        if principal is not None and principal.restricted:
            self._check_grants(principal, meta, request)
        checked: Checked = (
            otlp_decode.check_traces(request) if signal == "traces" else otlp_decode.check_logs(request)  # type: ignore[arg-type]
        )
        if checked.accepted:
            payload = data if encoding == "protobuf" and not checked.rejected else request.SerializeToString()
            self.spool.append(signal, orjson.dumps(meta), payload, checked.accepted)
        return otlp_decode.partial_success_response(signal, checked)

    def _check_grants(self, principal: Principal, meta: dict[str, str], request: Message) -> None:
        """PERMISSION_DENIED unless ``principal`` holds EDIT on every experiment of the export."""
        resources = getattr(request, "resource_spans", None) or getattr(request, "resource_logs", None) or []
        refused: list[str] = []
        for key in sorted({route(meta, attributes(r.resource.attributes)) for r in resources}):
            kind, _, value = key.partition(":")
            found = value if kind == "id" else self.experiment_id(value) if self.experiment_id is not None else None
            if found is None:
                refused.append(f"'{value}' (no such experiment; exporting would create it)")
            elif not principal.can("EDIT", found):
                refused.append(found if kind == "id" else f"{found} ('{value}')")
        if refused:
            raise PermissionDenied(
                f"User '{principal.name}' lacks EDIT permission on experiment {', '.join(refused)}: "
                "nothing of this export was stored"
            )

    def routing(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The record's metadata: receiver and the experiment headers, checked before anything is spooled.

        An unknown experiment id is refused (400 INVALID_ARGUMENT), not created: MLflow's client
        creates an experiment (``set_experiment``) before it sends spans with its id, so an unknown
        id is a typo or another server's id, and creating an experiment for it filed traces where
        nobody looks (and once made ``'; DROP TABLE spans;--`` an experiment id)."""
        meta = {"receiver": self.receiver}
        experiment_id = (headers.get(EXPERIMENT_ID_HEADER) or "").strip()
        experiment = (headers.get(EXPERIMENT_HEADER) or "").strip()
        if experiment_id:
            try:
                checked_experiment_id(experiment_id, f"header '{EXPERIMENT_ID_HEADER}'")
            except InvalidParameter as exc:
                raise InvalidOTLP(exc.message) from None
            name = self._known.get(experiment_id)
            if name is None and self.experiment_name is not None:
                name = self.experiment_name(experiment_id)
                if name is None:
                    raise InvalidOTLP(
                        f"No experiment with id '{experiment_id}' (header '{EXPERIMENT_ID_HEADER}'): "
                        "create it first (set_experiment, or experiments/create)"
                    )
                self._known[experiment_id] = name
            if name is not None:
                meta["experiment"] = name
            else:
                meta["experiment_id"] = experiment_id
        elif experiment:  # percent-encoded: HTTP header values are ASCII (OTEL_EXPORTER_OTLP_HEADERS too)
            name = unquote(experiment, errors="replace")
            problem = name_problem(name)
            if problem is not None:
                raise InvalidOTLP(f"Invalid experiment name in header '{EXPERIMENT_HEADER}': it {problem}")
            meta["experiment"] = name
        return meta
