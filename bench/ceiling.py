"""Scenario 1: in-process ceilings, with no network, spool or DuckDB in the way.

Why: the end-to-end figures only mean something next to what one core can do at all. Parsing the
exact payloads the clients send gives the protobuf ceiling (~570,000 spans/s measured here); the
collector's own "spans -> rows" path gives the ceiling of the hot loop, so a low durable rate can
be blamed on the right stage. The collector's internals are probed, not assumed: a stage whose
functions are missing (or whose signature changed) is reported as n/a with the reason, and the
benchmark goes on.
"""

from __future__ import annotations

import gc
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench.traffic import RequestFactory

ROWS_STAGE = "+ Arrow tables (spans, docs, msgs)"
Stage = Callable[[list[bytes]], int]
"""Processes a list of payloads, returns the number of spans (or rows) produced."""


@dataclass(slots=True)
class CeilingResult:
    parse_sps: float | None = None
    rows_sps: float | None = None  # the full spans -> rows path, when the collector exposes it
    rows_path: str = ""
    stages: dict[str, float | None] = field(default_factory=dict)  # cumulative, label -> spans/s
    notes: list[str] = field(default_factory=list)


def _rate(stage: Stage, payloads: list[bytes], seconds: float) -> float:
    """Spans/s of `stage` over repeated passes of `payloads` for about `seconds` (one warm-up pass)."""
    stage(payloads)
    n, t0 = 0, time.perf_counter()
    while True:
        n += stage(payloads)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return n / elapsed


def _parse(payloads: list[bytes]) -> int:
    n = 0
    for p in payloads:
        request = ExportTraceServiceRequest.FromString(p)
        n += sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    return n


_IMPORT_ERRORS: dict[str, str] = {}


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as exc:  # absent or broken: both mean "stage not available"
        _IMPORT_ERRORS[name] = f"{type(exc).__name__}: {exc}"
        return None


def _direct_rows() -> tuple[Stage, str] | None:
    """A `request_to_rows`-like function in store.rows, if the collector offers one."""
    rows = _import("annotrace.collector.store.rows")
    for name in ("request_to_rows", "requests_to_rows", "to_rows"):
        fn = getattr(rows, name, None) if rows else None
        if callable(fn):

            def stage(payloads: list[bytes], fn: Callable[..., Any] = fn) -> int:
                return sum(len(fn(ExportTraceServiceRequest.FromString(p))) for p in payloads)

            return stage, f"store.rows.{name}"
    return None


def _pipeline_stages() -> tuple[list[tuple[str, Stage]], list[str]]:
    """The collector's path as the runner and writer drive it: spool Record -> pipeline.decode.decode
    -> the genai processor -> store.rows (span, document and message tables). Each stage includes
    the ones before it, so the last one is the whole spans -> rows ceiling (minus the DuckDB insert)."""
    notes: list[str] = []
    decode_mod = _import("annotrace.collector.pipeline.decode")
    spool = _import("annotrace.collector.pipeline.spool")
    if decode_mod is None or spool is None or not hasattr(decode_mod, "decode"):
        return [], ["collector pipeline.decode not importable"]

    def decoded(payloads: list[bytes]) -> Any:
        records = [spool.Record(signal="traces", meta=b"", payload=p, items=0, segment=0, end=0) for p in payloads]
        return decode_mod.decode(records)

    stages: list[tuple[str, Stage]] = [("decode to column batch", lambda ps: len(decoded(ps).spans.span_id))]
    process = _genai_processor(notes)
    normalized: Callable[[list[bytes]], Any] = decoded
    if process is not None:

        def normalized(payloads: list[bytes]) -> Any:
            return process(decoded(payloads))

        stages.append(("+ genai normalize", lambda ps: len(normalized(ps).spans.span_id)))
    rows = _import("annotrace.collector.store.rows")
    if rows is None or not hasattr(rows, "span_table"):
        notes.append("store.rows.span_table not found")
        return stages, notes

    def tables(payloads: list[bytes]) -> int:
        spans = normalized(payloads).spans
        if hasattr(spans, "canonical_defaults"):
            spans.canonical_defaults()
        n = int(rows.span_table(spans, list(spans.experiment)).num_rows)
        for name, present in (("document_table", "documents"), ("message_table", "messages")):
            if hasattr(rows, name) and getattr(spans, present, None):
                getattr(rows, name)(spans)
        return n

    stages.append((ROWS_STAGE, tables))
    return stages, notes


def _genai_processor(notes: list[str]) -> Callable[[Any], Any] | None:
    """Builds the genai processor from its registry factory with its default config, as service.py would."""
    registry = _import("annotrace.collector.registry")
    factories = getattr(registry, "PROCESSORS", None) if registry else None
    factory = factories.get("genai") if isinstance(factories, dict) else None
    if factory is None:
        why = _IMPORT_ERRORS.get("annotrace.collector.registry", "no 'genai' in registry.PROCESSORS")
        notes.append(f"genai processor not measured ({why})")
        return None
    try:
        processor = factory.create(factory.config())
        processor.start()
        return processor.process  # type: ignore[no-any-return]
    except Exception as exc:
        notes.append(f"genai processor could not be built: {type(exc).__name__}: {exc}")
        return None


def run_ceiling(spans_per_request: int, seconds: float) -> CeilingResult:
    """Measures each available stage for about `seconds` on one core of this process, with the
    garbage collector set as in the collector's decode worker (``workers.tune_gc``)."""
    thresholds = gc.get_threshold()
    workers = _import("annotrace.collector.pipeline.workers")
    if workers is not None and hasattr(workers, "tune_gc"):
        workers.tune_gc()
    try:
        return _run_ceiling(spans_per_request, seconds)
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _run_ceiling(spans_per_request: int, seconds: float) -> CeilingResult:
    result = CeilingResult()
    factory = RequestFactory(spans_per_request, seed=7, templates=8)
    payloads = [factory.next() for _ in range(max(1, 16384 // spans_per_request))]
    result.parse_sps = _rate(_parse, payloads, seconds)
    direct = _direct_rows()
    stages, notes = _pipeline_stages()
    result.notes += notes
    if direct is not None:
        stages.append((direct[1], direct[0]))
    for label, stage in stages:
        try:
            result.stages[label] = _rate(stage, payloads, seconds)
        except Exception as exc:
            result.stages[label] = None
            result.notes.append(f"{label}: {type(exc).__name__}: {exc}")
    for label in (ROWS_STAGE, *(d[1] for d in [direct] if d is not None)):
        if result.stages.get(label) is not None:
            result.rows_path, result.rows_sps = label, result.stages[label]
    if result.rows_sps is None:
        result.notes.append("spans -> rows ceiling: n/a (the collector exposes no complete rows path yet)")
    return result
