"""MLflow experiment routes (v2) that ``set_experiment`` and ``search_traces`` clients need:
get-by-name, create, get, search. Every experiment is active (annotrace never deletes them).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from annotrace.collector.api.mlflow.wire import (
    epoch_ms,
    invalid,
    json_body,
    ok,
    page_offset,
    page_token,
    query,
)
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import experiments as store

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 1000
MAX_RESULTS = 50000
VIEW_TYPES = ("ACTIVE_ONLY", "DELETED_ONLY", "ALL")


def experiment_json(e: store.Experiment) -> dict[str, Any]:
    created = epoch_ms(e.creation_time)
    return {
        "experiment_id": e.experiment_id, "name": e.name, "lifecycle_stage": "active",
        "last_update_time": created, "creation_time": created,
        "tags": [{"key": k, "value": v} for k, v in e.tags.items()],
    }


async def get_experiment(api: Access, request: Request) -> Response:
    experiment_id = query(request).get_str("experiment_id", required=True)
    return ok({"experiment": experiment_json(await api.read(store.get, experiment_id))})


async def get_experiment_by_name(api: Access, request: Request) -> Response:
    name = query(request).get_str("experiment_name", required=True)
    return ok({"experiment": experiment_json(await api.read(store.get_by_name, name))})


async def create_experiment(api: Access, request: Request) -> Response:
    """CreateExperiment: ``{"name", "tags": [{"key", "value"}]}`` -> ``{"experiment_id"}``."""
    body = await json_body(request)
    name = body.get_name("name", required=True, max_chars=store.MAX_NAME_CHARS)
    assert name is not None
    tags: dict[str, str] = {}
    for index, tag in enumerate(body.raw("tags") or []):
        if not isinstance(tag, dict) or not isinstance(tag.get("key"), str) or not isinstance(
                tag.get("value", ""), str):
            raise invalid(f"tags[{index}]", 'an object {"key": string, "value": string}', tag)
        tags[tag["key"]] = tag.get("value", "")
    experiment_id = await api.write(partial(store.create, name=name, tags=tags, now=now_ms()))
    return ok({"experiment_id": experiment_id})


async def search_experiments(api: Access, request: Request) -> Response:
    body = await json_body(request) if request.method == "POST" else query(request)
    max_results = body.get_int("max_results", minimum=1, maximum=MAX_RESULTS) or DEFAULT_MAX_RESULTS
    view_type = body.get_str("view_type") or "ACTIVE_ONLY"
    if view_type not in VIEW_TYPES:
        raise invalid("view_type", "one of " + ", ".join(VIEW_TYPES), view_type)
    filter_string = body.get_str("filter")
    order_by = body.get_str_list("order_by") or []
    scope = orjson.dumps([filter_string or "", order_by, view_type]).decode()
    offset = page_offset(body.get_str("page_token"), scope)
    found = [] if view_type == "DELETED_ONLY" else await api.read(
        store.search, filter_string, order_by, max_results + 1, offset)
    out: dict[str, Any] = {"experiments": [experiment_json(e) for e in found[:max_results]]}
    if len(found) > max_results:
        out["next_page_token"] = page_token(offset + max_results, scope)
    return ok(out)
