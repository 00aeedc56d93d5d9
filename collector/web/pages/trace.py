"""``/traces/{trace_id}``: one trace in the explorer (span tree with a timeline, the selected
span in full, and the assessments panel), plus ``/traces/{trace_id}/spans/{span_id}``, one span
without the tree.

Why two pages: a trace of 1,000 spans must be interactive within a second, so the trace page
renders the tree compactly and only the selected span's detail. ``?span=<id>`` links select a span
and work with JS off; ``static/trace.js`` instead fetches the span page and swaps its
``#span-pane`` in, so switching spans costs one small request rendered by the same templates
(one renderer, no second copy of the markup in JS). Both pages have ``.json`` twins (the span
page's twin is the span's data as JSON).

Pages are sent with ``Cache-Control: no-store``: an assessment written through the REST API must
show on the next fetch, never a cached copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.ids import span_hex, trace_hex
from annotrace.collector.ids import trace_id as public_trace_id
from annotrace.collector.store.queries import trace_explorer
from annotrace.collector.web.page import PageRoute, render
from annotrace.collector.web.pages.trace_assessments import AssessmentPanel, panel
from annotrace.collector.web.pages.trace_spans import SpanLine, SpanView, span_view, timeline

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access
    from annotrace.collector.store.queries.assessments import Assessment
    from annotrace.collector.store.queries.trace_explorer import TraceHeader

NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True)
class TracePage:
    trace: TraceHeader
    spans: list[SpanLine]
    total_ms: float
    selected: SpanView | None
    panel: AssessmentPanel
    notice: str | None  # e.g. a stale ?span= link


@dataclass(frozen=True, slots=True)
class SpanPage:
    trace: TraceHeader
    selected: SpanView
    panel: AssessmentPanel


@dataclass(frozen=True, slots=True)
class TraceMissing:
    trace_id: str
    message: str


def _trace_id(raw: str) -> str | None:
    try:
        return public_trace_id(trace_hex(raw))
    except InvalidParameter:
        return None


def _span_id(raw: str | None) -> str | None:
    try:
        return span_hex(raw) if raw else None
    except InvalidParameter:
        return None


def missing(request: Request, raw: str, message: str | None = None) -> Response:
    """The HTML (or JSON) 404 page, never the API's envelope: a person followed a link."""
    text = message or f"Trace with ID '{raw}' not found."
    return render(
        request, "trace_missing.html", TraceMissing(trace_id=raw, message=text), status_code=404, headers=NO_STORE
    )


def _panel(
    request: Request, header: TraceHeader, selected: SpanView | None, found: list[Assessment]
) -> AssessmentPanel:
    return panel(
        request,
        header.trace_id,
        found,
        span_id=selected.span_id if selected else None,
        span_name=selected.name if selected else None,
        root_span_id=header.root_span_id,
    )


async def trace_page(access: Access, request: Request) -> Response:
    raw = request.path_params["trace_id"]
    trace_id = _trace_id(raw)
    if trace_id is None:
        return missing(request, raw)
    asked = request.query_params.get("span") or None
    span_id = _span_id(asked)
    try:
        # a malformed ?span= can match no span: load() reports it as missing like an unknown one
        explored = await access.read(trace_explorer.load, trace_id, span_id or asked)
    except NotFound:
        return missing(request, raw)
    notice = None
    if explored.missing_span is not None:
        notice = f"This trace has no span '{asked}'; showing {'the root span' if explored.selected else 'the trace'}."
    lines = timeline(explored.tree)
    selected = span_view(explored.selected, explored.header.root_span_id) if explored.selected else None
    return render(
        request,
        "trace.html",
        TracePage(
            trace=explored.header,
            spans=lines.spans,
            total_ms=lines.total_ms,
            selected=selected,
            panel=_panel(request, explored.header, selected, explored.assessments),
            notice=notice,
        ),
        headers=NO_STORE,
    )


async def span_page(access: Access, request: Request) -> Response:
    raw = request.path_params["trace_id"]
    trace_id = _trace_id(raw)
    if trace_id is None:
        return missing(request, raw)
    raw_span = request.path_params["span_id"]
    span_id = _span_id(raw_span)
    if span_id is None:
        return missing(request, raw, f"Span '{raw_span}' not found in trace '{trace_id}'.")
    try:
        header, detail, found = await access.read(trace_explorer.load_span, trace_id, span_id)
    except NotFound as error:
        return missing(request, raw, error.message)
    selected = span_view(detail, header.root_span_id)
    return render(
        request,
        "trace_span.html",
        SpanPage(trace=header, selected=selected, panel=_panel(request, header, selected, found)),
        headers=NO_STORE,
    )


def routes(access: Access) -> list[BaseRoute]:
    return [
        PageRoute("/traces/{trace_id}", partial(trace_page, access), methods=["GET"], name="trace"),
        PageRoute("/traces/{trace_id}/spans/{span_id}", partial(span_page, access), methods=["GET"], name="span"),
    ]
