"""The trace table's URL: its query parameters parsed into a ``TableQuery``, and links back.

Everything the table shows is in the URL (a GET form, header links, pager links), so a view
works with JS off, can be shared, and reloads as it was. Parsing never raises: a bad value
becomes a message for the field it came from (the page shows it inline with a 400), and the
rest of the form keeps what the user typed.

    from, to        request time range, UTC (``YYYY-MM-DDTHH:MM[:SS]``), both inclusive
    status          OK | ERROR | IN_PROGRESS, repeatable
    name            trace name, exact
    q               free text in the request / response previews and the name, case-insensitive
    filter          MLflow's search_traces grammar (``feedback.quality >= 4 AND tags.env = 'prod'``)
    assessment, op, value   one assessment condition without the grammar (``feedback.quality``, ``>=``, ``4``)
    sort, dir       a column key or ``feedback.<name>`` / ``expectation.<name>``; ``asc`` | ``desc``
    page, page_size 1-based page; 25, 50, 100 or 200 rows
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries.trace_search import compile_filter
from annotrace.collector.store.queries.trace_table import KINDS, SORT_KEYS, STATES, Column, TableQuery, all_of

if TYPE_CHECKING:
    from starlette.datastructures import QueryParams

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
DEFAULT_SORT = "request_time"
ASCENDING_FIRST = frozenset({"name", "state", "trace_id"})  # the first click on these sorts A to Z
NUMERIC_OPS = ("<", "<=", ">", ">=")
OPS = ("=", "!=", *NUMERIC_OPS, "exists", "missing")
MAX_TEXT_CHARS = 1000
_NUMBER = re.compile(r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


@dataclass(frozen=True, slots=True)
class FormState:
    """What the filter form shows, exactly as given (the JSON twin's ``form``)."""

    time_from: str = ""
    time_to: str = ""
    status: list[str] = field(default_factory=list)
    name: str = ""
    q: str = ""
    filter: str = ""
    assessment: str = ""
    op: str = "="
    value: str = ""
    sort: str = DEFAULT_SORT
    dir: str = "desc"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class Parsed:
    form: FormState
    query: TableQuery | None  # None when a field is bad
    errors: dict[str, str]  # form field -> message


def column_key(column: Column) -> str:
    return f"{column.kind}.{column.name}"


def parse_column(key: str) -> Column | None:
    """``feedback.quality`` -> Column("feedback", "quality"); None for a plain column key."""
    kind, dot, name = key.partition(".")
    return Column(kind, name) if dot and kind in KINDS and name else None


def _time(raw: str) -> datetime:
    value = datetime.fromisoformat(raw.strip().replace(" ", "T", 1))
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _int(raw: str | None, default: int) -> int:
    return default if raw is None or not raw.strip() else int(raw)


def parse(experiment_id: str, params: QueryParams) -> Parsed:
    def get(key: str) -> str:
        return (params.get(key) or "")[:MAX_TEXT_CHARS]

    errors: dict[str, str] = {}
    sort = get("sort") or DEFAULT_SORT
    direction = (get("dir") or ("asc" if sort in ASCENDING_FIRST else "desc")).lower()
    form = FormState(
        time_from=get("from"),
        time_to=get("to"),
        status=[s for s in params.getlist("status") if s],
        name=get("name"),
        q=get("q"),
        filter=get("filter"),
        assessment=get("assessment"),
        op=get("op") or "=",
        value=get("value"),
        sort=sort,
        dir=direction,
    )
    times: dict[str, datetime | None] = {}
    for key, raw in (("from", form.time_from), ("to", form.time_to)):
        try:
            times[key] = _time(raw) if raw.strip() else None
        except ValueError:
            errors[key] = f"Not a date and time: {raw!r}; use YYYY-MM-DDTHH:MM (UTC)."
    bad_states = [s for s in form.status if s not in STATES]
    if bad_states:
        errors["status"] = f"Unknown status {bad_states[0]!r}; choose OK, ERROR or IN_PROGRESS."
    try:
        page, size = _int(params.get("page"), 1), _int(params.get("page_size"), DEFAULT_PAGE_SIZE)
    except ValueError:
        page, size = 1, DEFAULT_PAGE_SIZE
        errors["page"] = "Page and page size must be whole numbers."
    if size not in PAGE_SIZES:
        errors["page_size"] = "Rows per page: choose " + ", ".join(map(str, PAGE_SIZES)) + "."
        size = DEFAULT_PAGE_SIZE
    form = replace(form, page=max(page, 1), page_size=size)
    sort_column = parse_column(sort)
    if sort_column is None and sort not in SORT_KEYS:
        errors["sort"] = f"Cannot sort by {sort!r}."
    if direction not in ("asc", "desc"):
        errors["dir"] = "Sort direction must be asc or desc."
    compiled = []
    for key, text in (("assessment", _condition(form, errors)), ("filter", form.filter)):
        if text and key not in errors:
            try:
                compiled.append(compile_filter(text))
            except InvalidParameter as exc:
                errors[key] = exc.message
    if errors:
        return Parsed(form, None, errors)
    query = TableQuery(
        experiment_id=experiment_id,
        time_from=times["from"],
        time_to=times["to"],
        states=tuple(form.status),
        name=form.name.strip() or None,
        text=form.q.strip() or None,
        where=all_of(*compiled),
        sort=sort if sort_column is None else DEFAULT_SORT,
        sort_column=sort_column,
        descending=direction == "desc",
        limit=size,
        offset=(form.page - 1) * size,
    )
    return Parsed(form, query, errors)


def _condition(form: FormState, errors: dict[str, str]) -> str:
    """The assessment / op / value trio as a filter string for ``compile_filter`` (or "")."""
    if not form.assessment:
        return ""
    column = parse_column(form.assessment)
    if column is None or "`" in column.name:
        errors["assessment"] = f"Unknown assessment {form.assessment!r}."
        return ""
    ident = f"{column.kind}.`{column.name}`"
    value = form.value.strip()
    if form.op not in OPS:
        errors["op"] = f"Unknown operator {form.op!r}."
        return ""
    if form.op in ("exists", "missing"):
        return f"{ident} IS {'NOT ' if form.op == 'exists' else ''}NULL"
    if not value:
        errors["value"] = "Enter a value to compare with."
        return ""
    if _NUMBER.match(value):
        return f"{ident} {form.op} {value}"
    if form.op in NUMERIC_OPS:
        errors["value"] = f"{form.op} compares numbers: {value!r} is not a number."
        return ""
    return f"{ident} {form.op} '" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def page_count(total: int, page_size: int) -> int:
    return max(1, math.ceil(total / page_size))


def query_string(form: FormState, **changes: str | int | None) -> str:
    """The URL query of ``form`` with ``changes`` (a None value drops the key); defaults are left out."""
    values: dict[str, str | int | list[str] | None] = {
        "from": form.time_from,
        "to": form.time_to,
        "status": form.status,
        "name": form.name,
        "q": form.q,
        "filter": form.filter,
        "assessment": form.assessment,
        "op": form.op if form.assessment else None,
        "value": form.value,
        "sort": form.sort if form.sort != DEFAULT_SORT else None,
        "dir": form.dir if (form.sort, form.dir) != (DEFAULT_SORT, "desc") else None,
        "page": form.page if form.page != 1 else None,
        "page_size": form.page_size if form.page_size != DEFAULT_PAGE_SIZE else None,
    }
    values.update(changes)
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        if isinstance(value, list):
            pairs.extend((key, v) for v in value)
        elif value not in (None, ""):
            pairs.append((key, str(value)))
    return urlencode(pairs)


def sort_query(form: FormState, key: str) -> str:
    """The link of a column header: sort by ``key`` (flip the direction when already sorted by it)."""
    if form.sort == key:
        direction = "asc" if form.dir == "desc" else "desc"
    else:
        direction = "asc" if key in ASCENDING_FIRST else "desc"
    return query_string(form, sort=key, dir=direction, page=None)
