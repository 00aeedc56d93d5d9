"""``/review/{session_id}/routing``: a session's or review queue's routing rules in the Review App.

Lists each rule (its filter or SQL, sample rate, cap, how many traces it has added, why it last
failed) with a button that removes it, and a form that adds one. Posting goes through the same
store functions as the REST routes (``routing_rules.check`` then ``create`` / ``delete``, writer
jobs with their audit rows) and comes back here (PRG); a rule that cannot run comes back with the
reason and stores nothing. As on the REST route, only admins may give SQL when authentication is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute

from annotrace.collector.auth.principal import principal_of
from annotrace.collector.errors import CollectorError, InvalidParameter
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import labeling, routing_rules
from annotrace.collector.web.identity import requires_user
from annotrace.collector.web.page import PageRoute, render, url_path

if TYPE_CHECKING:
    import duckdb
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access


@dataclass(frozen=True, slots=True)
class RoutingRulesPage:
    session_id: str
    name: str
    is_queue: bool
    rules: list[routing_rules.RoutingRule] = field(default_factory=list)
    may_use_sql: bool = True
    error: str | None = None


def _read(cursor: duckdb.DuckDBPyConnection, session_id: str, may_use_sql: bool, error: str | None) -> RoutingRulesPage:
    session = labeling.get(cursor, session_id)
    rules = routing_rules.list_rules(cursor, session_id)
    return RoutingRulesPage(session.session_id, session.name, session.is_queue, rules, may_use_sql, error)


def _may_use_sql(request: Request) -> bool:
    principal = principal_of(request)
    return principal is None or principal.is_admin


def _back(request: Request, session_id: str, error: str | None = None) -> RedirectResponse:
    url = url_path(request, "routing_rules", session_id=session_id)
    return RedirectResponse(url if error is None else f"{url}?error={quote(error)}", status_code=303)


@requires_user
async def rules_page(access: Access, request: Request, user: str) -> Response:
    """An unknown session is the app's error page (404), as every page's."""
    session_id = str(request.path_params["session_id"])
    page = await access.read(_read, session_id, _may_use_sql(request), request.query_params.get("error"))
    return render(request, "routing_rules.html", page, headers={"Cache-Control": "no-store"})


@requires_user
async def add_rule(access: Access, request: Request, user: str) -> Response:
    session_id = str(request.path_params["session_id"])
    form = await request.form()
    kind, text = str(form.get("kind") or "filter"), str(form.get("query") or "").strip()
    try:
        try:
            rate = float(str(form.get("sample_rate") or "1"))
            cap = int(str(form.get("max_traces"))) if str(form.get("max_traces") or "").strip() else None
        except ValueError:
            raise InvalidParameter("The sample rate must be a number and the cap a whole number.") from None
        if kind == "sql" and not _may_use_sql(request):
            raise InvalidParameter("Only admins may route by SQL (it runs on the whole store); use a filter.")
        new = routing_rules.NewRule(
            session_id=session_id,
            filter_string=text if kind == "filter" else None,
            sql_query=text if kind == "sql" else None,
            sample_rate=rate,
            max_traces=cap,
        )
        await access.read(routing_rules.check, new)
        await access.write(partial(routing_rules.create, rule=new, now=now_ms()))
    except CollectorError as exc:
        return _back(request, session_id, exc.message)
    return _back(request, session_id)


@requires_user
async def remove_rule(access: Access, request: Request, user: str) -> Response:
    session_id, rule_id = str(request.path_params["session_id"]), str(request.path_params["rule_id"])
    try:
        await access.write(partial(routing_rules.delete, session_id=session_id, rule_id=rule_id, now=now_ms()))
    except CollectorError as exc:
        return _back(request, session_id, exc.message)
    return _back(request, session_id)


def routes(access: Access) -> list[BaseRoute]:
    return [
        PageRoute("/review/{session_id}/routing", partial(rules_page, access), methods=["GET"], name="routing_rules"),
        PageRoute("/review/{session_id}/routing", partial(add_rule, access), methods=["POST"], name="add_routing_rule"),
        PageRoute(
            "/review/{session_id}/routing/{rule_id}/delete",
            partial(remove_rule, access),
            methods=["POST"],
            name="remove_routing_rule",
        ),
    ]
