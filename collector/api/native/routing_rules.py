"""Native routing-rule routes: ``/api/v1/labeling/sessions/{session_id}/routing-rules`` (create, list)
and ``.../routing-rules/{rule_id}`` (delete), for labeling sessions and review queues alike.

MLflow has no routing rules, so these are ours, described in ``OPENAPI_PATHS``. A rule is checked
before it is stored (``routing_rules.check``: a bad filter or query is a 400 naming the problem);
the writer runs it after each commit of ingested spans (``store/routing.py``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.wire import json_body, ok, rfc3339
from annotrace.collector.api.models import Fraction, Integer, Text, Timestamp, parse, request_body
from annotrace.collector.api.native.labeling import session_path_id
from annotrace.collector.api.native.openapi_operation import path_parameter, responses
from annotrace.collector.auth.principal import principal_of
from annotrace.collector.errors import NotFound, PermissionDenied
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import routing_rules

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

MAX_FILTER_CHARS = 10_000
MAX_SQL_CHARS = 100_000


class RuleBody(TypedDict):
    """``POST .../routing-rules``: one of ``filter`` and ``sql`` (which ``routing_rules.check`` says
    when both or neither is given), the share of matches kept and the cap."""

    filter: NotRequired[Annotated[str, Text(max_chars=MAX_FILTER_CHARS)] | None]
    sql: NotRequired[Annotated[str, Text(max_chars=MAX_SQL_CHARS, non_empty=True)] | None]
    sample_rate: NotRequired[Annotated[float, Fraction()] | None]
    max_traces: NotRequired[Annotated[int, Integer(minimum=1, maximum=2**62)] | None]


class RuleJson(TypedDict):
    rule_id: Annotated[str, Field(description="rr- + 32 hex")]
    session_id: str
    filter: Annotated[str | None, Field(description="a search_traces filter string")]
    sql: Annotated[str | None, Field(description="a read-only SQL query returning trace_id")]
    sample_rate: float
    max_traces: int | None
    traces_added: Annotated[int, Field(description="traces the rule has added so far")]
    created_by: str | None
    create_time: Timestamp
    last_error: Annotated[str | None, Field(description="why the rule last failed to run")]
    last_error_time: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})]


class OneRule(TypedDict):
    routing_rule: RuleJson


class RuleList(TypedDict):
    routing_rules: list[RuleJson]


def rule_json(rule: routing_rules.RoutingRule) -> RuleJson:
    return {
        "rule_id": rule.rule_id,
        "session_id": rule.session_id,
        "filter": rule.filter_string,
        "sql": rule.sql_query,
        "sample_rate": rule.sample_rate,
        "max_traces": rule.max_traces,
        "traces_added": rule.traces_added,
        "created_by": rule.created_by,
        "create_time": rfc3339(rule.create_time),
        "last_error": rule.last_error,
        "last_error_time": None if rule.last_error_time is None else rfc3339(rule.last_error_time),
    }


def _rule_path_id(request: Request) -> str:
    value = str(request.path_params["rule_id"])
    hex32 = value.removeprefix("rr-")
    if not value.startswith("rr-") or len(hex32) != 32 or any(c not in "0123456789abcdef" for c in hex32):
        raise NotFound(f"Routing rule '{value}' not found.")
    return value


async def create_rule(access: Access, request: Request) -> Response:
    """``{"filter" | "sql", "sample_rate"?: 1.0, "max_traces"?: null}`` -> ``{"routing_rule": {...}}``."""
    session_id = session_path_id(request)
    body = parse(RuleBody, await json_body(request))
    rate = body.get("sample_rate")
    new = routing_rules.NewRule(
        session_id=session_id,
        filter_string=body.get("filter"),
        sql_query=body.get("sql"),
        sample_rate=1.0 if rate is None else rate,
        max_traces=body.get("max_traces"),
    )
    principal = principal_of(request)
    if new.sql_query is not None and principal is not None and not principal.is_admin:
        # the rule's query runs on the whole store after each commit, not on the rows the user may read
        raise PermissionDenied(
            "Only admins may create a routing rule with 'sql': it runs on the whole store. Use 'filter' instead."
        )
    await access.read(routing_rules.check, new)
    rule = await access.write(partial(routing_rules.create, rule=new, now=now_ms()))
    answer: OneRule = {"routing_rule": rule_json(rule)}
    return ok(answer)


async def list_rules(access: Access, request: Request) -> Response:
    rules = await access.read(routing_rules.list_rules, session_path_id(request))
    answer: RuleList = {"routing_rules": [rule_json(rule) for rule in rules]}
    return ok(answer)


async def delete_rule(access: Access, request: Request) -> Response:
    session_id, rule_id = session_path_id(request), _rule_path_id(request)
    await access.write(partial(routing_rules.delete, session_id=session_id, rule_id=rule_id, now=now_ms()))
    return ok({})


_SESSION = path_parameter("session_id")


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/labeling/sessions/{session_id}/routing-rules": {
        "post": {
            "summary": "Create a routing rule: new traces of the session's experiment that match `filter` (a "
            "search_traces filter string) or `sql` (a read-only query returning trace_id) are added to the "
            "labeling session or review queue as they arrive, sampled by `sample_rate` (the same trace is always "
            "kept or dropped) and up to `max_traces` in all; a trace already there is not added again. Only "
            "traces whose root span arrives after the rule is created are considered. With authentication on, only "
            "admins may give `sql` (it runs on the whole store); editors give `filter`",
            "parameters": [_SESSION],
            "requestBody": request_body(RuleBody),
            "responses": responses(OneRule, 400, 403, 404),
        },
        "get": {
            "summary": "The session's routing rules, oldest first, each with how many traces it has added",
            "parameters": [_SESSION],
            "responses": responses(RuleList, 404),
        },
    },
    "/api/v1/labeling/sessions/{session_id}/routing-rules/{rule_id}": {
        "delete": {
            "summary": "Remove a routing rule; the traces it added stay in the session",
            "parameters": [_SESSION, path_parameter("rule_id")],
            "responses": responses({"type": "object"}, 404),
        }
    },
}
