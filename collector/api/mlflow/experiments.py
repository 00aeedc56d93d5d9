"""MLflow experiment routes (v2): get-by-name, create, get, search, delete, restore, update (rename),
set-experiment-tag and delete-experiment-tag. Deleting marks the experiment (and its runs)
deleted, as MLflow does; its traces stay. The rules live in ``store/queries/experiments.py``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

import orjson
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.wire import (
    epoch_ms,
    invalid,
    json_body,
    ok,
    page_offset,
    page_token,
    query,
)
from annotrace.collector.api.models import Text, parse
from annotrace.collector.auth.principal import principal_of
from annotrace.collector.auth.scope import visible_experiments
from annotrace.collector.errors import PermissionDenied
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import experiments as store

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 1000
MAX_RESULTS = 50000
VIEW_TYPES = tuple(store.VIEW_TYPES)
_ID = Text(non_empty=True)


class NewExperimentBody(TypedDict):
    """CreateExperiment; ``tags`` is read item by item in ``create_experiment`` (each item's fault
    named ``tags[i]``, as before models)."""

    name: Annotated[str, Text(max_chars=store.MAX_NAME_CHARS, non_empty=True, name=True)]


class ExperimentIdBody(TypedDict):
    experiment_id: Annotated[str, _ID]


class ExperimentChangeBody(ExperimentIdBody):
    new_name: NotRequired[Annotated[str, Text(max_chars=store.MAX_NAME_CHARS, name=True)] | None]


class TagKeyBody(ExperimentIdBody):
    key: Annotated[str, _ID]


class TagBody(TagKeyBody):
    value: NotRequired[Annotated[str, Text()] | None]


def experiment_json(e: store.Experiment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": f"mlflow-artifacts:/{e.experiment_id}",
        "lifecycle_stage": e.lifecycle_stage,
        "last_update_time": epoch_ms(e.last_update_time or e.creation_time),
        "creation_time": epoch_ms(e.creation_time),
    }
    if e.tags:
        out["tags"] = [{"key": k, "value": v} for k, v in e.tags.items()]
    return out


async def get_experiment(access: Access, request: Request) -> Response:
    experiment_id = query(request).get_str("experiment_id", required=True)
    return ok({"experiment": experiment_json(await access.read(store.get, experiment_id))})


async def get_experiment_by_name(access: Access, request: Request) -> Response:
    name = query(request).get_str("experiment_name", required=True)
    found = await access.read(store.get_by_name, name)
    principal = principal_of(request)
    if principal is not None and not principal.can("READ", found.experiment_id):
        raise PermissionDenied(f"User '{principal.name}' lacks READ permission on experiment {found.experiment_id}")
    return ok({"experiment": experiment_json(found)})


async def create_experiment(access: Access, request: Request) -> Response:
    """CreateExperiment: ``{"name", "tags": [{"key", "value"}]}`` -> ``{"experiment_id"}``."""
    body = await json_body(request)
    name = parse(NewExperimentBody, body.data)["name"]
    tags: dict[str, str] = {}
    for index, tag in enumerate(body.raw("tags") or []):
        if (
            not isinstance(tag, dict)
            or not isinstance(tag.get("key"), str)
            or not isinstance(tag.get("value", ""), str)
        ):
            raise invalid(f"tags[{index}]", 'an object {"key": string, "value": string}', tag)
        tags[tag["key"]] = tag.get("value", "")
    experiment_id = await access.write(partial(store.create, name=name, tags=tags, now=now_ms()))
    return ok({"experiment_id": experiment_id})


async def search_experiments(access: Access, request: Request) -> Response:
    body = await json_body(request) if request.method == "POST" else query(request)
    max_results = body.get_int("max_results", minimum=1, maximum=MAX_RESULTS) or DEFAULT_MAX_RESULTS
    view_type = body.get_str("view_type") or "ACTIVE_ONLY"
    if view_type not in VIEW_TYPES:
        raise invalid("view_type", "one of " + ", ".join(VIEW_TYPES), view_type)
    filter_string = body.get_str("filter")
    order_by = body.get_str_list("order_by") or []
    scope = orjson.dumps([filter_string or "", order_by, view_type]).decode()
    offset = page_offset(body.get_str("page_token"), scope)
    visible = await access.read(visible_experiments, principal_of(request))
    found = await access.read(store.search, filter_string, order_by, max_results + 1, offset, view_type, visible)
    out: dict[str, Any] = {"experiments": [experiment_json(e) for e in found[:max_results]]}
    if len(found) > max_results:
        out["next_page_token"] = page_token(offset + max_results, scope)
    return ok(out)


async def delete_experiment(access: Access, request: Request) -> Response:
    experiment_id = parse(ExperimentIdBody, (await json_body(request)).data)["experiment_id"]
    await access.write(partial(store.set_lifecycle, experiment_id=experiment_id, deleted=True, now=now_ms()))
    return ok({})


async def restore_experiment(access: Access, request: Request) -> Response:
    experiment_id = parse(ExperimentIdBody, (await json_body(request)).data)["experiment_id"]
    await access.write(partial(store.set_lifecycle, experiment_id=experiment_id, deleted=False, now=now_ms()))
    return ok({})


async def update_experiment(access: Access, request: Request) -> Response:
    """UpdateExperiment: ``{"experiment_id", "new_name"}`` renames (the only update MLflow has)."""
    body = parse(ExperimentChangeBody, (await json_body(request)).data)
    experiment_id, new_name = body["experiment_id"], body.get("new_name")
    if new_name is not None:
        if not new_name.strip():
            raise invalid("new_name", "a non-empty name", new_name)
        await access.write(partial(store.rename, experiment_id=experiment_id, new_name=new_name, now=now_ms()))
    return ok({})


async def set_experiment_tag(access: Access, request: Request) -> Response:
    body = parse(TagBody, (await json_body(request)).data)
    experiment_id, key, value = body["experiment_id"], body["key"], body.get("value")
    await access.write(partial(store.set_tag, experiment_id=experiment_id, key=key, value=value or "", now=now_ms()))
    return ok({})


async def delete_experiment_tag(access: Access, request: Request) -> Response:
    body = parse(TagKeyBody, (await json_body(request)).data)
    experiment_id, key = body["experiment_id"], body["key"]
    await access.write(partial(store.set_tag, experiment_id=experiment_id, key=key, value=None, now=now_ms()))
    return ok({})
