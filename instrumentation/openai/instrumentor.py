"""Turn on the official OpenTelemetry OpenAI instrumentation against annotrace's providers.

annotrace does not patch ``openai`` itself: the OTel community instrumentation already emits
GenAI semantic-convention spans (``chat {model}``, ``gen_ai.*`` attributes, token usage), and the
collector normalises those. ``autolog`` picks the newest one installed:

1. ``opentelemetry-instrumentation-genai-openai`` (``opentelemetry.instrumentation.genai.openai``),
   the successor, which always emits the latest experimental conventions;
2. ``opentelemetry-instrumentation-openai-v2`` (deprecated), which emits them when
   ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` and otherwise the v1.30 ones with
   message content as OTel log events.

Message content is captured unless the user configured it: ``autolog`` sets, only when unset,
``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` and
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` to ``SPAN_ONLY`` (latest conventions:
``gen_ai.input.messages``/``gen_ai.output.messages`` on the span, what the Review App shows) or
``true`` (legacy conventions, which only know true/false). A ``LoggerProvider`` exporting to
``/v1/logs`` is passed only when content travels as log events (legacy mode, or the user chose
``EVENT_ONLY``/``SPAN_AND_EVENT`` or ``OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT=true``).

Chat spans are made with annotrace's ``TracerProvider`` in the current OTel context, so a call
inside ``@annotrace.trace`` becomes a child of that span.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from typing import Any

from annotrace.tracing import provider

__all__ = ["CONTENT_ENV", "EMIT_EVENT_ENV", "SEMCONV_ENV", "autolog", "content_capture_value", "emits_log_events"]

_logger = logging.getLogger(__name__)

SEMCONV_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
EMIT_EVENT_ENV = "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"
_LATEST = "gen_ai_latest_experimental"
# (module, whether it always uses the latest conventions), newest first
_INSTRUMENTATIONS = (
    ("opentelemetry.instrumentation.genai.openai", True),
    ("opentelemetry.instrumentation.openai_v2", False),
)


def content_capture_value(latest_conventions: bool) -> str:
    """The value that turns message capture on, in the dialect the instrumentation reads."""
    return "SPAN_ONLY" if latest_conventions else "true"


def emits_log_events(latest_conventions: bool) -> bool:
    """Whether GenAI content/events go through the OTel logs API (so a LoggerProvider is needed)."""
    if not latest_conventions:
        return True
    mode = os.environ.get(CONTENT_ENV, "").strip().upper()
    return mode in ("EVENT_ONLY", "SPAN_AND_EVENT") or os.environ.get(EMIT_EVENT_ENV, "").strip().lower() == "true"


def _load_instrumentor() -> tuple[Any, bool]:
    problems: list[str] = []
    for module_name, always_latest in _INSTRUMENTATIONS:
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:  # not installed, or installed against an incompatible util-genai
            problems.append(f"{module_name}: {error}")
            continue
        return module.OpenAIInstrumentor(), always_latest
    raise ImportError(
        "annotrace.openai.autolog() needs an OpenTelemetry OpenAI instrumentation: "
        "pip install opentelemetry-instrumentation-genai-openai "
        f"(or opentelemetry-instrumentation-openai-v2). Tried: {'; '.join(problems)}"
    )


def _uses_latest_conventions(always_latest: bool) -> bool:
    if always_latest:
        return True
    try:
        from opentelemetry.instrumentation._semconv import _OpenTelemetrySemanticConventionStability
        from opentelemetry.util.genai.utils import is_experimental_mode

        _OpenTelemetrySemanticConventionStability._initialize()  # type: ignore[no-untyped-call]  # as instrument() does
        return bool(is_experimental_mode())
    except Exception:  # noqa: BLE001 - older packages: fall back to reading the variable
        return _LATEST in os.environ.get(SEMCONV_ENV, "")


def autolog(disable: bool = False, silent: bool = False) -> None:
    """Trace every ``openai`` chat-completions / embeddings / responses call from now on.

    ``disable=True`` removes the instrumentation again. ``silent=True`` lowers annotrace's own
    log messages about it to debug level.
    """
    log = _logger.debug if silent else _logger.info
    if not disable and importlib.util.find_spec("openai") is None:
        raise ImportError("annotrace.openai.autolog() needs the openai package: pip install openai")
    if disable:
        try:
            instrumentor, _ = _load_instrumentor()
        except ImportError:  # nothing installed, so nothing is on
            return
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        return
    instrumentor, always_latest = _load_instrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        log("annotrace: OpenAI instrumentation is already on")
        return
    if SEMCONV_ENV not in os.environ:
        os.environ[SEMCONV_ENV] = _LATEST
    latest = _uses_latest_conventions(always_latest)
    if CONTENT_ENV not in os.environ:
        os.environ[CONTENT_ENV] = content_capture_value(latest)
    kwargs: dict[str, Any] = {"tracer_provider": provider.get_tracer_provider()}
    if emits_log_events(latest):
        kwargs["logger_provider"] = provider.get_logger_provider()
    instrumentor.instrument(**kwargs)
    log("annotrace: OpenAI autologging on (%s)", type(instrumentor).__module__)
