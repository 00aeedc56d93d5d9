"""The ``otlp`` exporter: forwards spans, log records and assessments to another OTLP collector.

Downstream trouble must never hold up local storage: the runner acks the spool only when every
exporter's future resolves, so ``consume`` resolves at once and only puts the serialised request
on a bounded in-memory queue. One sender thread empties it, retrying what OTLP calls retryable
(gRPC UNAVAILABLE and friends, HTTP 429/502/503/504, connection errors) with exponential backoff
up to ``retry_max_elapsed``; then it drops the request and counts it. A full queue drops too
(counted, logged). So delivery downstream is best effort, and what is in the queue is lost on
kill -9; the local store (the ``duckdb`` exporter) stays the record.

    consume() --put_nowait--> [queue: queue_size requests] --sender thread--> gRPC / OTLP/HTTP
    assessment poller --------^  (every assessments_poll_interval)

Assessments are not in the pipeline (they are written through the REST API), so a poller thread
reads the store's ``assessment_events`` view (``service.py`` hands the database over with
``attach_store``) and sends each new state as a ``gen_ai.evaluation.result`` log record. A
watermark on ``time`` (last_update_time) sends each create and update once per process run;
the watermark is not persisted, so after a restart everything is sent again: at least once.
The records are deterministic, so an annotrace downstream stores a re-sent state only once
(it hashes the record into the assessment id); an *update* arrives there as another assessment.
Deletes are not forwarded. Shutdown sends a last poll, then drains the queue for at most
``shutdown_timeout``.

Each request holds one experiment's spans, records or assessments, and goes with that experiment's
name in the ``x-annotrace-experiment`` header (percent-encoded, as the SDK sends it), so an
annotrace downstream files it under the same experiment; unless the exporter's own ``headers``
choose an experiment, which then wins.
"""

from __future__ import annotations

import enum
import gzip
import logging
import queue
import re
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, urlsplit

import duckdb
import grpc
import httpx

from annotrace.collector.config import Duration
from annotrace.collector.errors import CollectorError
from annotrace.collector.exporters.otlp_encode import Encoded, Part, assessment_parts, encode_batch
from annotrace.collector.store.queries.assessment_events import changed_since
from annotrace.collector.telemetry import Batch

if TYPE_CHECKING:
    from annotrace.collector.store.db import Database

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "localhost:4317"
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_QUEUE_SIZE = 1000
DEFAULT_RETRY_MAX_ELAPSED_S = 60.0
DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0
DEFAULT_POLL_INTERVAL_S = 1.0
INITIAL_BACKOFF_S = 0.2
MAX_BACKOFF_S = 5.0
ASSESSMENT_PAGE = 500
DROP_LOG_INTERVAL_S = 10.0
_GRPC_PATHS = {
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}
_HTTP_PATHS = {"traces": "/v1/traces", "logs": "/v1/logs"}
_RETRYABLE_GRPC = {
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DATA_LOSS,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}  # annotrace's back-pressure; spec: "with RetryInfo"
_RETRYABLE_HTTP = {429, 502, 503, 504}
_HOST_PORT = re.compile(r"(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):(\d{1,5})")
EXPERIMENT_HEADER = "x-annotrace-experiment"  # an annotrace downstream's routing headers (receivers.ingest)
EXPERIMENT_ID_HEADER = "x-mlflow-experiment-id"
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")  # header values: printable ASCII


@dataclass(frozen=True, kw_only=True, slots=True)
class OTLPExporterConfig:
    endpoint: str = DEFAULT_ENDPOINT
    """``host:port`` for OTLP/gRPC (no TLS), or an ``http://``/``https://`` base URL for OTLP/HTTP
    protobuf (``/v1/traces`` and ``/v1/logs`` are appended)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Sent with every request (gRPC metadata keys are lower-cased), e.g. ``authorization``."""
    timeout: Duration = DEFAULT_TIMEOUT_S
    """Per request, e.g. 10s."""
    compression: Literal["none", "gzip"] = "gzip"
    queue_size: int = DEFAULT_QUEUE_SIZE
    """Requests (one per batch and signal) waiting to be sent; more are dropped and counted."""
    retry_max_elapsed: Duration = DEFAULT_RETRY_MAX_ELAPSED_S
    """How long one request is retried on retryable errors before it is dropped."""
    shutdown_timeout: Duration = DEFAULT_SHUTDOWN_TIMEOUT_S
    """How long shutdown keeps sending what is queued; the rest is dropped."""
    forward_assessments: bool = True
    """Also send assessments (REST-created or ingested) as gen_ai.evaluation.result log records."""
    assessments_poll_interval: Duration = DEFAULT_POLL_INTERVAL_S

    def validate(self) -> None:
        if self.is_http:
            url = urlsplit(self.endpoint)
            if not url.hostname or url.query or url.fragment:
                raise ValueError(f"endpoint: expected host:port or an http(s):// URL, got '{self.endpoint}'")
        elif not (_HOST_PORT.fullmatch(self.endpoint) and int(self.endpoint.rpartition(":")[2]) <= 65535):
            raise ValueError(f"endpoint: expected host:port (gRPC) or an http(s):// URL, got '{self.endpoint}'")
        for name in ("timeout", "assessments_poll_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive")
        for name in ("retry_max_elapsed", "shutdown_timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must not be negative")
        if self.queue_size < 1:
            raise ValueError("queue_size: must be at least 1")

    @property
    def is_http(self) -> bool:
        return self.endpoint.startswith(("http://", "https://"))


class ExportResult(enum.Enum):
    SUCCESS = "success"
    RETRYABLE = "retryable"
    FAILED = "failed"


@dataclass(slots=True)
class OTLPExporterStats:
    sent_spans: int = 0
    sent_log_records: int = 0
    sent_assessments: int = 0
    dropped: int = 0
    """Requests dropped: queue full, not retryable, retried too long, or left at shutdown."""
    retries: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class _Request:
    signal: Literal["traces", "logs"]
    payload: bytes
    items: int
    assessments: bool = False
    experiment: str | None = None  # sent as x-annotrace-experiment (see otlp_encode)

    @classmethod
    def of(cls, signal: Literal["traces", "logs"], part: Part, *, assessments: bool = False) -> _Request:
        return cls(signal, part.payload, part.items, assessments, part.experiment)


class _Transport:
    """One request, one attempt: the result and the server's Retry-After, if it gave one."""

    def __init__(self, config: OTLPExporterConfig) -> None:
        self.config = config
        self._http: httpx.Client | None = None
        self._channel: grpc.Channel | None = None
        gzipped = config.compression == "gzip"
        if config.is_http:
            headers = {**config.headers, "Content-Type": "application/x-protobuf"}
            if gzipped:
                headers["Content-Encoding"] = "gzip"
            self._http = httpx.Client(timeout=config.timeout, headers=headers)
        else:
            self._channel = grpc.insecure_channel(
                config.endpoint, compression=grpc.Compression.Gzip if gzipped else grpc.Compression.NoCompression
            )
            self._calls: dict[str, grpc.UnaryUnaryMultiCallable[bytes, bytes]] = {
                signal: self._channel.unary_unary(path) for signal, path in _GRPC_PATHS.items()
            }
            self._metadata = tuple((k.lower(), v) for k, v in config.headers.items())
        # an experiment chosen in the exporter's own headers wins over the one each span came with
        self._routes_itself = not {k.lower() for k in config.headers} & {EXPERIMENT_HEADER, EXPERIMENT_ID_HEADER}

    def _experiment_headers(self, request: _Request) -> dict[str, str]:
        if request.experiment is None or not self._routes_itself:
            return {}
        return {EXPERIMENT_HEADER: quote(request.experiment, safe=_HEADER_SAFE)}

    def send(self, request: _Request) -> tuple[ExportResult, float | None, str | None]:
        if self._http is not None:
            return self._send_http(self._http, request)
        try:
            metadata = self._metadata + tuple(self._experiment_headers(request).items())
            self._calls[request.signal](request.payload, timeout=self.config.timeout, metadata=metadata)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
            result = ExportResult.RETRYABLE if code in _RETRYABLE_GRPC else ExportResult.FAILED
            return result, None, f"gRPC {code.name}: {exc.details() if isinstance(exc, grpc.Call) else exc}"
        return ExportResult.SUCCESS, None, None

    def _send_http(self, client: httpx.Client, request: _Request) -> tuple[ExportResult, float | None, str | None]:
        body = gzip.compress(request.payload, 5) if self.config.compression == "gzip" else request.payload
        url = self.config.endpoint.rstrip("/") + _HTTP_PATHS[request.signal]
        try:
            response = client.post(url, content=body, headers=self._experiment_headers(request))
        except httpx.HTTPError as exc:  # connection refused, timeouts: the server may come back
            return ExportResult.RETRYABLE, None, f"{type(exc).__name__}: {exc}"
        if response.status_code == 200:
            return ExportResult.SUCCESS, None, None
        error = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.status_code not in _RETRYABLE_HTTP:
            return ExportResult.FAILED, None, error
        retry_after = response.headers.get("retry-after", "")
        return ExportResult.RETRYABLE, float(retry_after) if retry_after.isdigit() else None, error

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        if self._channel is not None:
            self._channel.close()


class OTLPExporter:
    def __init__(self, config: OTLPExporterConfig) -> None:
        config.validate()
        self.config = config
        self.stats = OTLPExporterStats()
        self._queue: queue.Queue[_Request] = queue.Queue(config.queue_size)
        self._stopping = threading.Event()  # stops the poller
        self._draining = threading.Event()  # set after the last poll: the sender empties the queue and stops
        self._drain_deadline = float("inf")
        self._transport: _Transport | None = None
        self._sender: threading.Thread | None = None
        self._poller: threading.Thread | None = None
        self._db: Database | None = None
        self._watermark: datetime | None = None
        self._seen: set[str] = set()  # ids sent with time == watermark
        self._last_drop_log = 0.0

    def start(self) -> None:
        if self._sender is not None:
            return
        self._stopping.clear()
        self._draining.clear()
        self._drain_deadline = float("inf")
        self._transport = _Transport(self.config)
        self._sender = threading.Thread(target=self._send_loop, name="annotrace-otlp-sender", daemon=True)
        self._sender.start()
        self._start_poller()

    def attach_store(self, db: Database) -> None:
        """The store whose assessments to forward (``service.py`` calls this after start)."""
        self._db = db
        self._start_poller()

    def _start_poller(self) -> None:
        if (
            self.config.forward_assessments
            and self._db is not None
            and self._sender is not None
            and self._poller is None
        ):
            self._poller = threading.Thread(target=self._poll_loop, name="annotrace-otlp-assessments", daemon=True)
            self._poller.start()

    def shutdown(self) -> None:
        """One last assessment poll, then send what is queued for at most ``shutdown_timeout``. Safe twice."""
        if self._sender is None:
            return
        self._stopping.set()
        if self._poller is not None:
            self._poller.join()
            self._poller = None
            self._poll()
        self._drain_deadline = time.monotonic() + self.config.shutdown_timeout
        self._draining.set()
        self._sender.join(self.config.shutdown_timeout + self.config.timeout + 1)
        self._sender = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        log.info("otlp exporter %s: stopped (%s)", self.config.endpoint, self.stats)

    @staticmethod
    def encode(batch: Batch) -> Encoded:
        """Pure: the batch as serialised OTLP requests (runs in the decode workers)."""
        return encode_batch(batch)

    def consume(self, encoded: Encoded, *, more_coming: bool = False) -> Future[None]:
        """Queues the requests and resolves at once: downstream never holds up the local ack."""
        for part in encoded.traces:
            self._offer(_Request.of("traces", part))
        for part in encoded.logs:
            self._offer(_Request.of("logs", part))
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def pending_bytes(self) -> int:
        """Nothing the pipeline must wait for: the sending queue has its own bound (``queue_size``)."""
        return 0

    def force_flush(self) -> None:
        """Nothing to wait for: sending is asynchronous by design (see the module docstring)."""

    def _offer(self, request: _Request) -> bool:
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            self._dropped(request, "the sending queue is full")
            return False
        return True

    def _dropped(self, request: _Request, why: str) -> None:
        self.stats.dropped += 1
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_INTERVAL_S:  # one line per interval, not per batch
            self._last_drop_log = now
            log.warning(
                "otlp exporter %s: dropped %d %s (%s); %d dropped so far",
                self.config.endpoint,
                request.items,
                "spans" if request.signal == "traces" else "log records",
                why,
                self.stats.dropped,
            )

    def _send_loop(self) -> None:
        while True:
            try:
                request = self._queue.get(timeout=0.05)
            except queue.Empty:
                if self._draining.is_set():
                    return
                continue
            if time.monotonic() >= self._drain_deadline:
                self._dropped(request, "left at shutdown")
                continue
            self._deliver(request)

    def _deliver(self, request: _Request) -> None:
        assert self._transport is not None
        give_up = time.monotonic() + self.config.retry_max_elapsed
        backoff = INITIAL_BACKOFF_S
        while True:
            result, retry_after, error = self._transport.send(request)
            if result is ExportResult.SUCCESS:
                if request.assessments:
                    self.stats.sent_assessments += request.items
                elif request.signal == "traces":
                    self.stats.sent_spans += request.items
                else:
                    self.stats.sent_log_records += request.items
                return
            self.stats.last_error = error
            wait = min(retry_after if retry_after is not None else backoff, MAX_BACKOFF_S * 2)
            if result is ExportResult.FAILED or time.monotonic() + wait > min(give_up, self._drain_deadline):
                self._dropped(request, error or "failed")
                return
            self.stats.retries += 1
            if self._draining.is_set():
                time.sleep(wait)  # within the drain deadline, checked above
            else:
                self._draining.wait(wait)  # shutdown wakes it to re-check against the drain deadline
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _poll_loop(self) -> None:
        while not self._stopping.wait(self.config.assessments_poll_interval):
            self._poll()

    def _poll(self) -> None:
        """Queue every assessment state newer than the watermark; stop early if the queue is full,
        without moving the watermark, so those are retried next poll."""
        if self._db is None or not self.config.forward_assessments:
            return
        try:  # a cursor per poll: the writer may have opened the store again (closing old cursors)
            cursor = self._db.cursor()
        except CollectorError as exc:  # a lake's catalog is down: the next poll tries again
            log.warning("otlp exporter %s: reading assessments failed: %s", self.config.endpoint, exc.message)
            return
        try:
            while rows := changed_since(cursor, self._watermark, self._seen, ASSESSMENT_PAGE):
                # one request per experiment; a full queue stops the page and the watermark stays, so
                # the page is sent again (the parts already queued arrive twice: stored once)
                for part in assessment_parts(rows):
                    if not self._offer(_Request.of("logs", part, assessments=True)):
                        return
                last = rows[-1]["time"]
                same = {r["annotrace.assessment.id"] for r in rows if r["time"] == last}
                self._seen = self._seen | same if last == self._watermark else same
                self._watermark = last
        except duckdb.Error as exc:  # the store closing under us, or a bug: never kill the collector
            log.warning("otlp exporter %s: reading assessments failed: %s", self.config.endpoint, exc)
        finally:
            cursor.close()
