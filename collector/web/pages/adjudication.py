"""``/agreement/{session_id}/adjudicate``: the adjudicator's page. Every item and schema on which
the labelers disagree, their answers and rationales side by side, and a form that records the gold
label (one of the answers given, or any option of a categorical schema). Posting saves through
``review_adjudication.record_gold`` (the REST route's writer job) and comes back here (PRG); a
form that fails its schema shows the message and saves nothing. Who adjudicates is the signed-in
user (``web/identity.py``), as in the Review App.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute

from annotrace.collector.errors import CollectorError, NotFound
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import label_schemas, labeling, review_adjudication
from annotrace.collector.web.identity import requires_user
from annotrace.collector.web.page import PageRoute, render, url_path

if TYPE_CHECKING:
    import duckdb
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access


@dataclass(frozen=True, slots=True)
class Choice:
    value: str  # JSON text, what the form posts
    text: str
    given_by: list[str]


@dataclass(frozen=True, slots=True)
class DisputeView:
    trace_id: str
    schema: str
    answers: list[dict[str, Any]]
    choices: list[Choice]
    gold: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AdjudicationPage:
    session_id: str
    name: str
    adjudicator: str
    disputes: list[DisputeView] = field(default_factory=list)
    error: str | None = None


def _choices(d: review_adjudication.Dispute, schema: label_schemas.LabelSchema | None) -> list[Choice]:
    given: dict[str, list[str]] = {}
    for a in d.answers:
        given.setdefault(json.dumps(a.value, ensure_ascii=False), []).append(a.labeler)
    if schema is not None and schema.input_type == "categorical":
        for option in schema.input.get("options") or []:
            given.setdefault(json.dumps(option, ensure_ascii=False), [])
    return [Choice(value, str(json.loads(value)), who) for value, who in given.items()]


def _read(cursor: duckdb.DuckDBPyConnection, session_id: str, user: str, error: str | None) -> AdjudicationPage:
    session = labeling.get(cursor, session_id)
    schemas = {s.name: s for s in label_schemas.list_schemas(cursor, session.experiment_id, 10_000, 0)}
    views = [
        DisputeView(
            d.trace_id,
            d.schema,
            [{"labeler": a.labeler, "value": a.value, "rationale": a.rationale} for a in d.answers],
            _choices(d, schemas.get(d.schema)),
            None
            if d.gold is None
            else {"value": d.gold.value, "adjudicator": d.gold.adjudicator, "rationale": d.gold.rationale},
        )
        for d in review_adjudication.disagreements(cursor, session_id)
    ]
    return AdjudicationPage(session.session_id, session.name, user, views, error)


@requires_user
async def adjudication_page(access: Access, request: Request, user: str) -> Response:
    session_id = str(request.path_params["session_id"])
    try:
        page = await access.read(_read, session_id, user, request.query_params.get("error"))
    except NotFound as exc:
        return render(request, "agreement_missing.html", _Missing(session_id, exc.message), status_code=404)
    return render(request, "adjudication.html", page, headers={"Cache-Control": "no-store"})


@dataclass(frozen=True, slots=True)
class _Missing:
    session_id: str
    message: str


@requires_user
async def save_gold(access: Access, request: Request, user: str) -> Response:
    session_id = str(request.path_params["session_id"])
    form = await request.form()
    back = url_path(request, "adjudication", session_id=session_id)
    try:
        value = json.loads(str(form.get("value") or "null"))
        await access.write(
            partial(
                review_adjudication.record_gold,
                session_id=session_id,
                trace_id=str(form.get("trace_id") or ""),
                schema_name=str(form.get("schema") or ""),
                adjudicator=user,
                value=value,
                rationale=str(form.get("rationale") or "") or None,
                now=now_ms(),
            )
        )
    except json.JSONDecodeError:
        return RedirectResponse(f"{back}?error={quote('Choose a gold label.')}", status_code=303)
    except CollectorError as exc:
        return RedirectResponse(f"{back}?error={quote(exc.message)}", status_code=303)
    return RedirectResponse(back, status_code=303)


def routes(access: Access) -> list[BaseRoute]:
    return [
        PageRoute(
            "/agreement/{session_id}/adjudicate",
            partial(adjudication_page, access),
            methods=["GET"],
            name="adjudication",
        ),
        PageRoute("/agreement/{session_id}/adjudicate", partial(save_gold, access), methods=["POST"], name="save_gold"),
    ]
