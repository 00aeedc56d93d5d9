"""The OTel pipeline behind the SDK: one TracerProvider (and, on demand, one LoggerProvider).

Built lazily on the first span, never at import, because ``import annotrace`` must stay cheap and
free of threads. Choices, and why:

- **Provider.** If the application already installed an OTel SDK ``TracerProvider`` as the global
  one, annotrace adds its processor to it instead of creating another: then the app's other
  spans (HTTP server, database...) reach the collector too and a trace is never cut at the
  boundary between two providers. Otherwise annotrace keeps a private provider and does not set
  it as the global one, so a provider the app installs later is not fought over.
  ``Resource.create()`` honours ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``.
- **Export.** A stock ``BatchSpanProcessor`` around the SDK's OTLP exporter
  (``exporters.py``). When the tracking URI or experiment changes, a new one replaces it and the
  old one is shut down, which flushes its spans to the old destination.
- **A trace is exported when its root span ends**, as MLflow does, not on the batch processor's
  5 s timer: a user's script reads its traces on the next line. The root's end only wakes the
  ``annotrace-export`` thread, which flushes (``_ExportOnRootEnd``), so the traced call never
  waits for the network. Reads and writes of the REST client flush first (``flush()``), which
  waits for an export in progress: what a process has ended is acknowledged before it asks.
- **Exit.** An ``atexit`` hook shuts the export down, which exports what is queued, waiting at most
  ``EXIT_TIMEOUT_S``: a short script loses nothing, and a down collector costs a logged warning
  and a bounded wait, never an exception.
- **Logs.** Only the legacy OpenAI instrumentation (and the ``event_*`` content modes) emit GenAI
  content as OTel log events; ``get_logger_provider`` builds the same kind of pipeline to
  ``/v1/logs`` for them, and only when asked.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

from opentelemetry import trace as otel_trace
from opentelemetry._logs import get_logger_provider as get_global_logger_provider
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from annotrace import tracking
from annotrace.tracing import exporters
from annotrace.tracing.processor import AnnotraceSpanProcessor

__all__ = [
    "EXIT_TIMEOUT_S",
    "TRACER_NAME",
    "flush",
    "get_logger_provider",
    "get_tracer",
    "get_tracer_provider",
    "shutdown",
]

_logger = logging.getLogger(__name__)

TRACER_NAME = "annotrace"
EXIT_TIMEOUT_S = 10.0

_lock = threading.RLock()
_tracer_provider: TracerProvider | None = None
_tracer: otel_trace.Tracer | None = None
_span_processor: AnnotraceSpanProcessor | None = None
_logger_provider: LoggerProvider | None = None
_log_processor: _SwitchingLogProcessor | None = None
_closed = False


def _sdk_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("annotrace")
    except PackageNotFoundError:
        return "0.0.0"


def _resource_attributes() -> Any:
    return _tracer_provider.resource.attributes if _tracer_provider is not None else None


def _new_batch_processor(resource_attributes: Any = None) -> BatchSpanProcessor:
    destination = exporters.resolve_destination(resource_attributes or _resource_attributes())
    return BatchSpanProcessor(exporters.build_span_exporter(destination))


def get_tracer_provider() -> TracerProvider:
    """The provider annotrace's spans (and autologged OpenAI spans) are made with."""
    global _tracer_provider, _span_processor
    if _tracer_provider is not None:
        return _tracer_provider
    with _lock:
        if _tracer_provider is None:
            current = otel_trace.get_tracer_provider()
            provider = (
                current
                if isinstance(current, TracerProvider)
                else TracerProvider(resource=Resource.create(), shutdown_on_exit=False)
            )
            processor = AnnotraceSpanProcessor(
                _new_batch_processor(provider.resource.attributes), on_root_end=_export_on_root_end.wake
            )
            provider.add_span_processor(processor)
            _span_processor = processor
            _tracer_provider = provider
            tracking.subscribe(_on_settings_changed)
            atexit.register(_at_exit)
    return _tracer_provider


def get_tracer() -> otel_trace.Tracer:
    """The ``annotrace`` tracer (instrumentation scope name of every ``@trace`` span)."""
    global _tracer
    if _tracer is None:
        _tracer = get_tracer_provider().get_tracer(TRACER_NAME, _sdk_version())
    return _tracer


def _shutdown_bounded(processor: Any, timeout_s: float) -> None:
    """``processor.shutdown()`` (which exports what is queued) with an upper bound on the wait.

    The SDK's own shutdown waits for the exporter's retries; past ``timeout_s`` the exporter is shut
    down, which interrupts its back-off, and the remaining data is dropped with a warning.
    """

    def run() -> None:
        try:
            processor.shutdown()
        except Exception:  # shutting down must never raise into the app
            _logger.debug("annotrace: exporter shutdown failed", exc_info=True)

    worker = threading.Thread(target=run, name="annotrace-flush", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        _logger.warning(
            "annotrace: the collector did not accept the last telemetry within %.0f s; dropping it", timeout_s
        )
        exporter = _exporter_of(processor)
        try:
            if exporter is not None:
                exporter.shutdown()
        except Exception:
            _logger.debug("annotrace: exporter shutdown failed", exc_info=True)
        worker.join(1.0)


def _exporter_of(processor: Any) -> Any:
    """The exporter behind a Batch*Processor (public ``span_exporter`` for spans, else internals)."""
    exporter = getattr(processor, "span_exporter", None) or getattr(processor, "_exporter", None)
    if exporter is None:
        exporter = getattr(getattr(processor, "_batch_processor", None), "_exporter", None)
    return exporter


def _on_settings_changed() -> None:
    """Tracking URI or experiment changed: new exporters from now on, flush the old ones."""
    with _lock:
        if _closed:
            return
        try:
            new_spans = _new_batch_processor() if _span_processor else None
            new_logs = _new_log_batch_processor() if _log_processor else None
        except Exception:  # e.g. grpc chosen but not installed: keep exporting as before
            _logger.warning(
                "annotrace: could not build the exporter for the new settings; keeping the old one", exc_info=True
            )
            return
        old_spans = _span_processor.replace_delegate(new_spans) if _span_processor and new_spans else None
        old_logs = _log_processor.replace_delegate(new_logs) if _log_processor and new_logs else None
    if old_spans is not None:
        _shutdown_bounded(old_spans, EXIT_TIMEOUT_S)
    if old_logs is not None:
        _shutdown_bounded(old_logs, EXIT_TIMEOUT_S)


class _ExportOnRootEnd:
    """One daemon thread that flushes the pipeline when woken: a root span ended.

    Started on the first root end (never at import), and again in a forked child, where threads
    do not survive. Wakes that come while it flushes fold into one more flush.
    """

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def wake(self) -> None:
        if self._thread is None or self._pid != os.getpid():
            with self._lock:
                if self._thread is None or self._pid != os.getpid():
                    self._wake = threading.Event()
                    self._pid = os.getpid()
                    self._thread = threading.Thread(target=self._run, name="annotrace-export", daemon=True)
                    self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        wake = self._wake
        while True:
            wake.wait()
            wake.clear()
            if _closed:
                continue
            flush()


_export_on_root_end = _ExportOnRootEnd()


def flush(timeout_millis: int = 30000) -> bool:
    """Export everything ended so far; ``True`` when the exporters were reached (or nothing to do)."""
    ok = True
    try:
        if _span_processor is not None:
            ok = _span_processor.force_flush(timeout_millis) is not False
        if _log_processor is not None:
            ok = (_log_processor.force_flush(timeout_millis) is not False) and ok
    except Exception:
        _logger.warning("annotrace: flushing traces failed", exc_info=True)
        return False
    return ok


def shutdown(timeout_s: float = EXIT_TIMEOUT_S) -> None:
    """Flush and stop exporting; later spans are dropped. Runs at interpreter exit."""
    global _closed
    with _lock:
        if _closed:
            return
        _closed = True
        spans, logs = _span_processor, _log_processor
    if spans is not None:
        delegate = spans.replace_delegate(_DroppingProcessor())
        _shutdown_bounded(delegate, timeout_s)
    if logs is not None:
        delegate_logs = logs.replace_delegate(_DroppingProcessor())
        _shutdown_bounded(delegate_logs, timeout_s)


def _at_exit() -> None:
    try:
        shutdown()
    except Exception:  # nothing may raise at interpreter exit
        _logger.debug("annotrace: shutdown at exit failed", exc_info=True)


class _DroppingProcessor(SpanProcessor):
    """What spans and log records go to after ``shutdown()``: nowhere, silently."""

    def on_emit(self, log_record: Any) -> None:
        return None

    emit = on_emit  # OTel SDK < 1.35 name for log processors


class _SwitchingLogProcessor(LogRecordProcessor):
    """The log twin of ``AnnotraceSpanProcessor``: stays registered, its batch processor is swapped."""

    def __init__(self, delegate: Any) -> None:
        self._delegate = delegate
        self._lock = threading.Lock()

    def replace_delegate(self, delegate: Any) -> Any:
        with self._lock:
            previous, self._delegate = self._delegate, delegate
        return previous

    def on_emit(self, log_record: Any) -> None:
        self._delegate.on_emit(log_record)

    def emit(self, log_data: Any) -> None:  # OTel SDK < 1.35 name
        getattr(self._delegate, "emit", self._delegate.on_emit)(log_data)

    def shutdown(self) -> None:
        self._delegate.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self._delegate.force_flush(timeout_millis))


def _new_log_batch_processor() -> BatchLogRecordProcessor:
    return BatchLogRecordProcessor(exporters.build_log_exporter(exporters.resolve_destination(_resource_attributes())))


def get_logger_provider() -> LoggerProvider:
    """An OTel ``LoggerProvider`` exporting to ``{tracking_uri}/v1/logs`` with the routing header.

    Same rule as for traces: an SDK ``LoggerProvider`` the app installed globally is reused.
    """
    global _logger_provider, _log_processor
    if _logger_provider is not None:
        return _logger_provider
    tracer_provider = get_tracer_provider()  # registers the settings listener and the exit hook
    with _lock:
        if _logger_provider is None:
            current = get_global_logger_provider()
            provider = (
                current
                if isinstance(current, LoggerProvider)
                else LoggerProvider(resource=tracer_provider.resource, shutdown_on_exit=False)
            )
            processor = _SwitchingLogProcessor(_new_log_batch_processor())
            provider.add_log_record_processor(processor)
            _log_processor = processor
            _logger_provider = provider
    return _logger_provider


def _reset_for_tests() -> None:
    """Re-open after ``shutdown()`` (tests only): new exporters for the current settings."""
    global _closed
    with _lock:
        _closed = False
    _on_settings_changed()
