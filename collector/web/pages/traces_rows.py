"""What the trace table page shows, as dataclasses (the page's JSON twin), built from store rows.

Kept apart from ``traces.py`` (the handlers) so the shape of the page's data reads in one place:
one ``Row`` per trace with one ``Cell`` per assessment column (the latest valid assessment of
that kind and name, on the trace or any of its spans), the column headers with their sort
links, and the pager.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from annotrace.collector.store.queries import trace_table
from annotrace.collector.web.pages.traces_params import FormState, column_key, page_count, query_string, sort_query

if TYPE_CHECKING:
    from annotrace.collector.store.queries.assessments import Assessment
    from annotrace.collector.store.queries.trace_table import Column, TableRow

MAX_CELL_CHARS = 60
PAGER_WINDOW = 2  # page links either side of the current page
# (key, label, numeric) of the fixed columns that sort; the previews do not.
SORTABLE = (
    ("trace_id", "Trace", False),
    ("name", "Name", False),
    ("state", "Status", False),
    ("request_time", "Request time (UTC)", True),
    ("duration", "Duration", True),
    ("tokens", "Tokens", True),
    ("spans", "Spans", True),
)


@dataclass(frozen=True, slots=True)
class Cell:
    """One assessment shown in a cell; ``value`` is None for a feedback whose evaluation failed."""

    assessment_id: str
    kind: str
    value: Any
    text: str
    rationale: str | None
    source: str
    span_id: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Row:
    trace_id: str
    name: str | None
    state: str
    request_time: datetime
    duration_ms: float
    request_preview: str | None
    response_preview: str | None
    span_count: int
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    assessments: dict[str, Cell]  # column key (feedback.quality) -> its latest valid assessment
    source_trace_id: str | None  # set on a labeling session's copy: the trace it was copied from


@dataclass(frozen=True, slots=True)
class Header:
    key: str
    label: str
    kind: str | None  # feedback / expectation for assessment columns, None for the fixed ones
    numeric: bool
    sort_query: str
    sorted: str | None  # "ascending" / "descending" (aria-sort) when the table is sorted by it


@dataclass(frozen=True, slots=True)
class PageLink:
    page: int
    query: str


@dataclass(frozen=True, slots=True)
class Pager:
    page: int
    page_count: int
    total: int
    first_row: int
    last_row: int
    first: str | None  # queries of the four links; None where there is nowhere to go
    previous: str | None
    next: str | None
    last: str | None
    window: list[PageLink]


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    return orjson.dumps(value).decode()


def cell(a: Assessment) -> Cell:
    error = None
    if a.error is not None:
        error = ": ".join(x for x in (a.error.error_code, a.error.error_message) if x) or "error"
    text = "error" if a.value is None and error else value_text(a.value)
    return Cell(
        a.assessment_id,
        a.kind,
        a.value,
        text,
        a.rationale,
        f"{a.source_type}: {a.source_id or ''}".strip(),
        a.span_id,
        error,
    )


def row(r: TableRow) -> Row:
    cells = {column_key(column): cell(a) for column, a in trace_table.latest(r.assessments).items()}
    return Row(
        r.trace_id,
        r.name,
        r.state,
        r.request_time,
        r.execution_duration_ms,
        r.request_preview,
        r.response_preview,
        r.span_count,
        r.input_tokens,
        r.output_tokens,
        r.total_tokens,
        cells,
        r.source_trace_id,
    )


def _sorted(form: FormState, key: str) -> str | None:
    if form.sort != key:
        return None
    return "descending" if form.dir == "desc" else "ascending"


def headers(form: FormState, columns: list[Column]) -> list[Header]:
    fixed = [
        Header(key, label, None, numeric, sort_query(form, key), _sorted(form, key)) for key, label, numeric in SORTABLE
    ]
    assessed = [
        Header(column_key(c), c.name, c.kind, False, sort_query(form, column_key(c)), _sorted(form, column_key(c)))
        for c in columns
    ]
    return fixed + assessed


def pager(form: FormState, total: int) -> Pager:
    pages = page_count(total, form.page_size)
    page = min(form.page, pages)

    def link(n: int) -> str:
        return query_string(form, page=n if n != 1 else None)

    first_row = 0 if total == 0 else (page - 1) * form.page_size + 1
    window = [PageLink(n, link(n)) for n in range(max(1, page - PAGER_WINDOW), min(pages, page + PAGER_WINDOW) + 1)]
    return Pager(
        page,
        pages,
        total,
        first_row,
        min(total, page * form.page_size),
        link(1) if page > 1 else None,
        link(page - 1) if page > 1 else None,
        link(page + 1) if page < pages else None,
        link(pages) if page < pages else None,
        window,
    )


def short(text: str | None, limit: int = MAX_CELL_CHARS) -> str:
    if text is None:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
