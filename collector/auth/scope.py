"""Per-experiment permissions for users restricted to some experiments (they have permission rows).

A route's rule says which roles may call it; for a restricted user the guard also finds which
experiments the request touches and checks the user's permission on each (READ for ``read`` and
``label`` rules, EDIT for ``edit``). The experiments come from what the request names: an
``experiment_id`` in the path, query or JSON body, ``experiment_ids``, MLflow's ``locations``, or
the experiment of a ``trace_id``, ``session_id`` or ``queue_id`` (looked up in the store). A request
that names none (a search over everything, a dataset) is refused to a restricted user: deny unless
proven allowed; except the experiment list and search (``rules.FILTERED``), which show them only
the experiments they may read (``visible_experiments``, also what their SQL sees). Users without permission rows skip all of this (no lookup, no body read).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import duckdb
import orjson

from annotrace.collector.auth.principal import Principal
from annotrace.collector.errors import PermissionDenied
from annotrace.collector.store.visible_rows import experiment_ids

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Scope

LEVEL_PERMISSION = {"read": "READ", "label": "READ", "edit": "EDIT"}
_LOOKUPS = {
    # traces has no index (schema 0080): the key filter spares comparing every stored trace id
    "trace_id": "SELECT experiment_id FROM traces "
    "WHERE trace_key = coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0) AND trace_id = $1",
    "session_id": "SELECT experiment_id FROM labeling_sessions WHERE session_id = ?",
    "queue_id": "SELECT experiment_id FROM labeling_sessions WHERE session_id = ?",
}
Read = Callable[..., Any]
"""``Access.read``: runs ``fn(cursor, *args)`` off the event loop."""


def visible_experiments(cursor: duckdb.DuckDBPyConnection, principal: Principal | None) -> frozenset[str] | None:
    """The experiments ``principal`` may see in a list, a search or SQL; None for all of them
    (no authentication, an admin, or a viewer or editor without permission rows). A labeler sees
    the experiments of the sessions and queues they may label, within their permissions."""
    if principal is None or principal.is_admin or (not principal.restricted and principal.role != "labeler"):
        return None
    candidates = experiment_ids(cursor, labeler=principal.name if principal.role == "labeler" else None)
    return frozenset(e for e in candidates if principal.can("READ", e))


def named_ids(path_params: dict[str, Any], query: Iterable[tuple[str, str]], body: Any) -> dict[str, set[str]]:
    """What the request names: ``experiment_id`` values and ids to look up (``trace_id``...)."""
    found: dict[str, set[str]] = {"experiment_id": set(), **{key: set() for key in _LOOKUPS}}

    def add(key: str, value: Any) -> None:
        if key == "experiment_ids" and isinstance(value, list):
            found["experiment_id"].update(str(v) for v in value)
        elif key in found and isinstance(value, (str, int)):
            found[key].add(str(value))

    for key, value in path_params.items():
        add(key, value)
    for key, value in query:
        add("experiment_id" if key == "experiment_ids" else key, value)
    if isinstance(body, dict):
        for key, value in body.items():
            add(key, value)
        for location in body.get("locations") or []:
            if isinstance(location, dict) and isinstance(location.get("mlflow_experiment"), dict):
                add("experiment_id", location["mlflow_experiment"].get("experiment_id"))
    return found


def _experiments(cursor: duckdb.DuckDBPyConnection, named: dict[str, set[str]]) -> set[str] | None:
    """The experiments of everything named; None when some named object does not exist (the
    handler then answers its own 404, with nothing to leak)."""
    experiments = set(named["experiment_id"])
    for key, sql in _LOOKUPS.items():
        for value in named[key]:
            variants = [value, "tr-" + value] if key == "trace_id" and not value.startswith("tr-") else [value]
            rows = [row for v in variants for row in cursor.execute(sql, [v]).fetchall()]
            if not rows:
                return None
            experiments.add(str(rows[0][0]))
    return experiments


async def check(
    principal: Principal, level: str, scope: Scope, receive: Receive, read: Read, *, filtered: bool = False
) -> tuple[PermissionDenied | None, Receive]:
    """Whether a restricted ``principal`` may make this request, and a ``receive`` that replays the
    body read to find out. A ``filtered`` route (``rules.FILTERED``) may name no experiment: its
    handler shows only what the user may read."""
    needed = LEVEL_PERMISSION.get(level)
    if needed is None or not principal.restricted or str(scope["path"]).startswith("/v1/"):
        # OTLP exports are routed to experiments by the pipeline, after the ack: role-checked only
        return None, receive
    body: Any = None
    replay = receive
    if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
        raw, replay = await _body(receive)
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
    named = named_ids(dict(scope.get("path_params") or {}), query, body)
    experiments = await read(_experiments, named)
    if experiments is None:
        return None, replay
    if not experiments and filtered:
        return None, replay
    if not experiments:
        return PermissionDenied(
            f"User '{principal.name}' may use only experiments "
            f"{', '.join(sorted(principal.grants))}: name one (experiment_id)"
        ), replay
    refused = sorted(e for e in experiments if not principal.can(needed, e))
    if refused:
        return PermissionDenied(
            f"User '{principal.name}' lacks {needed} permission on experiment {', '.join(refused)}"
        ), replay
    return None, replay


async def _body(receive: Receive) -> tuple[bytes, Receive]:
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
