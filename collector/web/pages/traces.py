"""``/experiments/{id}/traces``: an experiment's traces as a table (filters, one column per
assessment name, sorting, paging), and ``POST /experiments/{id}/export``, which adds the
selected traces to a labeling session.

Every read of a page happens in one ``Access.read`` call (one cursor, one thread hop) through the
store functions the REST API uses (``trace_search.compile_filter``, ``assessments.for_traces``,
``labeling.list_sessions``, ``label_schemas.list_schemas``) plus ``trace_table`` for what only
the table needs. Pages are never cached (``no-store``): an assessment logged a moment ago shows
on the next load. ``Server-Timing: total`` says how long the server took, for the bench.

The export is a plain form POST (works with JS off) answered with a 303 back to the same view,
whose URL carries the result (``exported``, ``added``, ``already``) for the notice; the whole
export (a new session included) is one writer job, so an error leaves nothing half-written and
the page comes back with the message, the selection and the typed name intact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import QueryParams
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute

from annotrace.collector.errors import CollectorError, InvalidParameter, NotFound
from annotrace.collector.ids import trace_hex
from annotrace.collector.ids import trace_id as public_trace_id
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import experiments as experiment_queries
from annotrace.collector.store.queries import label_schemas as schema_queries
from annotrace.collector.store.queries import labeling, trace_table
from annotrace.collector.web.page import PageRoute, render, url_path
from annotrace.collector.web.pages import traces_rows
from annotrace.collector.web.pages.traces_params import FormState, Parsed, column_key, page_count, parse, query_string

if TYPE_CHECKING:
    import duckdb
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

NO_STORE = {"Cache-Control": "no-store"}
NOTICE_KEYS = ("exported", "added", "already")
MAX_SCHEMAS = 1000


@dataclass(frozen=True, slots=True)
class SessionChoice:
    session_id: str
    name: str
    label_schemas: list[str]


@dataclass(frozen=True, slots=True)
class Notice:
    """The result of the last export, shown once after the redirect."""

    session_id: str
    session_name: str
    added: int
    already: int
    review_url: str


@dataclass(frozen=True, slots=True)
class ExportForm:
    """The export controls as submitted (kept when the export failed)."""

    selected: list[str]
    session_id: str
    new_name: str
    schemas: list[str]
    error: str | None


@dataclass(frozen=True, slots=True)
class TracesPage:
    experiment_id: str
    experiment_name: str | None  # None: there is no such experiment (404)
    form: FormState
    errors: dict[str, str]  # filter form field -> message (400)
    headers: list[traces_rows.Header]
    rows: list[traces_rows.Row]
    pager: traces_rows.Pager | None  # None when the filters are bad
    assessment_options: list[str]  # feedback.<name> / expectation.<name> present in the experiment
    trace_names: list[str]
    sessions: list[SessionChoice]
    label_schemas: list[str]
    notice: Notice | None
    export: ExportForm
    view_query: str  # this view's URL query, where the export comes back to


@dataclass(frozen=True, slots=True)
class _Loaded:
    experiment_name: str
    columns: list[trace_table.Column]
    total: int | None
    rows: list[trace_table.TableRow]
    page: int
    sessions: list[labeling.Session]
    schemas: list[str]
    names: list[str]
    filter_error: str | None


def _load(cursor: duckdb.DuckDBPyConnection, experiment_id: str, parsed: Parsed) -> _Loaded:
    """Everything one page shows, on one cursor."""
    experiment = experiment_queries.get(cursor, experiment_id)
    columns = trace_table.columns(cursor, experiment_id)
    total, rows, page, error = None, [], parsed.form.page, None
    if parsed.query is not None:
        try:
            total = trace_table.count(cursor, parsed.query)
            page = min(page, page_count(total, parsed.query.limit))
            rows = trace_table.page(cursor, replace(parsed.query, offset=(page - 1) * parsed.query.limit))
        except InvalidParameter as exc:  # a value DuckDB rejects only when it runs (a bad RLIKE pattern)
            total, error = None, exc.message
    sessions = labeling.list_sessions(cursor, experiment_id)
    schemas = [s.name for s in schema_queries.list_schemas(cursor, experiment_id, MAX_SCHEMAS, 0)]
    names = trace_table.trace_names(cursor, experiment_id)
    return _Loaded(experiment.name, columns, total, rows, page, sessions, schemas, names, error)


def _notice(request: Request, params: QueryParams, sessions: list[labeling.Session]) -> Notice | None:
    session_id = params.get("exported")
    found = [s for s in sessions if s.session_id == session_id]
    if not found:
        return None
    try:
        added, already = int(params.get("added") or 0), int(params.get("already") or 0)
    except ValueError:
        return None
    review = url_path(request, "review_queue", session_id=found[0].session_id)
    return Notice(found[0].session_id, found[0].name, added, already, review)


async def _respond(
    access: Access,
    request: Request,
    experiment_id: str,
    parsed: Parsed,
    export: ExportForm,
    status_code: int = 200,
    notice_params: QueryParams | None = None,
) -> Response:
    started = time.perf_counter()
    try:
        # the export form offers the experiment's label schemas: its default question first, seeded
        # on first sight as the REST list does (MLflow 3.14)
        if await access.read(schema_queries.needs_default, experiment_id):
            await access.write(partial(schema_queries.seed_default, experiment_id=experiment_id, now=now_ms()))
        loaded = await access.read(_load, experiment_id, parsed)
    except NotFound as exc:
        missing = TracesPage(
            experiment_id,
            None,
            parsed.form,
            {"experiment": exc.message},
            [],
            [],
            None,
            [],
            [],
            [],
            [],
            None,
            export,
            "",
        )
        return render(request, "traces.html", missing, status_code=404, headers=NO_STORE)
    errors = dict(parsed.errors)
    if loaded.filter_error is not None:
        errors["filter"] = loaded.filter_error
    form = replace(parsed.form, page=loaded.page)
    page = TracesPage(
        experiment_id=experiment_id,
        experiment_name=loaded.experiment_name,
        form=form,
        errors=errors,
        headers=traces_rows.headers(form, loaded.columns),
        rows=[traces_rows.row(r) for r in loaded.rows],
        pager=traces_rows.pager(form, loaded.total) if loaded.total is not None else None,
        assessment_options=[column_key(c) for c in loaded.columns],
        trace_names=loaded.names,
        sessions=[SessionChoice(s.session_id, s.name, s.label_schemas) for s in loaded.sessions],
        label_schemas=loaded.schemas,
        notice=_notice(request, notice_params, loaded.sessions) if notice_params is not None else None,
        export=export,
        view_query=query_string(form),
    )
    if errors and status_code == 200:
        status_code = 400
    response = render(request, "traces.html", page, status_code=status_code, headers=NO_STORE)
    response.headers["Server-Timing"] = f"total;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


async def traces_page(access: Access, request: Request) -> Response:
    experiment_id = str(request.path_params["experiment_id"])
    parsed = parse(experiment_id, request.query_params)
    return await _respond(
        access, request, experiment_id, parsed, ExportForm([], "", "", [], None), notice_params=request.query_params
    )


def _back(raw: str) -> str:
    """The view to return to, as a clean query string (never a path: it is only ever put after ``?``)."""
    return urlencode([(k, v) for k, v in parse_qsl(raw.lstrip("?"), keep_blank_values=False) if k not in NOTICE_KEYS])


async def export_traces(access: Access, request: Request) -> Response:
    experiment_id = str(request.path_params["experiment_id"])
    submitted = await request.form()

    def field(key: str) -> str:
        return str(submitted.get(key) or "")

    raw_ids = [str(v) for v in submitted.getlist("trace_id")]
    if field("all_on_page"):
        raw_ids += [str(v) for v in submitted.getlist("page_trace_id")]
    back = _back(field("back"))
    session_id, new_name = field("session_id").strip(), field("new_name")
    schemas = [str(v) for v in submitted.getlist("schema")]
    try:
        ids = [public_trace_id(trace_hex(raw)) for raw in dict.fromkeys(raw_ids)]
        if session_id and new_name.strip():
            raise InvalidParameter("Choose an existing session or type a new session name, not both.")
        done = await access.write(
            partial(
                trace_table.export,
                experiment_id=experiment_id,
                trace_ids=ids,
                session_id=session_id or None,
                new_name=new_name,
                label_schemas=schemas,
                now=now_ms(),
            )
        )
    except CollectorError as exc:
        export = ExportForm(list(dict.fromkeys(raw_ids)), session_id, new_name, schemas, exc.message)
        return await _respond(
            access, request, experiment_id, parse(experiment_id, QueryParams(back)), export, status_code=exc.http_status
        )
    result = urlencode([("exported", done.session.session_id), ("added", done.added), ("already", done.already)])
    target = url_path(request, "traces", experiment_id=experiment_id) + "?" + (f"{back}&{result}" if back else result)
    return RedirectResponse(target, status_code=303)


def routes(access: Access) -> list[BaseRoute]:
    return [
        PageRoute("/experiments/{experiment_id}/traces", partial(traces_page, access), methods=["GET"], name="traces"),
        PageRoute(
            "/experiments/{experiment_id}/export",
            partial(export_traces, access),
            methods=["POST"],
            name="export_traces",
        ),
    ]
